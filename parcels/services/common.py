"""What every parcel service shares: its errors and result, the permission check and the system actor."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.utils.translation import gettext as _

from accounts.permissions import Action, can
from parcels.checks import Problem


class ParcelValidationError(Exception):
    """Input that cannot be saved; `problems` name the field and the reason of each."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


class ParcelConflict(Exception):
    """Somebody else saved the object since it was read (stale version)."""

    def __init__(self, current_version: int | None):
        self.current_version = current_version
        super().__init__(
            _(
                "Somebody else changed this record after you opened it (it is now at version %(v)s). "
                "Reload it, re-apply your changes and save again."
            )
            % {"v": current_version}
        )


@dataclass
class SaveResult:
    obj: object
    warnings: list[Problem] = field(default_factory=list)


class SystemActor:
    """The actor of management commands run by an operator on the server: acts as an administrator."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    pk = None

    def __str__(self) -> str:
        return "system"


SYSTEM = SystemActor()


def region_edit_require(*, user, region_id: int | None) -> None:
    """Raise PermissionDenied unless `user` may change the akimat records of region `region_id`."""
    if not can(user, Action.EDIT, region_id=region_id):
        raise PermissionDenied(_("You may not change records of this region."))


def integrity_error_problem(*, exc: IntegrityError) -> Problem:
    """The database constraint a save broke, in words (a race the checks before the save could not see)."""
    text = str(exc)
    if "parcel_cadastral_unique_active" in text:
        return Problem(
            "cadastral_duplicate",
            _("This cadastral number is already used by another active parcel."),
            field="cadastral_number",
        )
    if "parcel_one_active_per_facility" in text:
        return Problem(
            "facility_has_parcel",
            _("The facility already has an active parcel; revoke or replace it first."),
            field="facility",
        )
    if "link_one_per_utility_per_parcel" in text:
        return Problem("link_duplicate", _("This parcel already has a link for this utility."), field="utility")
    return Problem(
        "integrity", _("The record breaks a rule of the database: %(e)s") % {"e": text.splitlines()[0]}, field="__all__"
    )
