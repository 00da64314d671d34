from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MapsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "maps"
    verbose_name = _("Maps")

    def ready(self):
        # Imported here, once the app registry is ready (they read models): the system check of the
        # map assets and the accessibility analysis's layers of the analysis map.
        from maps import checks  # noqa: F401 - registers the system check
        from maps.analysis_layers import analysis_layers_register

        analysis_layers_register()
