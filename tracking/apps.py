from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrackingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tracking"
    verbose_name = _("Construction tracking and reports")

    def ready(self):
        # The app's layers, registered before the URLconf builds the API routes from the registry.
        from tracking.collections import collections_register

        collections_register()
