"""Writes of the roadmap's reference data (Order No. 191-ө: regions, bodies, measures, quotas, KPI targets)
and the restore of a facility from its history.

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

from accounts.permissions import Action, can
from facilities.models import (
    ConstructionQuota,
    Facility,
    FacilityKind,
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
