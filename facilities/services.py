"""Writes of the roadmap's reference data (Order No. 191-ө: regions, bodies, measures, quotas, KPI targets),
of facilities (create, update, restore from their history).

Every write of a facility's place runs facilities.checks.facility_location_check (inside its region
and district). Who may change what of a facility is facility_editable_fields (accounts.permissions:
planners everything, akimat land departments the location in their own region). Locations EPSG:4326.
The DEMO facilities are made by facilities.demo.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pghistory
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import Action, can, may_place_facility
from facilities.checks import Problem, facility_location_check
from facilities.models import (
    CONSTRUCTION_MEASURES,
    ConstructionQuota,
    Facility,
    FacilityKind,
    FundingSource,
    KpiIndicator,
    KpiTarget,
    Measure,
    ResponsibleBody,
    Section,
)
from gis_portal.history import history_head
from layers.models import District, Region
from layers.services import regions_sync

ROADMAP_JSON = Path(__file__).resolve().parent / "data" / "roadmap.json"


def roadmap_data_read(*, path: Path = ROADMAP_JSON) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@transaction.atomic
def reference_data_load(*, path: Path = ROADMAP_JSON) -> dict[str, int]:
    """Load regions, bodies, sections, the 26 measures, quotas and KPI targets of the order.

    Idempotent: rows are matched by their natural keys and updated in place.
    """
    data = roadmap_data_read(path=path)
    regions_sync(rows=data["regions"])
    for row in data["bodies"]:
        ResponsibleBody.objects.update_or_create(
            code=row["code"], defaults={k: row[k] for k in ("name_kk", "name_ru", "name_en")}
        )
    for row in data["sections"]:
        Section.objects.update_or_create(
            code=row["code"], defaults={k: row[k] for k in ("title_kk", "title_ru", "title_en")}
        )
    for row in data["facility_kinds"]:
        FacilityKind.objects.update_or_create(
            code=row["code"],
            defaults={
                **{k: row[k] for k in ("name_kk", "name_ru", "name_en")},
                "shifts_per_year": row.get("shifts_per_year", 1),
                "shifts_basis": row.get("shifts_basis", ""),
                "shifts_assumed": row.get("shifts_assumed", True),
            },
        )
    bodies = {b.code: b for b in ResponsibleBody.objects.all()}
    for row in data["measures"]:
        measure, _ = Measure.objects.update_or_create(
            number=row["number"],
            defaults={
                "section_id": row["section"],
                **{
                    k: row[k]
                    for k in (
                        "title_kk",
                        "title_ru",
                        "title_en",
                        "completion_form_code",
                        "completion_form_kk",
                        "completion_form_ru",
                        "completion_form_en",
                        "deadline_text_kk",
                        "deadline_kind",
                        "responsible_text_kk",
                    )
                },
                "deadline_start": date.fromisoformat(row["deadline_start"]),
                "deadline_end": date.fromisoformat(row["deadline_end"]),
                "recurrence_months": row.get("recurrence_months") or [],
            },
        )
        measure.responsible.set([bodies[code] for code in row["responsible"]])
    regions = {r.kato: r for r in Region.objects.all()}
    for row in data["quotas"]:
        quota, _ = ConstructionQuota.objects.update_or_create(
            measure_id=row["measure"],
            defaults={
                "count": row["count"],
                "object_kind_id": row["object_kind"],
                "ppp_count": row["ppp_count"],
                "target_stage": row["target_stage"],
                "regions_text_kk": row["regions_text_kk"],
            },
        )
        quota.regions.set([regions[kato] for kato in row["regions"]])
    for row in data["kpis"]:
        indicator, _ = KpiIndicator.objects.update_or_create(
            code=row["code"],
            defaults={
                **{k: row[k] for k in ("name_kk", "name_ru", "name_en", "unit", "baseline_year")},
                "baseline": row["baseline"],
            },
        )
        for year, value in row["targets"].items():
            KpiTarget.objects.update_or_create(indicator=indicator, year=int(year), defaults={"value": value})
    return {
        "regions": len(data["regions"]),
        "measures": len(data["measures"]),
        "quotas": len(data["quotas"]),
        "bodies": len(data["bodies"]),
    }


# The optional finances of a facility (never required) and their empty values; the ministry edits them
# like the plan data.
FINANCE_DEFAULTS = {
    "budget_kzt": None,
    "funding_source": "",
    "contractor_name": "",
    "contractor_bin": "",
    "finances_published": False,
}
FINANCE_FIELDS = tuple(FINANCE_DEFAULTS)

# The facility's own data a restore brings back; is_demo and the time stamps stay as they are.
FACILITY_RESTORED_FIELDS = [
    "kind_id",
    "measure_id",
    "region_id",
    "district_id",
    "name_kk",
    "name_ru",
    "name_en",
    "places",
    "is_ppp",
    "location",
    "planned_year",
    *FINANCE_FIELDS,
]


class FacilityRestoreError(Exception):
    """A restore that cannot be done; `messages` say why (nothing was saved)."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("; ".join(messages))


class FacilityConflict(FacilityRestoreError):
    """The facility changed since its history was read (the newest event moved on)."""

    def __init__(self):
        super().__init__([_("Somebody else changed this facility after you opened it. Reload the page and try again.")])


@transaction.atomic
def facility_restore(*, user, facility_id: int, event_id: int, expected_head: int) -> Facility:
    """Bring a facility's data back to one of its history events, as the ministry (it plans facilities).

    `expected_head` is the newest history event the user saw (history_head): a different one now
    means somebody saved in between and nothing is restored. The restored row is checked like a new
    one (field validators and the table's constraints), and a facility with an active land parcel
    keeps its region (the parcel lies in it). Raises PermissionDenied, FacilityRestoreError.
    """
    facility = Facility.objects.select_for_update().get(pk=facility_id)
    if not can(user, Action.PLAN, region_id=facility.region_id):
        raise PermissionDenied(_("Only the ministry may change the facilities of the plan."))
    event = facility.events.filter(pgh_id=event_id).first()  # type: ignore[attr-defined]
    if event is None:
        raise FacilityRestoreError([_("No such history entry for this facility.")])
    if history_head(facility.events.all()) != expected_head:  # type: ignore[attr-defined]
        raise FacilityConflict
    values = {name: getattr(event, name) for name in FACILITY_RESTORED_FIELDS}
    if all(getattr(facility, name) == value for name, value in values.items()):
        raise FacilityRestoreError([_("This version is the facility's current data; nothing to restore.")])
    problems = []
    if values["region_id"] != facility.region_id and facility.parcels.exclude(status="revoked").exists():  # type: ignore[attr-defined]
        problems.append(_("The facility has a land parcel in its current region; its region cannot change back."))
    if (
        values["district_id"] is not None
        and not District.objects.filter(pk=values["district_id"], region_id=values["region_id"]).exists()
    ):
        problems.append(_("The district of this version is not in its region (any more)."))
    else:
        # The version's place is checked against today's boundaries, like a new location.
        report = facility_location_check(
            location=values["location"],
            region=Region.objects.get(pk=values["region_id"]),
            district=District.objects.filter(pk=values["district_id"]).first(),
        )
        problems += [p.message for p in report.problems]
    for name, value in values.items():
        setattr(facility, name, value)
    try:
        facility.full_clean(exclude=["location_geojson"])
    except ValidationError as exc:
        problems += [message for messages in exc.message_dict.values() for message in messages]
    if problems:
        raise FacilityRestoreError(problems)
    try:
        # The restored-from event is written into the history context next to the user who restored.
        with pghistory.context(restored_event=event.pgh_id), transaction.atomic():
            Facility.objects.filter(pk=facility.pk).update(**values, updated_at=timezone.now())
    except IntegrityError as exc:
        raise FacilityRestoreError([_("The restored data break a rule of the database: %(e)s") % {"e": exc}]) from exc
    facility.refresh_from_db()
    return facility


# ---------------------------------------------------------------------------
# Create and update (the facility pages and the admin)
# ---------------------------------------------------------------------------

# Weights of the BIN's check digit (the 12th), a second pass when the first gives 10 (then: no valid BIN).
BIN_WEIGHTS = (tuple(range(1, 12)), (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2))


def bin_is_valid(value: str) -> bool:
    """Is `value` a well-formed Kazakh business identification number (12 digits, check digit right)?"""
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        return False
    digits = [int(c) for c in value]
    for weights in BIN_WEIGHTS:
        check = sum(d * w for d, w in zip(digits[:11], weights, strict=True)) % 11
        if check != 10:
            return check == digits[11]
    return False


# What a facility's form may set; the foreign keys are given as model instances.
FACILITY_FIELDS = (
    "measure",
    "kind",
    "region",
    "district",
    "name_kk",
    "name_ru",
    "name_en",
    "places",
    "is_ppp",
    "planned_year",
    "reference",
    "location",
    *FINANCE_FIELDS,
)
# What an akimat land department may change of its region's facilities (the district follows the point).
FACILITY_LOCATION_FIELDS = frozenset({"location", "district"})
PLANNED_YEARS = range(2023, 2027)  # the roadmap's years, as the table's constraint


class FacilityValidationError(Exception):
    """A facility that cannot be saved; `problems` name the field and the reason of each (nothing was saved)."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems))


def facility_editable_fields(user, *, region_id: int | None) -> frozenset[str]:
    """The fields of a facility of region `region_id` that `user` may change (empty: none).

    The one policy of the pages, the admin and the services: the ministry (Action.PLAN) every field,
    the akimat land department of the region its location and district (may_place_facility).
    """
    if can(user, Action.PLAN, region_id=region_id):
        return frozenset(FACILITY_FIELDS)
    if may_place_facility(user, region_id=region_id):
        return FACILITY_LOCATION_FIELDS
    return frozenset()


def _field_problems(*, values: dict, facility_id: int | None) -> list[Problem]:
    """The checks of a facility's data against the order (the table's constraints repeat the hard ones)."""
    problems: list[Problem] = []
    measure, kind, region = values["measure"], values["kind"], values["region"]
    quota = ConstructionQuota.objects.filter(measure_id=measure.pk).prefetch_related("regions").first()
    if measure.pk not in CONSTRUCTION_MEASURES or quota is None:
        problems.append(
            Problem("measure", _("Facilities are built under the construction measures 14–26."), field="measure")
        )
    else:
        if kind.pk != quota.object_kind_id:
            problems.append(
                Problem(
                    "kind",
                    _("Measure %(m)s builds objects of the kind “%(kind)s”.")
                    % {"m": measure.pk, "kind": quota.object_kind.name},
                    field="kind",
                )
            )
        if region.pk not in {r.pk for r in quota.regions.all()}:
            problems.append(
                Problem(
                    "region",
                    _("The order does not name %(region)s for measure %(m)s.")
                    % {"region": region.name, "m": measure.pk},
                    field="region",
                )
            )
    for name, language in (("name_kk", _("Kazakh")), ("name_ru", _("Russian")), ("name_en", _("English"))):
        if not (values.get(name) or "").strip():
            problems.append(Problem("name", _("Give the name in %(language)s.") % {"language": language}, field=name))
    if not values.get("places") or values["places"] <= 0:
        problems.append(Problem("places", _("Give the number of places (more than 0)."), field="places"))
    if values.get("planned_year") not in PLANNED_YEARS:
        problems.append(
            Problem(
                "planned_year",
                _("The planned year must be between %(a)s and %(b)s (the roadmap's years).")
                % {"a": PLANNED_YEARS[0], "b": PLANNED_YEARS[-1]},
                field="planned_year",
            )
        )
    problems += _finance_problems(values=values)
    reference = values.get("reference") or ""
    if reference:
        clash = Facility.objects.filter(reference=reference).exclude(pk=facility_id or 0).first()
        if clash is not None:
            problems.append(
                Problem(
                    "reference",
                    _("The reference number %(r)s is already used by facility #%(id)s.")
                    % {"r": reference, "id": clash.pk},
                    field="reference",
                )
            )
    return problems


def _finance_problems(*, values: dict) -> list[Problem]:
    """The optional finances: none required; a budget not negative, a known source, a valid BIN."""
    problems: list[Problem] = []
    budget = values.get("budget_kzt")
    if budget is not None and budget < 0:
        problems.append(Problem("budget", _("The budget cannot be negative."), field="budget_kzt"))
    if values.get("funding_source") and values["funding_source"] not in FundingSource.values:
        problems.append(Problem("funding_source", _("Unknown funding source."), field="funding_source"))
    bin_value = values.get("contractor_bin") or ""
    if bin_value and not bin_is_valid(bin_value):
        problems.append(
            Problem("contractor_bin", _("A BIN has 12 digits and a valid check digit."), field="contractor_bin")
        )
    if bin_value and not values.get("contractor_name"):
        problems.append(
            Problem("contractor_name", _("Give the contractor's name with its BIN."), field="contractor_name")
        )
    return problems


def _checked_values(*, values: dict, facility: Facility | None) -> dict:
    """Check `values` (every FACILITY_FIELDS key) and return them as columns; FacilityValidationError if wrong.

    An empty district is filled with the district the location lies in.
    """
    values = {**values, "reference": (values.get("reference") or "").strip()}
    for name in ("name_kk", "name_ru", "name_en", "contractor_name", "contractor_bin"):
        values[name] = (values.get(name) or "").strip()
    problems = _field_problems(values=values, facility_id=facility.pk if facility else None)
    if (
        facility is not None
        and values["region"].pk != facility.region_id
        and facility.parcels.exclude(status="revoked").exists()  # type: ignore[attr-defined]
    ):
        problems.append(
            Problem(
                "region_parcel",
                _("The facility has a land parcel in its region; its region cannot change."),
                field="region",
            )
        )
    report = facility_location_check(location=values["location"], region=values["region"], district=values["district"])
    problems += report.problems
    if problems:
        raise FacilityValidationError(problems)
    columns = {name: values[name] for name in FACILITY_FIELDS if name not in ("measure", "kind", "region", "district")}
    district_id = values["district"].pk if values["district"] is not None else report.district_id
    return columns | {
        "measure_id": values["measure"].pk,
        "kind_id": values["kind"].pk,
        "region_id": values["region"].pk,
        "district_id": district_id,
    }


def _integrity_problem(exc: IntegrityError) -> Problem:
    """The table constraint a save broke (a race the checks before it could not see), in words."""
    text = str(exc)
    if "facility_reference_unique" in text:
        return Problem("reference", _("This reference number is already used by another facility."), field="reference")
    if "facility_location_in_kazakhstan_bbox" in text:
        return Problem("outside_kz", _("The location lies outside Kazakhstan."))
    return Problem("integrity", _("The data break a rule of the database: %(e)s") % {"e": exc}, field="__all__")


def _merged(*, facility: Facility | None, data: dict) -> dict:
    """The facility's current data (every FACILITY_FIELDS key) with `data` over them."""
    if facility is None:
        return {"district": None, "location": None, "reference": "", "is_ppp": False, **FINANCE_DEFAULTS, **data}
    current = {name: getattr(facility, name) for name in FACILITY_FIELDS}
    if "region" in data and data["region"] != facility.region and "district" not in data:
        current["district"] = None  # a district of the old region cannot stay; the location gives the new one
    return current | data


def facility_validate(*, data: dict, facility: Facility | None = None) -> list[Problem]:
    """Every problem of creating (facility None) or changing a facility with `data`, without saving (the admin)."""
    try:
        _checked_values(values=_merged(facility=facility, data=data), facility=facility)
    except FacilityValidationError as exc:
        return exc.problems
    return []


@transaction.atomic
def facility_create(*, user, data: dict, is_demo: bool = False) -> Facility:
    """Create a facility of the plan from `data` (every FACILITY_FIELDS key), as the ministry.

    Raises PermissionDenied (only planners and administrators create facilities) or
    FacilityValidationError (nothing saved). An empty district is taken from the location.
    """
    if not can(user, Action.PLAN, region_id=data["region"].pk):
        raise PermissionDenied(_("Only the ministry may add facilities to the plan."))
    facility = Facility(**_checked_values(values=_merged(facility=None, data=data), facility=None), is_demo=is_demo)
    try:
        with transaction.atomic():
            facility.save()
    except IntegrityError as exc:
        raise FacilityValidationError([_integrity_problem(exc)]) from exc
    return facility


@transaction.atomic
def facility_update(*, user, facility_id: int, expected_head: int, data: dict) -> Facility:
    """Change the fields of `data` of facility `facility_id`, if its history is still at `expected_head`.

    `data` may hold only the fields the user may change (facility_editable_fields): a key outside
    them raises PermissionDenied. `expected_head` is the newest history event the form was made
    from (gis_portal.history.history_head, the facilities' optimistic lock): a different one now
    raises FacilityConflict. Bad data raise FacilityValidationError; nothing is saved then.
    """
    facility = Facility.objects.select_for_update(of=("self",)).select_related("region", "district").get(pk=facility_id)
    allowed = facility_editable_fields(user, region_id=facility.region_id)
    if not allowed:
        raise PermissionDenied(_("You may not change the facilities of this region."))
    if not set(data) <= allowed:
        raise PermissionDenied(
            _("You may change only the location of this facility; its plan data are the ministry's.")
        )
    if history_head(facility.events.all()) != expected_head:  # type: ignore[attr-defined]
        raise FacilityConflict
    columns = _checked_values(values=_merged(facility=facility, data=data), facility=facility)
    try:
        with transaction.atomic():
            Facility.objects.filter(pk=facility.pk).update(**columns, updated_at=timezone.now())
    except IntegrityError as exc:
        raise FacilityValidationError([_integrity_problem(exc)]) from exc
    facility.refresh_from_db()
    return facility
