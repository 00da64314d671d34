"""Writes of local coordinate systems (МСК): only administrators register them, after pyproj checks the definition."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.permissions import role_is_administrator, user_role
from parcels.checks import Problem
from parcels.crs import definition_check
from parcels.models import LocalCoordinateSystem
from parcels.services.common import ParcelValidationError

LOCAL_CRS_FIELDS = (
    "name", "region", "definition", "test_x", "test_y", "test_lon", "test_lat", "tolerance_m", "is_active",
)  # fmt: skip


def local_crs_may_administer(user) -> bool:
    """Local systems are trusted definitions used for every import: the administrator role alone writes them."""
    return role_is_administrator(user_role(user) or "")


def local_crs_problems(*, data: dict) -> list[Problem]:
    """The checks of parcels.crs.definition_check as problems on the form's fields."""
    definition = (data.get("definition") or "").strip()
    values = [data.get(k) for k in ("test_x", "test_y", "test_lon", "test_lat", "tolerance_m")]
    if any(v is None for v in values):
        return [Problem("local_crs_test_point", _("Give the test point and the tolerance."), field="test_x")]
    test_x, test_y, test_lon, test_lat, tolerance_m = (float(v) for v in values)
    return [
        Problem("local_crs_definition", p.message, field=p.field)
        for p in definition_check(
            definition=definition,
            test_x=test_x,
            test_y=test_y,
            test_lon=test_lon,
            test_lat=test_lat,
            tolerance_m=tolerance_m,
        )
    ]


@transaction.atomic
def local_crs_save(*, user, data: dict, instance: LocalCoordinateSystem | None = None) -> LocalCoordinateSystem:
    """Create (`instance` None) or change a local system after checking its definition and test point.

    `data` holds LOCAL_CRS_FIELDS (region: a layers.Region or None). Raises PermissionDenied for
    anyone but an administrator, ParcelValidationError when the definition or the point is refused.
    The history is written by the model's pghistory triggers.
    """
    if not local_crs_may_administer(user):
        raise PermissionDenied(_("Only administrators register local coordinate systems."))
    problems = local_crs_problems(data=data)
    if problems:
        raise ParcelValidationError(problems)
    obj = instance or LocalCoordinateSystem()
    for key in LOCAL_CRS_FIELDS:
        if key in data:
            setattr(obj, key, data[key])
    obj.definition = obj.definition.strip()
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        if "unique" in str(exc).lower() and "name" in str(exc).lower():
            raise ParcelValidationError(
                [Problem("local_crs_name", _("A local system with this name exists already."), field="name")]
            ) from exc
        raise
    return obj
