"""Roles of the portal's users. The one permission check lives in accounts.permissions."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from layers.models import Region


class Membership(models.Model):
    """Binds a user to a role and, for an akimat land department, to one region."""

    class Role(models.TextChoices):
        AKIMAT = "akimat", _("Akimat land department")
        PLANNER = "planner", _("Ministry planner")
        ADMIN = "admin", _("Administrator")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, null=True, blank=True, related_name="memberships")
    # The language of what the portal sends the user unasked (the deadline digest); pages follow the URL.
    language = models.CharField(
        _("language of e-mails"), max_length=2, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    # The demo accounts (one per role, shared password) go with the demo data: manage.py demo_data --remove.
    is_demo = models.BooleanField(_("demo account"), default=False)

    class Meta:
        verbose_name = _("role membership")
        verbose_name_plural = _("role memberships")
        constraints = [
            models.CheckConstraint(condition=Q(role__in=["akimat", "planner", "admin"]), name="membership_role_valid"),
            models.CheckConstraint(condition=Q(language__in=["kk", "ru", "en"]), name="membership_language_valid"),
            # An akimat user is bound to exactly one region; other roles to none.
            models.CheckConstraint(
                condition=(Q(role="akimat") & Q(region__isnull=False)) | (~Q(role="akimat") & Q(region__isnull=True)),
                name="membership_akimat_has_region",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()}" + (f" ({self.region})" if self.region_id else "")
