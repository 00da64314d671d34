"""Writes of parcels: create, edit, revoke, replace and restore, each checked and saved in one transaction.

Each write checks the permission (accounts.permissions), runs the attribute checks here and
the geometry checks of parcels.checks, and saves. A stale `version` raises ParcelConflict
(optimistic locking: UPDATE … WHERE id = %s AND version = %s). Geometry EPSG:4326; areas in ha.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from facilities.models import Facility
from gis_portal.history import history_with_users
from parcels.checks import GeometryReport, Problem, parcel_geometry_check
from parcels.geometry import utm_srid_sql
from parcels.models import CADASTRAL_REGEX, PARCEL_FIELDS, Parcel, ParcelStatus
from parcels.services.common import (
    ParcelConflict,
    ParcelValidationError,
    SaveResult,
    integrity_error_problem,
    region_edit_require,
)

# Allowed status moves; revoking is always possible, going back is not (restore an earlier version instead).
PARCEL_TRANSITIONS = {
    ParcelStatus.CANDIDATE: {
        ParcelStatus.CANDIDATE,
        ParcelStatus.ALLOCATED,
        ParcelStatus.ACT_ISSUED,
        ParcelStatus.REVOKED,
    },
    ParcelStatus.ALLOCATED: {ParcelStatus.ALLOCATED, ParcelStatus.ACT_ISSUED, ParcelStatus.REVOKED},
    ParcelStatus.ACT_ISSUED: {ParcelStatus.ACT_ISSUED, ParcelStatus.REVOKED},
    ParcelStatus.REVOKED: {ParcelStatus.REVOKED},
}

_AREA_SRID = utm_srid_sql("geom")
# The stored area is computed by PostGIS from the stored boundary, whoever wrote it.
AREA_UPDATE_SQL = (
    f"UPDATE parcels_parcel SET area_srid = {_AREA_SRID}, "  # noqa: S608 - fixed SQL from our code
    f"computed_area_ha = round((ST_Area(ST_Transform(geom, {_AREA_SRID})) / 10000)::numeric, 4) WHERE id = %s"
)


def _require_facility(parcel: Parcel) -> None:
    if parcel.facility_id is None:
        raise ParcelValidationError(
            [
                Problem(
                    "facility",
                    _("The facility of this parcel was removed from the plan; it can only be revoked."),
                    field="facility",
                )
            ]
        )


def _field_problems(*, data: dict, facility: Facility | None, old_status: str | None) -> list[Problem]:
    """Attribute checks shared by create and update (the DB constraints repeat the hard ones)."""
    problems: list[Problem] = []
    number = (data.get("cadastral_number") or "").strip()
    if number and not re.fullmatch(CADASTRAL_REGEX, number):
        problems.append(
            Problem(
                "cadastral_format",
                _("Cadastral number %(n)s is not in the format NN-NNN-NNN-NNN(N), e.g. 21-320-101-1234.")
                % {"n": number},
                field="cadastral_number",
            )
        )
    status = data.get("status") or ParcelStatus.CANDIDATE
    if status not in ParcelStatus.values:
        problems.append(Problem("status", _("Unknown status %(s)s.") % {"s": status}, field="status"))
    elif old_status is not None and status not in PARCEL_TRANSITIONS[ParcelStatus(old_status)]:
        problems.append(
            Problem(
                "status_transition",
                _("The status cannot go from “%(old)s” back to “%(new)s”.")
                % {"old": ParcelStatus(old_status).label, "new": ParcelStatus(status).label},
                field="status",
            )
        )
    if status == ParcelStatus.ACT_ISSUED:
        for name, label in (
            ("act_number", _("act number")),
            ("act_date", _("act date")),
            ("cadastral_number", _("cadastral number")),
        ):
            if not data.get(name):
                problems.append(
                    Problem("act_missing", _("Status “act issued” needs the %(f)s.") % {"f": label}, field=name)
                )
    act_date = data.get("act_date")
    if act_date and act_date > timezone.localdate():
        problems.append(
            Problem("date_future", _("The act date %(d)s is in the future.") % {"d": act_date}, field="act_date")
        )
    declared = data.get("declared_area_ha")
    if declared is None or Decimal(declared) <= 0:
        problems.append(
            Problem("declared_area", _("Give the declared area in hectares (> 0)."), field="declared_area_ha")
        )
    term = data.get("term_years")
    if term is not None and not 1 <= int(term) <= 99:
        problems.append(Problem("term", _("The term must be between 1 and 99 years."), field="term_years"))
    if number and status != ParcelStatus.REVOKED:
        clash = Parcel.objects.filter(cadastral_number=number).exclude(status=ParcelStatus.REVOKED)
        if data.get("_pk"):
            clash = clash.exclude(pk=data["_pk"])
        if clash.exists():
            problems.append(
                Problem(
                    "cadastral_duplicate",
                    _("Cadastral number %(n)s is already used by another active parcel.") % {"n": number},
                    field="cadastral_number",
                )
            )
    return problems


def _apply_area(parcel_id: int) -> None:
    """Store the computed area (ha) and its UTM SRID, computed in PostGIS."""
    with connection.cursor() as cursor:
        cursor.execute(AREA_UPDATE_SQL, [parcel_id])


def parcel_validate(
    *, facility: Facility | None, geom, data: dict, parcel: Parcel | None = None
) -> tuple[list[Problem], GeometryReport]:
    """All checks of a parcel create (parcel=None) or edit, without saving: (problems, geometry report).

    `facility` None (an imported row whose facility is still to be chosen) leaves out the checks
    that need it (its region and district, its other parcel), so every other problem shows at once.
    """
    merged = data | {"_pk": parcel.pk if parcel else None}
    problems = _field_problems(data=merged, facility=facility, old_status=parcel.status if parcel else None)
    if facility is not None and parcel is None and data.get("status") != ParcelStatus.REVOKED:
        if Parcel.objects.filter(facility=facility).exclude(status=ParcelStatus.REVOKED).exists():
            problems.append(
                Problem(
                    "facility_has_parcel",
                    _("The facility already has an active parcel; revoke or replace it first."),
                    field="facility",
                )
            )
    report = parcel_geometry_check(
        geom=geom,
        facility=facility,
        declared_area_ha=data.get("declared_area_ha"),
        exclude_parcel_id=parcel.pk if parcel else None,
    )
    if not (parcel is not None and data.get("status") == ParcelStatus.REVOKED and geom.equals_exact(parcel.geom)):
        # Revoking an existing parcel is never blocked by its (unchanged) boundary.
        problems += report.problems
    return problems, report


@transaction.atomic
def parcel_create(*, user, facility: Facility, geom, data: dict, is_demo: bool = False) -> SaveResult:
    """Create a parcel for `facility`. Raises ParcelValidationError (nothing saved) or PermissionDenied."""
    region_edit_require(user=user, region_id=facility.region_id)
    problems, report = parcel_validate(facility=facility, geom=geom, data=data)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ParcelValidationError(errors)
    parcel = Parcel(
        facility=facility,
        region_id=report.region_id,
        district_id=report.district_id,
        geom=geom,
        computed_area_ha=report.computed_area_ha,
        area_srid=report.area_srid,
        is_demo=is_demo,
        **{k: _clean(k, data.get(k)) for k in PARCEL_FIELDS},
    )
    try:
        with transaction.atomic():
            parcel.save()
    except IntegrityError as exc:
        raise ParcelValidationError([integrity_error_problem(exc=exc)]) from exc
    _apply_area(parcel.pk)
    parcel.refresh_from_db()
    return SaveResult(parcel, report.warnings)


def _clean(name: str, value):
    if name in ("cadastral_number", "act_number", "issuing_akimat", "notes"):
        return (value or "").strip()
    if name == "status":
        return value or ParcelStatus.CANDIDATE
    return value


@transaction.atomic
def parcel_update(*, user, parcel_id: int, expected_version: int, data: dict, geom=None) -> SaveResult:
    """Update a parcel if it is still at `expected_version`; `data` holds the fields to change.

    Raises ParcelConflict when someone saved in between, ParcelValidationError on bad input.
    """
    parcel = Parcel.objects.select_related("facility__region", "facility__district").get(pk=parcel_id)
    region_edit_require(user=user, region_id=parcel.region_id)
    _require_facility(parcel)
    merged = {k: getattr(parcel, k) for k in PARCEL_FIELDS} | {k: v for k, v in data.items() if k in PARCEL_FIELDS}
    if parcel.version != expected_version:
        raise ParcelConflict(parcel.version)
    new_geom = geom if geom is not None else parcel.geom
    problems, report = parcel_validate(facility=parcel.facility, geom=new_geom, data=merged, parcel=parcel)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ParcelValidationError(errors)
    values = {k: _clean(k, merged[k]) for k in PARCEL_FIELDS}
    values.update(geom=new_geom, updated_at=timezone.now(), version=F("version") + 1)
    if report.region_id and report.region_id == parcel.facility.region_id:
        values.update(region_id=report.region_id, district_id=report.district_id)
    try:
        with transaction.atomic():
            # The optimistic lock: the row changes only if nobody saved since it was read.
            changed = Parcel.objects.filter(pk=parcel.pk, version=expected_version).update(**values)
    except IntegrityError as exc:
        raise ParcelValidationError([integrity_error_problem(exc=exc)]) from exc
    if changed == 0:
        raise ParcelConflict(Parcel.objects.filter(pk=parcel.pk).values_list("version", flat=True).first())
    _apply_area(parcel.pk)
    parcel.refresh_from_db()
    return SaveResult(parcel, report.warnings if merged["status"] != ParcelStatus.REVOKED else [])


@transaction.atomic
def parcel_revoke(*, user, parcel_id: int, expected_version: int, reason: str = "") -> Parcel:
    """Revoke a parcel; it stays in the facility's history."""
    parcel = Parcel.objects.get(pk=parcel_id)
    region_edit_require(user=user, region_id=parcel.region_id)
    notes = (
        (parcel.notes + "\n" if parcel.notes else "") + _("Revoked: %(r)s") % {"r": reason} if reason else parcel.notes
    )
    changed = Parcel.objects.filter(pk=parcel_id, version=expected_version).update(
        status=ParcelStatus.REVOKED, notes=notes, version=F("version") + 1, updated_at=timezone.now()
    )
    if not changed:
        raise ParcelConflict(Parcel.objects.filter(pk=parcel_id).values_list("version", flat=True).first())
    parcel.refresh_from_db()
    return parcel


@transaction.atomic
def parcel_replace(*, user, parcel_id: int, expected_version: int, geom, data: dict) -> SaveResult:
    """Revoke the parcel and create its replacement for the same facility; the old one points to the new one."""
    old = parcel_revoke(user=user, parcel_id=parcel_id, expected_version=expected_version, reason=_("replaced"))
    result = parcel_create(user=user, facility=old.facility, geom=geom, data=data, is_demo=old.is_demo)
    Parcel.objects.filter(pk=old.pk).update(replaced_by=result.obj, version=F("version") + 1)
    return result


def parcel_history(*, parcel: Parcel) -> list:
    """History events of the parcel (newest first), each with `.who` made the change."""
    return history_with_users(list(parcel.events.select_related("pgh_context").order_by("-pgh_id")))  # type: ignore[attr-defined]


@transaction.atomic
def parcel_restore(*, user, parcel_id: int, event_id: int, expected_version: int) -> SaveResult:
    """Restore the parcel's fields and boundary from one of its history events (re-checked like any edit)."""
    parcel = Parcel.objects.get(pk=parcel_id)
    region_edit_require(user=user, region_id=parcel.region_id)
    _require_facility(parcel)
    event = parcel.events.get(pgh_id=event_id)  # type: ignore[attr-defined]
    if parcel.version != expected_version:
        raise ParcelConflict(parcel.version)
    data = {k: getattr(event, k) for k in PARCEL_FIELDS}
    problems = _field_problems(data=data | {"_pk": parcel.pk}, facility=parcel.facility, old_status=None)
    report = parcel_geometry_check(
        geom=event.geom,
        facility=parcel.facility,
        declared_area_ha=data["declared_area_ha"],
        exclude_parcel_id=parcel.pk,
    )
    errors = [p for p in problems + report.problems if p.severity == "error"]
    if errors and data["status"] != ParcelStatus.REVOKED:
        raise ParcelValidationError(errors)
    try:
        with transaction.atomic():
            changed = Parcel.objects.filter(pk=parcel.pk, version=expected_version).update(
                **data, geom=event.geom, version=F("version") + 1, updated_at=timezone.now()
            )
    except IntegrityError as exc:
        raise ParcelValidationError([integrity_error_problem(exc=exc)]) from exc
    if not changed:
        raise ParcelConflict(Parcel.objects.filter(pk=parcel.pk).values_list("version", flat=True).first())
    _apply_area(parcel.pk)
    parcel.refresh_from_db()
    return SaveResult(parcel, report.warnings)
