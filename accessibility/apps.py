from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessibilityConfig(AppConfig):
    name = "accessibility"
    verbose_name = _("Accessibility analysis")

    def ready(self):
        from django.apps import apps

        # The results are collections of the REST API and OGC API – Features; registered here, before
        # the URLconf is imported (api.urls builds its routes from the registry).
        if apps.is_installed("api"):
            from accessibility import api_collections  # noqa: F401

        # The analysis map (maps app) shows our layers when that app is installed.
        if apps.is_installed("maps"):
            from accessibility import map_layers

            map_layers.register()
