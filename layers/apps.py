from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LayersConfig(AppConfig):
    name = "layers"
    verbose_name = _("Administrative boundaries")

    def ready(self):
        # The app's layers, registered before the URLconf builds the API routes from the registry.
        from layers.collections import collections_register

        collections_register()
