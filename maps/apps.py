from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MapsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "maps"
    verbose_name = _("Maps")

    def ready(self):
        from maps import checks  # noqa: F401 - registers the system check
