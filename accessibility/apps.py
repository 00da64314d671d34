from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessibilityConfig(AppConfig):
    name = "accessibility"
    verbose_name = _("Accessibility analysis")

    def ready(self):
        # The analysis map (maps app) shows our layers when that app is installed.
        from django.apps import apps

        if apps.is_installed("maps"):
            from accessibility import map_layers

            map_layers.register()
