from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParcelsConfig(AppConfig):
    name = "parcels"
    verbose_name = _("Land parcels and infrastructure")

    def ready(self):
        # The app's layers, registered before the URLconf builds the API routes from the registry.
        from parcels.collections import collections_register

        collections_register()
