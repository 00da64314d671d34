from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessibilityConfig(AppConfig):
    name = "accessibility"
    verbose_name = _("Accessibility analysis")

    def ready(self):
        # The results are layers of the REST API, OGC API – Features and the analysis map; registered
        # here, before the URLconf (api.urls builds its routes from the registry).
        from accessibility.collections import collections_register

        collections_register()
