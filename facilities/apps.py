from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FacilitiesConfig(AppConfig):
    name = "facilities"
    verbose_name = _("Roadmap and facilities")

    def ready(self):
        # The app's layers, registered before the URLconf builds the API routes from the registry.
        from facilities.collections import collections_register

        collections_register()
