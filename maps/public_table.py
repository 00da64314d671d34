"""Reads behind the public table, its downloads and a facility's public timeline (issue 20).

The same facilities as the public map (maps.selectors.facility_queryset for the public, located
facilities only, the same status filter) with public fields only: names, kind, region, measure,
places, planned year, status, the stage reached, the opening date and, where the editor published
them, the budget, funding source and contractor (the facilities collection's public properties).
Never parcels, acts, unpublished costs, executors or notes. Coordinates are EPSG:4326 (degrees).
A constant number of queries whatever the number of facilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Max, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from facilities.models import Facility, FundingSource
from gis_portal.geo.collections import collection_get
from maps import selectors
from tracking import selectors as tracking_selectors
from tracking.models import STAGE_ORDER, Stage, StageRecord

# The stage code of a facility that has reached no stage (or that tracking does not follow).
NO_STAGE = "none"
# Sort keys of the table (a "-" in front sorts descending), in the order of its columns.
SORT_KEYS = {
    "name": gettext_lazy("Name"),
    "region": gettext_lazy("Region"),
    "kind": gettext_lazy("Kind"),
    "measure": gettext_lazy("Measure"),
    "stage": gettext_lazy("Stage reached"),
    "planned": gettext_lazy("Planned opening (year)"),
}
DEFAULT_SORT = "name"


class BadSort(ValueError):
    """The sort key is not one of SORT_KEYS (with or without a leading "-")."""


@dataclass(frozen=True)
class PublicRow:
    """One facility as the public sees it; `name` etc. in the current language."""

    pk: int
    name: str
    kind: str
    kind_label: str
    region: str
    region_label: str
    measure: int
    places: int
    planned_year: int
    status: str
    status_label: str
    stage: str
    stage_label: str
    opened_on: date | None
    is_demo: bool
    lon: float
    lat: float
    # Published finances only (None / "" otherwise): whole tenge, the FundingSource code, the contractor.
    budget_kzt: int | None = None
    funding_source: str = ""
    funding_source_label: str = ""
    contractor_name: str = ""


def stage_label(code: str) -> str:
    return str(Stage(code).label) if code in STAGE_ORDER else _("no stage reached yet")


# The finances the table shows, read through the facilities collection's public properties (null unless published).
FINANCE_COLUMNS = ("budget_kzt", "funding_source", "contractor_name")


def _published_finances() -> dict:
    public = collection_get("facilities").public_properties
    return {f"public_{name}": public[name] for name in FINANCE_COLUMNS}


def public_queryset(*, filters: dict) -> QuerySet[Facility]:
    """The public map's facilities (approved plans, located) for the filters of FacilityFilterForm."""
    qs = selectors.facility_queryset(kind=filters.get("kind") or None, region_kato=filters.get("region") or None)
    return qs.filter(location__isnull=False)


def _sort_key(sort: str):
    field = sort.removeprefix("-")
    if field not in SORT_KEYS:
        raise BadSort(sort)
    stage_rank = {code: n for n, code in enumerate(STAGE_ORDER)}
    keys = {
        "name": lambda r: (r.name.casefold(),),
        "region": lambda r: (r.region_label.casefold(),),
        "kind": lambda r: (r.kind_label.casefold(),),
        "measure": lambda r: (r.measure,),
        "stage": lambda r: (stage_rank.get(r.stage, -1),),
        "planned": lambda r: (r.planned_year,),
    }
    # Ties by name then id, so the order is the same on every request.
    return lambda r: (*keys[field](r), r.name.casefold(), r.pk)


def public_rows(*, filters: dict, as_of: date, sort: str = DEFAULT_SORT) -> list[PublicRow]:
    """The facilities of the public map for `filters` (kind, region, status), sorted by `sort`.

    Raises BadSort for an unknown sort key. Five queries (facilities, their tracked states, labels).
    """
    sorter = _sort_key(sort)
    facilities = list(
        public_queryset(filters=filters)
        # Only what the row shows: facility_list joins more than the public needs.
        .select_related(None)
        .select_related("kind", "region")
        .only(
            "pk",
            "name_kk",
            "name_ru",
            "name_en",
            "kind__code",
            "kind__name_kk",
            "kind__name_ru",
            "kind__name_en",
            "region__kato",
            "region__name_kk",
            "region__name_ru",
            "region__name_en",
            "measure_id",
            "places",
            "planned_year",
            "is_demo",
            "location",
        )
        .annotate(**_published_finances())
    )
    states = tracking_selectors.facility_states_as_of(as_of=as_of, facility_ids=[f.pk for f in facilities])
    labels = selectors.status_labels()
    rows = []
    for f in facilities:
        state = states.get(f.pk)
        status = state.status if state is not None else selectors.PLANNED
        if filters.get("status") and status != filters["status"]:
            continue
        stage = state.stage_reached if state is not None else NO_STAGE
        opened = state.reached.get(Stage.OPENED) if state is not None else None
        rows.append(
            PublicRow(
                pk=f.pk,
                name=f.name,
                kind=f.kind.code,
                kind_label=f.kind.name,
                region=f.region.kato,
                region_label=f.region.name,
                measure=f.measure_id,
                places=f.places,
                planned_year=f.planned_year,
                status=status,
                status_label=labels.get(status, status),
                stage=stage,
                stage_label=stage_label(stage),
                opened_on=opened if opened is not None and opened <= as_of else None,
                is_demo=f.is_demo,
                lon=f.location.x,
                lat=f.location.y,
                budget_kzt=f.public_budget_kzt,
                funding_source=f.public_funding_source or "",
                funding_source_label=str(FundingSource(f.public_funding_source).label)
                if f.public_funding_source
                else "",
                contractor_name=f.public_contractor_name or "",
            )
        )
    rows.sort(key=sorter, reverse=sort.startswith("-"))
    return rows


def data_changed_at(*, filters: dict) -> datetime | None:
    """When the public data of these facilities last changed: the latest facility edit or stage record."""
    qs = public_queryset(filters=filters)
    edited = qs.aggregate(at=Max("updated_at"))["at"]
    recorded = StageRecord.objects.filter(tracked__facility__in=qs).aggregate(at=Max("recorded_at"))["at"]
    return max((t for t in (edited, recorded) if t is not None), default=None)


@dataclass(frozen=True)
class PublicStage:
    """One stage of a facility's public timeline: reached on `date` (None: not yet), planned for `planned`."""

    code: str
    label: str
    date: date | None
    planned: date | None
    is_target: bool


@dataclass(frozen=True)
class PublicTimeline:
    stage: str
    stage_label: str
    planned_year: int
    planned_opening: date | None
    opened_on: date | None
    stages: list[PublicStage]


def public_timeline(*, facility: Facility, as_of: date) -> PublicTimeline:
    """The stages of a public facility as of `as_of`: dates reached and planned, nothing else
    (no documents, executors, notes, parcels). Three queries (tracking's states)."""
    state = tracking_selectors.facility_states_as_of(as_of=as_of, facility_ids=[facility.pk]).get(facility.pk)
    if state is None:
        return PublicTimeline(
            stage=NO_STAGE,
            stage_label=stage_label(NO_STAGE),
            planned_year=facility.planned_year,
            planned_opening=None,
            opened_on=None,
            stages=[],
        )
    reached = {code: day for code, day in state.reached.items() if day <= as_of}
    stages = [
        PublicStage(
            code=code,
            label=stage_label(code),
            date=reached.get(code),
            planned=state.planned.get(code),
            is_target=code == state.target_stage,
        )
        for code in STAGE_ORDER
    ]
    return PublicTimeline(
        stage=state.stage_reached,
        stage_label=stage_label(state.stage_reached),
        planned_year=facility.planned_year,
        planned_opening=state.planned.get(Stage.OPENED),
        opened_on=reached.get(Stage.OPENED),
        stages=stages,
    )
