"""Writes of parcels, infrastructure links and documents. Every form, admin page, API call and import goes here.

Each write: checks the permission (accounts.permissions), runs the checks of
parcels.selectors, and saves in one transaction. A stale `version` raises
ParcelConflict (optimistic locking: UPDATE … WHERE id = %s AND version = %s).
Geometry EPSG:4326; areas in ha, lengths in m (UTM 39N–45N, see selectors).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import Action, can
from facilities.models import Facility
from parcels.models import (
    CADASTRAL_REGEX,
    InfrastructureLink,
    LinkStatus,
    Parcel,
    ParcelDocument,
    ParcelStatus,
    Utility,
)
from parcels.selectors import Problem, link_route_check, parcel_geometry_check, utm_srid_sql

PARCEL_FIELDS = [
    "cadastral_number",
    "declared_area_ha",
    "land_category",
    "right_type",
    "act_number",
    "act_date",
    "issuing_akimat",
    "term_years",
    "status",
    "notes",
]
LINK_FIELDS = [
    "required",
    "status",
    "capacity",
    "capacity_unit",
    "provider",
    "balance_act_number",
    "balance_act_date",
    "planned_connection_date",
    "actual_connection_date",
    "cost_kzt",
]

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

ALLOWED_DOCUMENT_TYPES = {
    b"%PDF-": ("application/pdf", ".pdf"),
    b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
    b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
}


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


def _require(user, action: Action, region_id: int | None) -> None:
    if not can(user, action, region_id=region_id):
        raise PermissionDenied(_("You may not change records of this region."))


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
    import re

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
    srid = utm_srid_sql("geom")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE parcels_parcel SET area_srid = {srid}, "  # noqa: S608 - fixed SQL from our code
            f"computed_area_ha = round((ST_Area(ST_Transform(geom, {srid})) / 10000)::numeric, 4) WHERE id = %s",
            [parcel_id],
        )


def _integrity_problem(exc: IntegrityError) -> Problem:
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


def parcel_validate(
    *, facility: Facility, geom, data: dict, parcel: Parcel | None = None
) -> tuple[list[Problem], object]:
    """All checks of a parcel create (parcel=None) or edit, without saving: (problems, geometry report)."""
    merged = data | {"_pk": parcel.pk if parcel else None}
    problems = _field_problems(data=merged, facility=facility, old_status=parcel.status if parcel else None)
    if parcel is None and data.get("status") != ParcelStatus.REVOKED:
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
    _require(user, Action.EDIT, facility.region_id)
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
        raise ParcelValidationError([_integrity_problem(exc)]) from exc
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
    _require(user, Action.EDIT, parcel.region_id)
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
        raise ParcelValidationError([_integrity_problem(exc)]) from exc
    if changed == 0:
        raise ParcelConflict(Parcel.objects.filter(pk=parcel.pk).values_list("version", flat=True).first())
    _apply_area(parcel.pk)
    parcel.refresh_from_db()
    return SaveResult(parcel, report.warnings if merged["status"] != ParcelStatus.REVOKED else [])


@transaction.atomic
def parcel_revoke(*, user, parcel_id: int, expected_version: int, reason: str = "") -> Parcel:
    """Revoke a parcel; it stays in the facility's history."""
    parcel = Parcel.objects.get(pk=parcel_id)
    _require(user, Action.EDIT, parcel.region_id)
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


def history_with_users(events: list) -> list:
    """Attach `.who` (username, or "—" for scripts and shells) to pghistory events. One query for the users."""
    from django.contrib.auth import get_user_model

    ids = {(e.pgh_context.metadata or {}).get("user") for e in events if e.pgh_context_id}
    names = dict(get_user_model().objects.filter(pk__in=[i for i in ids if i]).values_list("pk", "username"))
    for event in events:
        user_id = (event.pgh_context.metadata or {}).get("user") if event.pgh_context_id else None
        event.who = names.get(user_id, "—")
    return events


def parcel_history(*, parcel: Parcel) -> list:
    """History events of the parcel (newest first), each with `.who` made the change."""
    return history_with_users(list(parcel.events.select_related("pgh_context").order_by("-pgh_id")))  # type: ignore[attr-defined]


@transaction.atomic
def parcel_restore(*, user, parcel_id: int, event_id: int, expected_version: int) -> SaveResult:
    """Restore the parcel's fields and boundary from one of its history events (re-checked like any edit)."""
    parcel = Parcel.objects.get(pk=parcel_id)
    _require(user, Action.EDIT, parcel.region_id)
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
        raise ParcelValidationError([_integrity_problem(exc)]) from exc
    if not changed:
        raise ParcelConflict(Parcel.objects.filter(pk=parcel.pk).values_list("version", flat=True).first())
    _apply_area(parcel.pk)
    parcel.refresh_from_db()
    return SaveResult(parcel, report.warnings)


# ---------------------------------------------------------------------------
# Infrastructure links
# ---------------------------------------------------------------------------


def _link_problems(*, data: dict, utility: Utility, parcel: Parcel, route) -> tuple[list[Problem], float | None]:
    problems: list[Problem] = []
    status = data.get("status") or LinkStatus.PLANNED
    if status not in LinkStatus.values:
        problems.append(Problem("status", _("Unknown status %(s)s.") % {"s": status}, field="status"))
    required = data.get("required", True)
    if (status == LinkStatus.NOT_REQUIRED) == bool(required):
        problems.append(
            Problem(
                "required_status",
                _("A link that is not required has the status “not required”, and only such a link."),
                field="required",
            )
        )
    if status == LinkStatus.CONNECTED:
        for name, label in (
            ("balance_act_number", _("balance-delimitation act number")),
            ("balance_act_date", _("balance-delimitation act date")),
            ("actual_connection_date", _("actual connection date")),
        ):
            if not data.get(name):
                problems.append(
                    Problem("act_missing", _("Status “connected” needs the %(f)s.") % {"f": label}, field=name)
                )
    today = timezone.localdate()
    actual = data.get("actual_connection_date")
    act = data.get("balance_act_date")
    if actual and actual > today:
        problems.append(
            Problem(
                "date_future",
                _("The actual connection date %(d)s is in the future.") % {"d": actual},
                field="actual_connection_date",
            )
        )
    if act and actual and act < actual:
        problems.append(
            Problem(
                "date_order",
                _("The balance-delimitation act (%(a)s) cannot be dated before the connection (%(c)s).")
                % {"a": act, "c": actual},
                field="balance_act_date",
            )
        )
    if parcel.act_date:
        for name in ("planned_connection_date", "actual_connection_date"):
            value = data.get(name)
            if value and value < parcel.act_date:
                problems.append(
                    Problem(
                        "date_order",
                        _("%(f)s %(d)s is before the parcel's land act (%(a)s).")
                        % {
                            "f": InfrastructureLink._meta.get_field(name).verbose_name,
                            "d": value,
                            "a": parcel.act_date,
                        },
                        field=name,
                    )
                )
    capacity = data.get("capacity")
    unit = data.get("capacity_unit") or ""
    if capacity is not None:
        if Decimal(capacity) <= 0:
            problems.append(Problem("capacity", _("The capacity must be positive."), field="capacity"))
        if unit not in utility.capacity_units:
            problems.append(
                Problem(
                    "capacity_unit",
                    _("For %(u)s the capacity is given in %(units)s, not “%(unit)s”.")
                    % {"u": utility.name, "units": ", ".join(utility.capacity_units), "unit": unit},
                    field="capacity_unit",
                )
            )
    cost = data.get("cost_kzt")
    if cost is not None and Decimal(cost) < 0:
        problems.append(Problem("cost", _("The cost cannot be negative."), field="cost_kzt"))
    length = None
    if route is not None:
        if route.srid != 4326 or route.geom_type != "LineString":
            problems.append(Problem("route_invalid", _("The route must be a line in EPSG:4326."), field="route"))
        else:
            route_problems, length = link_route_check(route=route, parcel=parcel)
            problems += route_problems
    return problems, length


@transaction.atomic
def link_create(*, user, parcel: Parcel, utility: Utility, data: dict, route=None, is_demo: bool = False) -> SaveResult:
    _require(user, Action.EDIT, parcel.region_id)
    problems, length = _link_problems(data=data, utility=utility, parcel=parcel, route=route)
    if InfrastructureLink.objects.filter(parcel=parcel, utility=utility).exists():
        problems.append(
            Problem(
                "link_duplicate", _("This parcel already has a link for %(u)s.") % {"u": utility.name}, field="utility"
            )
        )
    if problems:
        raise ParcelValidationError(problems)
    link = InfrastructureLink(
        parcel=parcel,
        utility=utility,
        region_id=parcel.region_id,
        route=route,
        route_length_m=None if length is None else Decimal(length).quantize(Decimal("0.1")),
        is_demo=is_demo,
        **{k: data.get(k) for k in LINK_FIELDS if k in data},
    )
    for name in ("provider", "balance_act_number", "capacity_unit"):
        setattr(link, name, (getattr(link, name) or "").strip())
    try:
        with transaction.atomic():
            link.save()
    except IntegrityError as exc:
        raise ParcelValidationError([_integrity_problem(exc)]) from exc
    return SaveResult(link)


@transaction.atomic
def link_update(
    *, user, link_id: int, expected_version: int, data: dict, route=None, clear_route: bool = False
) -> SaveResult:
    link = InfrastructureLink.objects.select_related("parcel", "utility").get(pk=link_id)
    _require(user, Action.EDIT, link.region_id)
    if link.version != expected_version:
        raise ParcelConflict(link.version)
    merged = {k: getattr(link, k) for k in LINK_FIELDS} | {k: v for k, v in data.items() if k in LINK_FIELDS}
    new_route = None if clear_route else (route if route is not None else link.route)
    problems, length = _link_problems(data=merged, utility=link.utility, parcel=link.parcel, route=new_route)
    if problems:
        raise ParcelValidationError(problems)
    for name in ("provider", "balance_act_number", "capacity_unit"):
        merged[name] = (merged[name] or "").strip()
    try:
        with transaction.atomic():
            changed = InfrastructureLink.objects.filter(pk=link_id, version=expected_version).update(
                **merged,
                route=new_route,
                route_length_m=None if length is None else Decimal(length).quantize(Decimal("0.1")),
                version=F("version") + 1,
                updated_at=timezone.now(),
            )
    except IntegrityError as exc:
        raise ParcelValidationError([_integrity_problem(exc)]) from exc
    if not changed:
        raise ParcelConflict(InfrastructureLink.objects.filter(pk=link_id).values_list("version", flat=True).first())
    link.refresh_from_db()
    return SaveResult(link)


@transaction.atomic
def link_restore(*, user, link_id: int, event_id: int, expected_version: int) -> SaveResult:
    """Restore a link's fields and route from one of its history events (re-checked like any edit)."""
    link = InfrastructureLink.objects.get(pk=link_id)
    event = link.events.get(pgh_id=event_id)  # type: ignore[attr-defined]
    return link_update(
        user=user,
        link_id=link_id,
        expected_version=expected_version,
        data={k: getattr(event, k) for k in LINK_FIELDS},
        route=event.route,
        clear_route=event.route is None,
    )


@transaction.atomic
def link_delete(*, user, link_id: int) -> None:
    link = InfrastructureLink.objects.get(pk=link_id)
    _require(user, Action.EDIT, link.region_id)
    link.delete()


# ---------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------


def document_type_sniff(*, head: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the file's magic bytes, or None if it is not PDF/JPEG/PNG."""
    for magic, kind in ALLOWED_DOCUMENT_TYPES.items():
        if head.startswith(magic):
            return kind
    return None


@transaction.atomic
def document_add(*, user, parcel: Parcel, uploaded_file, title: str, kind: str, max_bytes: int) -> ParcelDocument:
    """Attach a scan (PDF/JPEG/PNG by magic bytes, at most `max_bytes`) to a parcel, under MEDIA_ROOT."""
    _require(user, Action.EDIT, parcel.region_id)
    if uploaded_file.size > max_bytes:
        raise ParcelValidationError(
            [
                Problem(
                    "file_size",
                    _("The file is %(s).1f MB; at most %(m).0f MB is accepted.")
                    % {"s": uploaded_file.size / 1e6, "m": max_bytes / 1e6},
                    field="file",
                )
            ]
        )
    content = uploaded_file.read(max_bytes + 1)
    kind_found = document_type_sniff(head=content[:16])
    if kind_found is None:
        raise ParcelValidationError(
            [
                Problem(
                    "file_type", _("Only PDF, JPEG or PNG scans are accepted; this file is none of them."), field="file"
                )
            ]
        )
    content_type, ext = kind_found
    digest = hashlib.sha256(content).hexdigest()
    document = ParcelDocument(
        parcel=parcel,
        region_id=parcel.region_id,
        kind=kind,
        title=(title or "").strip() or _("scan"),
        content_type=content_type,
        size_bytes=len(content),
        sha256=digest,
        uploaded_by=user if getattr(user, "is_authenticated", False) else None,
    )
    # The stored name is ours (hash + checked extension), never the uploaded one.
    document.file.save(f"{digest[:32]}{ext}", ContentFile(content), save=False)
    document.save()
    return document


@transaction.atomic
def document_restore(*, user, parcel: Parcel, event_id: int) -> ParcelDocument:
    """Re-attach a deleted document from its history event.

    Deleting a document removes its row, not its stored file, so the scan can be
    brought back exactly as it was (same file, type, size and checksum).
    """
    _require(user, Action.EDIT, parcel.region_id)
    event = ParcelDocument.pgh_event_model.objects.filter(pgh_id=event_id, parcel_id=parcel.pk).first()
    if event is None:
        raise ParcelValidationError([Problem("history", _("No such history entry for this parcel."))])
    if ParcelDocument.objects.filter(pk=event.pgh_obj_id).exists():
        raise ParcelValidationError([Problem("history", _("This document is still attached; nothing to restore."))])
    stored_name = event.file.name if hasattr(event.file, "name") else str(event.file or "")
    if not stored_name or not ParcelDocument._meta.get_field("file").storage.exists(stored_name):
        raise ParcelValidationError(
            [Problem("history", _("The stored file of this document no longer exists; it cannot be restored."))]
        )
    return ParcelDocument.objects.create(
        pk=event.pgh_obj_id,
        parcel=parcel,
        region_id=parcel.region_id,
        kind=event.kind,
        title=event.title,
        file=stored_name,
        content_type=event.content_type,
        size_bytes=event.size_bytes,
        sha256=event.sha256,
        uploaded_by=user if getattr(user, "is_authenticated", False) else None,
    )


@transaction.atomic
def document_delete(*, user, document_id: int) -> None:
    document = ParcelDocument.objects.get(pk=document_id)
    _require(user, Action.EDIT, document.region_id)
    document.delete()


def today() -> date:
    return timezone.localdate()


# ---------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------

# Attribute names accepted in imported files (lower case) → parcel field.
IMPORT_ALIASES = {
    "facility_id": "facility_id",
    "facility": "facility_id",
    "facility_i": "facility_id",  # Shapefile (DBF) names are cut to 10 characters
    "cadastral_number": "cadastral_number",
    "cadastral": "cadastral_number",
    "cadastral_n": "cadastral_number",
    "cadastral_": "cadastral_number",
    "kad_nomer": "cadastral_number",
    "declared_area_ha": "declared_area_ha",
    "declared_a": "declared_area_ha",
    "area_ha": "declared_area_ha",
    "land_category": "land_category",
    "land_categ": "land_category",
    "right_type": "right_type",
    "act_number": "act_number",
    "act_date": "act_date",
    "issuing_akimat": "issuing_akimat",
    "issuing_ak": "issuing_akimat",
    "term_years": "term_years",
    "status": "status",
    "notes": "notes",
}


@dataclass
class ImportRow:
    number: int
    cadastral_number: str
    facility_id: int | None
    problems: list[dict]
    geom: object | None = None
    parcel_id: int | None = None
    computed_area_ha: Decimal | None = None


@dataclass
class ImportOutcome:
    rows: list[ImportRow]
    saved: int
    committed: bool

    @property
    def has_errors(self) -> bool:
        return any(p["severity"] == "error" for r in self.rows for p in r.problems)


def _parse_date(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip()[:10]
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d"):
        try:
            from datetime import datetime

            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def import_row_data(properties: dict) -> tuple[dict, int | None, list[Problem]]:
    """Map a feature's attributes to parcel data; problems name the field and the reason."""
    from parcels.models import LandCategory, LandRight

    values = {}
    for key, value in properties.items():
        target = IMPORT_ALIASES.get(str(key).strip().lower())
        if target and target not in values:
            values[target] = value
    problems: list[Problem] = []
    facility_id = None
    try:
        facility_id = int(str(values.get("facility_id", "")).strip())
    except ValueError:
        problems.append(Problem("facility", _("give the facility's id (column facility_id)"), field="facility_id"))
    data: dict = {
        k: (str(values.get(k) or "").strip()) for k in ("cadastral_number", "act_number", "issuing_akimat", "notes")
    }
    data["status"] = str(values.get("status") or "candidate").strip().lower()
    data["land_category"] = str(values.get("land_category") or "settlement").strip().lower()
    data["right_type"] = str(values.get("right_type") or "temporary_free").strip().lower()
    if data["land_category"] not in LandCategory.values:
        problems.append(
            Problem(
                "land_category",
                _("unknown land category “%(v)s”; use one of %(l)s")
                % {"v": data["land_category"], "l": ", ".join(LandCategory.values)},
                field="land_category",
            )
        )
    if data["right_type"] not in LandRight.values:
        problems.append(
            Problem(
                "right_type",
                _("unknown right “%(v)s”; use one of %(l)s")
                % {"v": data["right_type"], "l": ", ".join(LandRight.values)},
                field="right_type",
            )
        )
    try:
        area = values.get("declared_area_ha")
        data["declared_area_ha"] = (
            Decimal(str(area).replace(",", ".")).quantize(Decimal("0.0001")) if area not in (None, "") else None
        )
        if data["declared_area_ha"] is not None and not data["declared_area_ha"].is_finite():
            raise ValueError(area)
    except (ArithmeticError, ValueError):
        data["declared_area_ha"] = None
        problems.append(
            Problem(
                "declared_area",
                _("the declared area “%(v)s” is not a number of hectares") % {"v": values.get("declared_area_ha")},
                field="declared_area_ha",
            )
        )
    try:
        data["act_date"] = _parse_date(values.get("act_date"))
    except ValueError:
        data["act_date"] = None
        problems.append(
            Problem(
                "act_date",
                _("the act date “%(v)s” is not a date (YYYY-MM-DD)") % {"v": values.get("act_date")},
                field="act_date",
            )
        )
    term = values.get("term_years")
    try:
        data["term_years"] = int(float(term)) if term not in (None, "") else None
    except ValueError:
        data["term_years"] = None
        problems.append(
            Problem("term", _("the term “%(v)s” is not a number of years") % {"v": term}, field="term_years")
        )
    return data, facility_id, problems


def parcels_import(*, user, features: list, commit: bool) -> ImportOutcome:
    """Validate (and with `commit`, save) imported features as new parcels: all or none.

    Every feature is created inside one transaction, so later features are
    checked against earlier ones (overlaps, duplicate numbers). The transaction
    is rolled back when `commit` is False (the preview) or when any feature
    has an error; the outcome lists each feature's problems.
    """
    from django.core.exceptions import ObjectDoesNotExist

    from accounts.permissions import scope_queryset

    rows: list[ImportRow] = []
    saved = 0
    facilities = scope_queryset(user, Facility.objects.select_related("region", "district"), action=Action.EDIT)
    with transaction.atomic():
        for feature in features:
            problems = [Problem("file", p.message, field=p.field) for p in feature.problems]
            data, facility_id, attr_problems = import_row_data(feature.properties)
            problems += attr_problems
            row = ImportRow(feature.number, data.get("cadastral_number", ""), facility_id, [], geom=feature.geom)
            facility = None
            if facility_id is not None:
                try:
                    facility = facilities.get(pk=facility_id)
                except ObjectDoesNotExist:
                    problems.append(
                        Problem(
                            "facility",
                            _("there is no facility %(id)s that you may edit") % {"id": facility_id},
                            field="facility_id",
                        )
                    )
            if not any(p.severity == "error" for p in problems) and feature.geom is not None and facility is not None:
                try:
                    with transaction.atomic():
                        result = parcel_create(user=user, facility=facility, geom=feature.geom, data=data)
                    row.parcel_id = result.obj.pk
                    row.computed_area_ha = result.obj.computed_area_ha
                    problems += result.warnings
                    saved += 1
                except ParcelValidationError as exc:
                    problems += exc.problems
                except PermissionDenied:
                    problems.append(
                        Problem("facility", _("you may not add parcels in this region"), field="facility_id")
                    )
            row.problems = [p.as_dict() for p in problems]
            rows.append(row)
        outcome = ImportOutcome(rows, saved, committed=False)
        if commit and not outcome.has_errors:
            outcome.committed = True
        else:
            transaction.set_rollback(True)
            outcome.saved = 0
    return outcome


class SystemActor:
    """The actor of management commands run by an operator on the server: acts as an administrator."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    pk = None

    def __str__(self) -> str:
        return "system"


SYSTEM = SystemActor()


# ---------------------------------------------------------------------------
# Demo data
# ---------------------------------------------------------------------------

DEMO_PROVIDERS = {
    "water": "ГКП «Су арнасы» (DEMO)",
    "sewerage": "ГКП «Су арнасы» (DEMO)",
    "electricity": "АО «Региональная электросетевая компания» (DEMO)",
    "gas": "АО «QazaqGaz Aimaq» (DEMO)",
    "heat": "ТОО «Жылу» (DEMO)",
    "telecom": "АО «Казахтелеком» (DEMO)",
    "road": "ГУ «Отдел ЖКХ, пассажирского транспорта и автодорог» (DEMO)",
}
DEMO_CAPACITY = {
    "water": (Decimal("45"), "m3/day"),
    "sewerage": (Decimal("40"), "m3/day"),
    "electricity": (Decimal("250"), "kW"),
    "gas": (Decimal("120"), "m3/h"),
    "heat": (Decimal("0.8"), "Gcal/h"),
    "telecom": (Decimal("100"), "Mbit/s"),
    "road": (Decimal("350"), "m"),
}


@dataclass
class DemoParcelsResult:
    parcels: int
    links: int
    skipped: int


def _demo_square(point, side_m: float, srid: int):
    from django.contrib.gis.geos import MultiPolygon, Polygon

    c = point.transform(srid, clone=True)
    h = side_m / 2
    poly = Polygon(
        ((c.x - h, c.y - h), (c.x + h, c.y - h), (c.x + h, c.y + h), (c.x - h, c.y + h), (c.x - h, c.y - h)), srid=srid
    )
    poly.transform(4326)
    return MultiPolygon(poly, srid=4326)


def _demo_route(parcel: Parcel, *, length_m: float, angle_deg: float, srid: int):
    import math

    from django.contrib.gis.geos import LineString

    g = parcel.geom.transform(srid, clone=True)
    c = g.centroid
    x0, y0, x1, y1 = g.extent
    half = (x1 - x0) / 2
    a = math.radians(angle_deg)
    end = (c.x + half * math.cos(a), c.y + half * math.sin(a))  # on the parcel's edge (square, axis-aligned) or inside
    end = (min(max(end[0], x0), x1), min(max(end[1], y0), y1))
    start = (end[0] + length_m * math.cos(a), end[1] + length_m * math.sin(a))
    line = LineString(start, end, srid=srid)
    line.transform(4326)
    return line


@transaction.atomic
def demo_parcels_create(*, region_katos: list[str] | None = None, per_region: int = 6) -> DemoParcelsResult:
    """Replace the DEMO parcels and links (is_demo) with squares around demo facilities and a mix of statuses.

    Parcels are 1–5 ha squares (drawn in the UTM zone of the facility) around
    the facility's point; each goes through parcel_create, so it passes every
    check (a parcel that would not — near a border, overlapping — is skipped).
    """
    from datetime import timedelta

    from layers.models import Region
    from parcels.selectors import utm_srid_for_lon

    Parcel.objects.filter(is_demo=True).delete()
    regions = Region.objects.filter(kato__in=region_katos) if region_katos else Region.objects.all()
    utilities = list(Utility.objects.all())
    made = links = skipped = 0
    cycle = [ParcelStatus.ACT_ISSUED, ParcelStatus.ACT_ISSUED, ParcelStatus.ALLOCATED, ParcelStatus.CANDIDATE, None]
    for region in regions.order_by("kato"):
        facilities = list(
            Facility.objects.filter(region=region, is_demo=True, location__isnull=False)
            .select_related("region", "district")
            .order_by("id")[:per_region]
        )
        for index, facility in enumerate(facilities):
            status = cycle[(index + int(region.kato[:2])) % len(cycle)]
            if status is None:
                continue  # some facilities have no parcel yet: they show up in the measure-5 list
            srid = utm_srid_for_lon(facility.location.x)
            side = 100 + 25 * ((facility.pk * 7) % 5)  # 100–200 m: 1–4 ha
            geom = _demo_square(facility.location, side, srid)
            area = Decimal(side * side / 10_000).quantize(Decimal("0.01"))
            district_code = facility.district.kato[2:5] if facility.district_id else "000"
            data = {
                "cadastral_number": f"{region.kato[:2]}-{district_code}-{100 + index:03d}-{facility.pk:04d}"
                if status != ParcelStatus.CANDIDATE
                else "",
                # Every third parcel's declared area is off by 8 %, so the warning can be seen.
                "declared_area_ha": area * Decimal("1.08") if index % 3 == 2 else area,
                "land_category": "settlement",
                "right_type": "temporary_free" if index % 2 else "temporary_paid",
                "status": status,
                "act_number": f"DEMO-{region.kato[:2]}-{facility.pk}" if status == ParcelStatus.ACT_ISSUED else "",
                "act_date": date(2024, 2, 1) + timedelta(days=(facility.pk * 11) % 120)
                if status == ParcelStatus.ACT_ISSUED
                else None,
                "issuing_akimat": f"Akimat — {region.name_en} (DEMO)" if status == ParcelStatus.ACT_ISSUED else "",
                "term_years": 49 if status != ParcelStatus.CANDIDATE else None,
                "notes": "DEMO: invented for demonstration, not an official record.",
            }
            try:
                with transaction.atomic():
                    parcel = parcel_create(user=SYSTEM, facility=facility, geom=geom, data=data, is_demo=True).obj
            except ParcelValidationError:
                skipped += 1
                continue
            made += 1
            if status != ParcelStatus.ACT_ISSUED:
                continue
            for number, utility in enumerate(utilities):
                kind = (index + number) % 4
                capacity, unit = DEMO_CAPACITY.get(utility.code, (None, ""))
                if utility.code == "gas" and index % 2:
                    link_data = {"required": False, "status": LinkStatus.NOT_REQUIRED}
                else:
                    link_status = [
                        LinkStatus.CONNECTED,
                        LinkStatus.UNDER_CONSTRUCTION,
                        LinkStatus.DESIGN,
                        LinkStatus.CONNECTED,
                    ][kind]
                    connected_on = parcel.act_date + timedelta(days=120 + 10 * number)
                    link_data = {
                        "required": True,
                        "status": link_status,
                        "capacity": capacity,
                        "capacity_unit": unit if capacity is not None else "",
                        "provider": DEMO_PROVIDERS.get(utility.code, "DEMO"),
                        "planned_connection_date": connected_on,
                        "cost_kzt": Decimal(5_000_000 + 1_250_000 * number),
                    }
                    if link_status == LinkStatus.CONNECTED:
                        link_data |= {
                            "actual_connection_date": connected_on,
                            "balance_act_number": f"DEMO-BA-{parcel.pk}-{number}",
                            "balance_act_date": connected_on + timedelta(days=3),
                        }
                route = _demo_route(
                    parcel,
                    length_m=150 + 60 * number,
                    angle_deg=number * 51.4,
                    srid=utm_srid_for_lon(facility.location.x),
                )
                try:
                    with transaction.atomic():
                        link_create(
                            user=SYSTEM, parcel=parcel, utility=utility, data=link_data, route=route, is_demo=True
                        )
                    links += 1
                except ParcelValidationError:
                    skipped += 1
    return DemoParcelsResult(made, links, skipped)
