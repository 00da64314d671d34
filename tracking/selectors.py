"""Reads of tracking: status of facilities and measures as of any date, dashboards, KPI, reminders.

"As of" semantics: a stage counts as reached on `as_of` when its latest record
*recorded* by the end of `known_at` (Asia/Almaty; defaults to `as_of`) has an
actual date ≤ `as_of`. Records are append-only, so a past state is reproduced
exactly, whatever was entered later.
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.permissions import Action, scope_queryset, user_has_role
from facilities.models import Facility, FacilityKind, KpiIndicator, Measure
from gis_portal.history import history_head, history_with_users
from gis_portal.i18n import current_language
from layers.models import District, PopulationFigure, Region
from parcels.models import LinkStatus, Utility
from tracking.lifecycle import DERIVED_STAGES, ParcelFacts, facility_has_parcel, parcel_facts_as_of
from tracking.models import (
    NON_CONSTRUCTION_MEASURES,
    PLAN_MEASURES,
    STAGE_ORDER,
    TARGET_STAGE,
    KpiMeasurement,
    MeasureRecord,
    Plan,
    PlanItem,
    Stage,
    StageRecord,
    TrackedFacility,
)


class Status:
    DONE_ON_TIME = "done_on_time"
    DONE_LATE = "done_late"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OVERDUE = "overdue"
    NOT_STARTED = "not_started"


STATUS_ORDER = [
    Status.DONE_ON_TIME,
    Status.DONE_LATE,
    Status.ON_TRACK,
    Status.NOT_STARTED,
    Status.AT_RISK,
    Status.OVERDUE,
]
STATUS_LABELS = {
    Status.DONE_ON_TIME: _("done on time"),
    Status.DONE_LATE: _("done late"),
    Status.ON_TRACK: _("on track"),
    Status.NOT_STARTED: _("not started"),
    Status.AT_RISK: _("at risk"),
    Status.OVERDUE: _("overdue"),
}
STATUS_COLOURS = {
    Status.DONE_ON_TIME: "#2e7d32",
    Status.DONE_LATE: "#81c784",
    Status.ON_TRACK: "#1e88e5",
    Status.NOT_STARTED: "#b0bec5",
    Status.AT_RISK: "#f9a825",
    Status.OVERDUE: "#c62828",
}
DONE_STATUSES = (Status.DONE_ON_TIME, Status.DONE_LATE)


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier (clamped to the month's last day)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class RiskRule:
    """A facility not done is *at risk* when `stage` is not reached `months` before its deadline."""

    code: str
    target: str  # "acceptance", "expertise" or "any"
    stage: str
    months: int
    text: str


# The at-risk rules, shown verbatim on the dashboard.
RISK_RULES = [
    RiskRule("parcel_late", "any", Stage.PARCEL, 12, _("no land parcel allocated 12 months before the deadline")),
    RiskRule(
        "design_late",
        "expertise",
        Stage.DESIGN,
        6,
        _("target is the state expertise: design documentation not ready 6 months before the deadline"),
    ),
    RiskRule(
        "expertise_late",
        "acceptance",
        Stage.EXPERTISE,
        9,
        _("target is acceptance: state expertise not passed 9 months before the deadline"),
    ),
    RiskRule(
        "start_late",
        "acceptance",
        Stage.CONSTRUCTION_STARTED,
        6,
        _("target is acceptance: construction not started 6 months before the deadline"),
    ),
]
SLIP_DAYS = 30
SLIP_RULE_TEXT = _("a stage's planned date passed more than 30 days ago and the stage is not done")


def knowledge_cutoff(known_at: date | datetime) -> datetime:
    """First instant after `known_at` (end of that day in the portal's time zone)."""
    if isinstance(known_at, datetime):
        return known_at
    return timezone.make_aware(datetime.combine(known_at + timedelta(days=1), time.min))


@dataclass
class FacilityState:
    facility_id: int
    measure_id: int
    region_id: int
    deadline: date
    target_stage: str
    places: int
    executor: str = ""
    overdue_reason: str = ""
    reached: dict[str, date] = field(default_factory=dict)
    planned: dict[str, date] = field(default_factory=dict)
    percent: int | None = None
    places_in_use: int | None = None
    status: str = Status.NOT_STARTED
    risks: list[str] = field(default_factory=list)
    # The facility's parcel data, when it has a parcel record: then the stages "land parcel
    # allocated" and "engineering infrastructure" are derived from it (tracking.lifecycle).
    parcel: ParcelFacts | None = None

    @property
    def stage_reached(self) -> str:
        reached = [s for s in STAGE_ORDER if s in self.reached]
        return reached[-1] if reached else "none"


def _evaluate(state: FacilityState, as_of: date) -> None:
    done_on = state.reached.get(state.target_stage)
    if done_on is not None:
        state.status = Status.DONE_ON_TIME if done_on <= state.deadline else Status.DONE_LATE
        return
    if as_of > state.deadline:
        state.status = Status.OVERDUE
        return
    target_kind = "expertise" if state.target_stage == Stage.EXPERTISE else "acceptance"
    for rule in RISK_RULES:
        if rule.target in ("any", target_kind) and rule.stage not in state.reached:
            if as_of >= months_before(state.deadline, rule.months):
                state.risks.append(rule.code)
    for stage, planned in state.planned.items():
        if stage not in state.reached and planned + timedelta(days=SLIP_DAYS) < as_of:
            state.risks.append("slipped")
            break
    if state.risks:
        state.status = Status.AT_RISK
    elif not state.reached:
        state.status = Status.NOT_STARTED
    else:
        state.status = Status.ON_TRACK


def facility_states_as_of(
    *,
    as_of: date,
    facility_ids=None,
    known_at: date | datetime | None = None,
    region_ids=None,
) -> dict[int, FacilityState]:
    """State of facilities as of `as_of` (events dated ≤ as_of and recorded by the end of `known_at`).

    `facility_ids=None` means every facility of the approved plans. Three queries.
    """
    cutoff = knowledge_cutoff(known_at if known_at is not None else as_of)
    qs = Facility.objects.all()
    if facility_ids is None:
        qs = qs.filter(tracking__in_plan=True)
    else:
        qs = qs.filter(id__in=list(facility_ids))
    if region_ids is not None:
        qs = qs.filter(region_id__in=list(region_ids))
    rows = qs.values(
        "id",
        "measure_id",
        "region_id",
        "places",
        "measure__deadline_end",
        "measure__quota__target_stage",
        "tracking__id",
        "tracking__executor",
        "tracking__overdue_reason",
    )
    states: dict[int, FacilityState] = {}
    by_tracked: dict[int, FacilityState] = {}
    for row in rows:
        state = FacilityState(
            facility_id=row["id"],
            measure_id=row["measure_id"],
            region_id=row["region_id"],
            deadline=row["measure__deadline_end"],
            target_stage=TARGET_STAGE.get(row["measure__quota__target_stage"] or "acceptance"),
            places=row["places"],
            executor=row["tracking__executor"] or "",
            overdue_reason=row["tracking__overdue_reason"] or "",
        )
        states[row["id"]] = state
        if row["tracking__id"]:
            by_tracked[row["tracking__id"]] = state
    if by_tracked:
        records = StageRecord.objects.filter(recorded_at__lt=cutoff)
        if facility_ids is None and region_ids is None:
            records = records.filter(tracked__in_plan=True)
        else:
            records = records.filter(tracked_id__in=list(by_tracked))
        latest = (
            records.exclude(stage=Stage.CONSTRUCTION_PROGRESS)
            .order_by("tracked_id", "stage", "-recorded_at", "-id")
            .distinct("tracked_id", "stage")
            .values("tracked_id", "stage", "planned_date", "actual_date", "places_in_use", "executor")
        )
        for rec in latest:
            state = by_tracked.get(rec["tracked_id"])
            if state is None:
                continue
            if rec["actual_date"] is not None and rec["actual_date"] <= as_of:
                state.reached[rec["stage"]] = rec["actual_date"]
                if rec["stage"] == Stage.OPENED:
                    state.places_in_use = rec["places_in_use"]
            elif rec["planned_date"] is not None:
                state.planned[rec["stage"]] = rec["planned_date"]
            if rec["executor"]:
                state.executor = state.executor or rec["executor"]
        progress = (
            records.filter(stage=Stage.CONSTRUCTION_PROGRESS, actual_date__lte=as_of)
            .order_by("tracked_id", "actual_date", "recorded_at")
            .values("tracked_id", "actual_date", "percent")
        )
        for rec in progress:
            state = by_tracked.get(rec["tracked_id"])
            if state is None:
                continue
            state.reached.setdefault(Stage.CONSTRUCTION_PROGRESS, rec["actual_date"])
            state.percent = rec["percent"]
    _derived_stages_apply(states, as_of=as_of, cutoff=cutoff)
    for state in states.values():
        _evaluate(state, as_of)
    return states


def _derived_stages_apply(states: dict[int, FacilityState], *, as_of: date, cutoff: datetime) -> None:
    """Where a facility had a parcel record at `cutoff`, its parcel and infrastructure stages are the
    parcel data's (tracking.lifecycle), whatever stage records were entered by hand before."""
    if not states:
        return
    for facility_id, facts in parcel_facts_as_of(facility_ids=states, as_of=as_of, cutoff=cutoff).items():
        state = states[facility_id]
        state.parcel = facts
        for stage in DERIVED_STAGES:
            state.reached.pop(stage, None)
            state.planned.pop(stage, None)
        state.reached.update(facts.reached())
        if facts.infrastructure_on is None and facts.infrastructure_planned is not None:
            state.planned[Stage.INFRASTRUCTURE] = facts.infrastructure_planned


def facility_statuses_as_of(*, as_of: date, facility_ids=None, known_at=None) -> dict[int, str]:
    """{facility id: status code} as of `as_of` (codes: done_on_time, done_late, on_track, at_risk,
    overdue, not_started). Stable API for maps and other apps."""
    return {
        fid: s.status
        for fid, s in facility_states_as_of(as_of=as_of, facility_ids=facility_ids, known_at=known_at).items()
    }


def facility_stage_reached(*, as_of: date, facility_ids=None, known_at=None) -> dict[int, str]:
    """{facility id: code of the furthest stage reached as of `as_of`} ("none" when none)."""
    return {
        fid: s.stage_reached
        for fid, s in facility_states_as_of(as_of=as_of, facility_ids=facility_ids, known_at=known_at).items()
    }


# --- plans -------------------------------------------------------------------------------------------


def plan_list():
    return Plan.objects.select_related("plan_measure").order_by("plan_measure_id", "-version")


# Sort keys the API offers (name -> column); anything else is refused before it reaches the ORM.
PLAN_ORDERING = {
    "id": "id",
    "version": "version",
    "plan_measure": "plan_measure_id",
    "created_at": "created_at",
    "approved_at": "approved_at",
}
STAGE_RECORD_ORDERING = {"recorded_at": "recorded_at", "id": "id"}


def _ordered(queryset: QuerySet, *, ordering: str, allowed: dict[str, str]) -> QuerySet:
    """`ordering` is a key of `allowed`, '-' first for descending; the id breaks ties so pages are stable."""
    descending = ordering.startswith("-")
    column = allowed[ordering.removeprefix("-")]
    return queryset.order_by(("-" if descending else "") + column, "-id" if descending else "id")


def plan_items_visible(*, user, region_kato: str | None = None, year: int | None = None) -> QuerySet[PlanItem]:
    """Rows of consolidated plans `user` may view (akimat users: their own region's), optionally one region/year."""
    items = scope_queryset(user, PlanItem.objects.all(), action=Action.VIEW)
    if region_kato is not None:
        items = items.filter(region__kato=region_kato)
    if year is not None:
        items = items.filter(year=year)
    return items


def _per_plan(items: QuerySet[PlanItem], aggregate) -> Coalesce:
    """A correlated subquery: `aggregate` over the rows of `items` that belong to the outer plan."""
    per_plan = items.filter(plan=OuterRef("pk")).order_by().values("plan").annotate(value=aggregate).values("value")
    return Coalesce(Subquery(per_plan[:1]), 0)


def _plans_visible(*, user, items: QuerySet[PlanItem]) -> QuerySet[Plan]:
    # Plans are the ministry's national records: every role reads them (as on the plans page);
    # their rows are region-bound, so the counts cover only the rows `user` may view.
    if not user_has_role(user):
        return Plan.objects.none()
    return Plan.objects.annotate(
        items_count=_per_plan(items, Count("id")),
        objects_count=_per_plan(items, Sum("count")),
        ppp_objects_count=_per_plan(items, Sum("ppp_count")),
    )


def plan_list_visible(
    *,
    user,
    plan_measure: int | None = None,
    status: str | None = None,
    region_kato: str | None = None,
    year: int | None = None,
    ordering: str = "id",
) -> QuerySet[Plan]:
    """Plans `user` may view with the number of rows, objects and PPP objects they may see in each.

    A region or year filter keeps the plans that have such rows (and counts only those). One query.
    """
    items = plan_items_visible(user=user, region_kato=region_kato, year=year)
    plans = _plans_visible(user=user, items=items)
    if plan_measure is not None:
        plans = plans.filter(plan_measure_id=plan_measure)
    if status is not None:
        plans = plans.filter(status=status)
    if region_kato is not None or year is not None:
        plans = plans.filter(Exists(items.filter(plan=OuterRef("pk"))))
    return _ordered(plans, ordering=ordering, allowed=PLAN_ORDERING)


def plan_get_visible(*, user, plan_id: int, region_kato: str | None = None, year: int | None = None) -> Plan | None:
    """One plan with its rows `user` may view (optionally one region/year) in `visible_items`. Two queries."""
    items = plan_items_visible(user=user, region_kato=region_kato, year=year)
    rows = items.select_related("region", "district").order_by("measure_id", "region__kato", "year", "id")
    return (
        _plans_visible(user=user, items=items)
        .filter(pk=plan_id)
        .prefetch_related(Prefetch("items", queryset=rows, to_attr="visible_items"))
        .first()
    )


def stage_record_list_visible(
    *,
    user,
    facility_id: int | None = None,
    region_kato: str | None = None,
    measure: int | None = None,
    stage: str | None = None,
    recorded_since: datetime | None = None,
    ordering: str = "recorded_at",
) -> QuerySet[StageRecord]:
    """Stage records of the facilities `user` may view (akimat users: their own region's), one query per page.

    The facility, region, measure and demo flag come as annotations (no joined model instances).
    """
    records = scope_queryset(
        user, StageRecord.objects.all(), region_field="tracked__facility__region", action=Action.VIEW
    )
    if facility_id is not None:
        records = records.filter(tracked__facility_id=facility_id)
    if region_kato is not None:
        records = records.filter(tracked__facility__region__kato=region_kato)
    if measure is not None:
        records = records.filter(tracked__facility__measure_id=measure)
    if stage is not None:
        records = records.filter(stage=stage)
    if recorded_since is not None:
        records = records.filter(recorded_at__gte=recorded_since)
    records = records.annotate(
        facility_pk=F("tracked__facility_id"),
        region_kato=F("tracked__facility__region__kato"),
        measure_number=F("tracked__facility__measure_id"),
        tracked_is_demo=F("tracked__is_demo"),
        has_doc_file=ExpressionWrapper(~Q(doc_file=""), output_field=BooleanField()),
        has_photo=ExpressionWrapper(~Q(photo=""), output_field=BooleanField()),
    )
    return _ordered(records, ordering=ordering, allowed=STAGE_RECORD_ORDERING)


# --- non-construction measures ---------------------------------------------------------------------


@dataclass
class MeasureState:
    measure: Measure
    region: Region | None
    period_end: date | None
    due: date
    status: str
    doc_kind: str = ""
    doc_number: str = ""
    doc_date: date | None = None
    executor: str = ""
    record_id: int | None = None


def measure11_periods() -> list[date]:
    """Half-year ends of measure 11's June/December reports over 2024–2026."""
    return [date(y, m, calendar.monthrange(y, m)[1]) for y in (2024, 2025, 2026) for m in (6, 12)]


def measure_states_as_of(*, as_of: date, known_at=None, region_id: int | None = None) -> list[MeasureState]:
    """Status of the non-construction measures (1–4, 7–11) as of `as_of`.

    Measures whose responsible bodies include the akimats (ЖАО) are tracked per
    region; the others nationally. Measure 11 has one row per region and half-year.
    """
    cutoff = knowledge_cutoff(known_at if known_at is not None else as_of)
    measures = list(Measure.objects.filter(number__in=NON_CONSTRUCTION_MEASURES).prefetch_related("responsible"))
    regions = list(Region.objects.order_by("kato"))
    if region_id is not None:
        regions = [r for r in regions if r.id == region_id]
    latest = {}
    for rec in (
        MeasureRecord.objects.filter(recorded_at__lt=cutoff)
        .order_by("measure_id", "region_id", "period_end", "-recorded_at", "-id")
        .distinct("measure_id", "region_id", "period_end")
    ):
        latest[(rec.measure_id, rec.region_id, rec.period_end)] = rec
    out: list[MeasureState] = []
    for measure in measures:
        regional = any(b.code == "ЖАО" for b in measure.responsible.all())
        scopes = regions if regional else ([None] if region_id is None else [])
        periods = measure11_periods() if measure.number == 11 else [None]
        for region in scopes:
            for period in periods:
                due = period or measure.deadline_end
                rec = latest.get((measure.number, region.id if region else None, period))
                done = rec is not None and rec.status == MeasureRecord.Status.DONE and rec.doc_date <= as_of
                if done:
                    status = Status.DONE_ON_TIME if rec.doc_date <= due else Status.DONE_LATE
                elif as_of > due:
                    status = Status.OVERDUE
                elif rec is not None:
                    status = Status.ON_TRACK
                else:
                    status = Status.NOT_STARTED
                out.append(
                    MeasureState(
                        measure=measure,
                        region=region,
                        period_end=period,
                        due=due,
                        status=status,
                        doc_kind=measure.completion_form_code,
                        doc_number=rec.doc_number if done else "",
                        doc_date=rec.doc_date if done else None,
                        executor=rec.executor if rec else "",
                        record_id=rec.id if rec else None,
                    )
                )
    return out


# --- dashboards ------------------------------------------------------------------------------------


def status_matrix(*, states: dict[int, FacilityState]) -> dict[tuple[int, int], Counter]:
    """{(region id, measure number): Counter(status)}."""
    matrix: dict[tuple[int, int], Counter] = defaultdict(Counter)
    for s in states.values():
        matrix[(s.region_id, s.measure_id)][s.status] += 1
    return matrix


def progress_series(*, until: date, start: date = date(2024, 1, 31), region_ids=None) -> list[dict]:
    """Month-end counts of done / at-risk / overdue facilities and the cumulative number due by then.

    Each point is evaluated with the knowledge of its own date (3 queries per month).
    """
    points = []
    day = start
    facilities = Facility.objects.filter(tracking__in_plan=True)
    if region_ids is not None:
        facilities = facilities.filter(region_id__in=list(region_ids))
    deadlines = list(facilities.values_list("measure__deadline_end", flat=True))
    while day <= until:
        counts = Counter(s.status for s in facility_states_as_of(as_of=day, region_ids=region_ids).values())
        points.append(
            {
                "date": day,
                "done": counts[Status.DONE_ON_TIME] + counts[Status.DONE_LATE],
                "at_risk": counts[Status.AT_RISK],
                "overdue": counts[Status.OVERDUE],
                "due": sum(1 for d in deadlines if d <= day),
            }
        )
        year, month = divmod(day.year * 12 + day.month, 12)
        day = date(year, month + 1, calendar.monthrange(year, month + 1)[1])
    return points


# --- KPI -------------------------------------------------------------------------------------------

RECREATION_MEASURES = range(14, 18)
EDUCATION_MEASURES = range(18, 27)


@dataclass
class Population:
    value: int
    year: int
    is_official: bool
    source: str
    note: str


def school_age_population(*, year: int) -> dict[int | None, Population]:
    """School-age (6–17) population by region id (None = national sum) for the latest year ≤ `year`.

    Official figures win over estimates for the same region and year.
    """
    rows = PopulationFigure.objects.filter(
        district__isnull=True, indicator=PopulationFigure.Indicator.SCHOOL_AGE_6_17, year__lte=year
    ).order_by("region_id", "-year", "-is_official")
    out: dict[int | None, Population] = {}
    for row in rows:
        if row.region_id not in out:
            out[row.region_id] = Population(row.value, row.year, row.is_official, row.source, row.note)
    if out:
        out[None] = Population(
            value=sum(p.value for p in out.values()),
            year=max(p.year for p in out.values()),
            is_official=all(p.is_official for p in out.values()),
            source="; ".join(sorted({p.source for p in out.values()})),
            note="",
        )
    return out


class PopulationLevel:
    """Which population the estimate divides by: the region's figure, or the national sum of them."""

    NATIONAL = "national"
    REGION = "region"


POPULATION_LEVEL_LABELS = {
    PopulationLevel.NATIONAL: _("national (sum of the regions' figures)"),
    PopulationLevel.REGION: _("region"),
}


@dataclass
class Measured:
    """A KPI value as measured and reported by the ministry for a half-year."""

    value: float
    period_end: date
    source: str
    source_date: date
    is_demo: bool = False


def kpi_measured_as_of(
    *, as_of: date, known_at: date | datetime | None = None
) -> dict[tuple[str, int | None], Measured]:
    """{(indicator code, region id or None): the latest measured value of a half-year ended by `as_of`}.

    Values as they stood at the knowledge cut-off (entered by the end of `known_at`, default `as_of`):
    read from the history of the measurements, so a later correction does not change a past report.
    """
    cutoff = knowledge_cutoff(known_at if known_at is not None else as_of)
    events = KpiMeasurement.pgh_event_model.objects
    deleted = set(events.filter(pgh_label="delete", pgh_created_at__lt=cutoff).values_list("pgh_obj_id", flat=True))
    latest = (
        events.filter(pgh_label__in=["insert", "update"], entered_at__lt=cutoff, period_end__lte=as_of)
        .order_by("pgh_obj_id", "-pgh_id")
        .distinct("pgh_obj_id")
    )
    out: dict[tuple[str, int | None], Measured] = {}
    for row in latest:
        if row.pgh_obj_id in deleted:
            continue
        key = (row.indicator_id, row.region_id)
        if key not in out or out[key].period_end < row.period_end:
            out[key] = Measured(
                value=float(row.value),
                period_end=row.period_end,
                source=row.source,
                source_date=row.source_date,
                is_demo=row.is_demo,
            )
    return out


def kpi_measurement_list() -> QuerySet[KpiMeasurement]:
    """Every measured KPI value, newest half-year first (the ministry's entry page)."""
    return KpiMeasurement.objects.select_related("indicator", "region", "entered_by").order_by(
        "-period_end", "indicator_id", "region__kato"
    )


@dataclass
class KpiRow:
    code: str
    name: str
    region: Region | None
    places: int  # places in use of the roadmap's open facilities
    population: Population | None
    added_pp: float | None  # ESTIMATE: percentage points contributed by the roadmap's open facilities
    baseline: float | None
    value: float | None  # ESTIMATE: baseline + added (national only)
    target: float | None
    children: int = 0  # ESTIMATE: children served a year = places × children per place a year (by kind)
    population_level: str = PopulationLevel.NATIONAL
    measured: Measured | None = None  # as reported by the ministry; None = not reported

    @property
    def population_level_label(self) -> str:
        return str(POPULATION_LEVEL_LABELS[self.population_level])


def kpi_kinds() -> list:
    """Facility kinds with their children per place a year (the estimate's multiplier) and its basis."""
    return list(FacilityKind.objects.order_by("code"))


def kpi_as_of(
    *, as_of: date, states: dict[int, FacilityState] | None = None, known_at: date | datetime | None = None
) -> list[KpiRow]:
    """Coverage KPIs: the target, the value measured by the ministry, and the roadmap's estimated contribution.

    Estimate (shown on the pages, always labelled): children served a year = places in use of the
    roadmap's open facilities × children per place a year of the facility's kind (shifts: data on
    FacilityKind, with its basis); contribution = those children as a share of the school-age
    population of the row's level (the region's figure; nationally the sum of the regions').
    Nationally the estimated value is the order's 2023 baseline + that contribution. The measured value
    is the latest the ministry reported for a half-year ended by `as_of` (kpi_measured_as_of).
    """
    states = states if states is not None else facility_states_as_of(as_of=as_of, known_at=known_at)
    population = school_age_population(year=as_of.year)
    measured = kpi_measured_as_of(as_of=as_of, known_at=known_at)
    indicators = {k.code: k for k in KpiIndicator.objects.prefetch_related("targets")}
    regions = list(Region.objects.order_by("kato"))
    opened = [s for s in states.values() if Stage.OPENED in s.reached]
    shifts = dict(
        Facility.objects.filter(id__in=[s.facility_id for s in opened]).values_list("id", "kind__shifts_per_year")
    )
    out: list[KpiRow] = []
    for code, measures in (
        ("recreation_coverage", RECREATION_MEASURES),
        ("additional_education_coverage", EDUCATION_MEASURES),
    ):
        indicator = indicators.get(code)
        if indicator is None:
            continue
        targets = {t.year: float(t.value) for t in indicator.targets.all()}
        places_by_region: Counter = Counter()
        children_by_region: Counter = Counter()
        for s in opened:
            if s.measure_id in measures:
                places = s.places_in_use or s.places
                places_by_region[s.region_id] += places
                children_by_region[s.region_id] += places * shifts.get(s.facility_id, 1)
        for region in [None, *regions]:
            region_id = region.id if region else None
            places = sum(places_by_region.values()) if region is None else places_by_region[region.id]
            children = sum(children_by_region.values()) if region is None else children_by_region[region.id]
            pop = population.get(region_id)
            added = round(100.0 * children / pop.value, 3) if pop and pop.value else None
            baseline = float(indicator.baseline) if region is None else None
            out.append(
                KpiRow(
                    code=code,
                    name=indicator.name,
                    region=region,
                    places=places,
                    population=pop,
                    added_pp=added,
                    baseline=baseline,
                    value=round(baseline + added, 2) if baseline is not None and added is not None else None,
                    target=targets.get(as_of.year) if region is None else None,
                    children=children,
                    population_level=PopulationLevel.NATIONAL if region is None else PopulationLevel.REGION,
                    measured=measured.get((code, region_id)),
                )
            )
    return out


def kpi_targets() -> dict[str, dict[int, float]]:
    out = {}
    for k in KpiIndicator.objects.prefetch_related("targets"):
        out[k.code] = {k.baseline_year: float(k.baseline), **{t.year: float(t.value) for t in k.targets.all()}}
    return out


# --- reminders -------------------------------------------------------------------------------------


@dataclass
class Reminder:
    due: date
    what: str
    region: Region | None
    facility_id: int | None = None


def report_due_dates(*, start: date, end: date) -> list[tuple[date, str]]:
    """Report due dates of the order's clauses 2 and 3 between start and end: (due, 'executor'|'ministry')."""
    out = []
    for year in range(start.year, end.year + 1):
        for due, who in (
            (date(year, 1, 5), "executor"),
            (date(year, 7, 5), "executor"),
            (date(year, 1, 20), "ministry"),
            (date(year, 7, 20), "ministry"),
        ):
            if start <= due <= end:
                out.append((due, who))
    return sorted(out)


def reminders_for(*, region_ids: list[int] | None, is_ministry: bool, today: date, days: int = 60) -> list[Reminder]:
    """What falls due within `days` from `today`: facility deadlines and planned stages, measure
    deadlines and reports. `region_ids=None` means all regions (ministry users)."""
    end = today + timedelta(days=days)
    states = facility_states_as_of(as_of=today, known_at=timezone.now(), region_ids=region_ids)
    names = dict(Facility.objects.filter(id__in=list(states)).values_list("id", "name_" + current_language()))
    regions = {r.id: r for r in Region.objects.all()}
    out: list[Reminder] = []
    for s in states.values():
        if s.status in DONE_STATUSES:
            continue
        if today <= s.deadline <= end:
            out.append(
                Reminder(
                    s.deadline,
                    _("deadline: %(name)s") % {"name": names.get(s.facility_id, "")},
                    regions.get(s.region_id),
                    s.facility_id,
                )
            )
        for stage, planned in s.planned.items():
            if today <= planned <= end:
                out.append(
                    Reminder(
                        planned,
                        _("planned stage “%(stage)s”: %(name)s")
                        % {"stage": Stage(stage).label, "name": names.get(s.facility_id, "")},
                        regions.get(s.region_id),
                        s.facility_id,
                    )
                )
        if s.status == Status.OVERDUE:
            out.append(
                Reminder(
                    today,
                    _("overdue since %(d)s: %(name)s") % {"d": s.deadline, "name": names.get(s.facility_id, "")},
                    regions.get(s.region_id),
                    s.facility_id,
                )
            )
    for ms in measure_states_as_of(as_of=today, known_at=timezone.now()):
        if ms.status in DONE_STATUSES:
            continue
        if ms.region is None and not is_ministry:
            continue
        if ms.region is not None and region_ids is not None and ms.region.id not in region_ids:
            continue
        if today <= ms.due <= end:
            out.append(Reminder(ms.due, _("measure %(n)s is due") % {"n": ms.measure.number}, ms.region))
    out.extend(_parcel_infrastructure_reminders(states=states, today=today, end=end))
    for due, who in report_due_dates(start=today, end=end):
        if who == "executor":
            out.append(Reminder(due, _("semi-annual executor report is due (order, clause 2)"), None))
        elif is_ministry:
            out.append(Reminder(due, _("consolidated report to the Government is due (order, clause 3)"), None))
    return sorted(out, key=lambda r: (r.due, str(r.what)))


MEASURE5_DUE_TEXT = _("measure 5 is due: %(n)s of %(total)s facilities without a land-use act")
MEASURE5_OVERDUE_TEXT = _("measure 5 overdue since %(d)s: %(n)s of %(total)s facilities without a land-use act")
MEASURE6_DUE_TEXT = _("measure 6 is due: %(n)s of %(total)s required utility links not connected")
MEASURE6_OVERDUE_TEXT = _("measure 6 overdue since %(d)s: %(n)s of %(total)s required utility links not connected")


def _parcel_infrastructure_reminders(*, states: dict[int, FacilityState], today: date, end: date) -> list[Reminder]:
    """Per region: measure 5 or 6 falling due by `end` with work left, or past its deadline with work left."""
    out = []
    compliance = (
        (PARCEL_MEASURE, measure5_compliance, MEASURE5_DUE_TEXT, MEASURE5_OVERDUE_TEXT),
        (INFRASTRUCTURE_MEASURE, measure6_compliance, MEASURE6_DUE_TEXT, MEASURE6_OVERDUE_TEXT),
    )
    for number, build, due_text, overdue_text in compliance:
        deadline = Measure.objects.values_list("deadline_end", flat=True).get(number=number)
        by_region: dict[int, list[int]] = {}
        regions = {}
        for row in build(as_of=today, states=states):
            totals = by_region.setdefault(row.region.id, [0, 0])
            totals[0] += row.not_done
            totals[1] += row.total
            regions[row.region.id] = row.region
        for region_id, (left, total) in sorted(by_region.items(), key=lambda kv: regions[kv[0]].kato):
            if not left:
                continue
            if today <= deadline <= end:
                out.append(Reminder(deadline, due_text % {"n": left, "total": total}, regions[region_id]))
            elif today > deadline:
                out.append(
                    Reminder(today, overdue_text % {"d": deadline, "n": left, "total": total}, regions[region_id])
                )
    return out


def population_figures():
    return (
        PopulationFigure.objects.filter(district__isnull=True)
        .select_related("region")
        .filter(
            Q(indicator=PopulationFigure.Indicator.SCHOOL_AGE_6_17)
            | Q(indicator=PopulationFigure.Indicator.TOTAL, year__gte=2020)
            | Q(indicator=PopulationFigure.Indicator.CHILDREN_0_15)
        )
        .order_by("indicator", "region__kato", "year")
    )


def tracked_facility_changes(*, tracked_id: int, limit: int = 30) -> list[dict]:
    """pghistory events of a tracked facility where the executor or the reason for delay changed."""
    event_model = TrackedFacility.pgh_event_models["update"]
    events = list(
        event_model.objects.filter(pgh_obj_id=tracked_id)
        .order_by("pgh_created_at", "pgh_id")
        .values("pgh_created_at", "pgh_label", "executor", "overdue_reason", "version", "pgh_context__metadata")
    )
    out, previous = [], None
    for e in events:
        key = (e["executor"], e["overdue_reason"])
        if key != previous:
            user = (e["pgh_context__metadata"] or {}).get("user")
            out.append({**e, "user": user})
        previous = key
    return out[-limit:][::-1]


# --- history of plans and stage records (restore: tracking.services.restore) -----------------------


def plan_history_head(*, plan: Plan) -> str:
    """The optimistic lock of a plan and its rows: the newest event of each ("plan-rows").

    A restore form carries the head it was shown with; any write of the plan or of a row since
    (page, admin, API, QuerySet.update) changes it.
    """
    plan_head = history_head(plan.events.all())  # type: ignore[attr-defined]
    rows_head = history_head(PlanItem.pgh_event_model.objects.filter(plan_id=plan.pk))  # type: ignore[attr-defined]
    return f"{plan_head}-{rows_head}"


def stage_record_is_current(*, event, latest_events: dict[int, int], latest_records: dict[str, int]) -> bool:
    """Is `event` what the facility's records state today: the newest event of a record that still
    exists and is the latest record of its stage? (`latest_events`: record id → newest event id of
    the existing records; `latest_records`: stage → id of its latest record.)"""
    return latest_events.get(event.pgh_obj_id) == event.pgh_id and latest_records.get(event.stage) == event.pgh_obj_id


def stage_record_latest(*, tracked_id: int) -> tuple[dict[int, int], dict[str, int]]:
    """(record id → newest event id, stage → latest record id) of a tracked facility's existing records."""
    records = list(
        StageRecord.objects.filter(tracked_id=tracked_id).order_by("stage", "-recorded_at", "-id").values("id", "stage")
    )
    latest_records: dict[str, int] = {}
    for row in records:
        latest_records.setdefault(row["stage"], row["id"])
    latest_events = dict(
        StageRecord.pgh_event_model.objects.filter(pgh_obj_id__in=[r["id"] for r in records])  # type: ignore[attr-defined]
        .order_by("pgh_obj_id", "-pgh_id")
        .distinct("pgh_obj_id")
        .values_list("pgh_obj_id", "pgh_id")
    )
    return latest_events, latest_records


def plan_history(*, plan: Plan, limit: int = 100) -> dict:
    """The plan's events and its rows' events (newest first, each with `.who` and `.restorable`) and
    the head the restore forms carry. Nothing is restorable once the plan is approved (frozen)."""
    editable = plan.status in (Plan.Status.DRAFT, Plan.Status.CHECKED)
    plan_events = history_with_users(
        list(plan.events.select_related("pgh_context").order_by("-pgh_id")[:limit])  # type: ignore[attr-defined]
    )
    newest = plan_events[0].pgh_id if plan_events else None
    for event in plan_events:
        event.restorable = editable and event.pgh_id != newest
    row_events = history_with_users(
        list(
            PlanItem.pgh_event_model.objects.filter(plan_id=plan.pk)  # type: ignore[attr-defined]
            .select_related("pgh_context", "region", "district")
            # The names only: the boundaries are large and not shown.
            .defer(*(f"{rel}__{name}" for rel in ("region", "district") for name in ("geom", "geom_geojson")))
            .order_by("-pgh_id")[:limit]
        )
    )
    existing = set(plan.items.values_list("pk", flat=True))
    newest_of_row: dict[int, int] = {}
    for event in row_events:
        newest_of_row.setdefault(event.pgh_obj_id, event.pgh_id)
    for event in row_events:
        # An existing row's newest event is the row as it stands; everything else can come back.
        event.restorable = editable and not (
            event.pgh_obj_id in existing and newest_of_row[event.pgh_obj_id] == event.pgh_id
        )
    return {"plan_events": plan_events, "row_events": row_events, "head": plan_history_head(plan=plan)}


def stage_record_history(*, tracked: TrackedFacility, limit: int = 200) -> list:
    """Events of a tracked facility's stage records (newest first) with `.who` and `.restorable`:
    not the stage's current record, and not a parcel/infrastructure stage decided by a parcel."""
    events = history_with_users(
        list(
            StageRecord.pgh_event_model.objects.filter(tracked_id=tracked.pk)  # type: ignore[attr-defined]
            .select_related("pgh_context")
            .order_by("-pgh_id")[:limit]
        )
    )
    derived_locked = facility_has_parcel(facility_id=tracked.facility_id)
    latest_events, latest_records = stage_record_latest(tracked_id=tracked.pk)
    for event in events:
        event.restorable = not (event.stage in DERIVED_STAGES and derived_locked) and not stage_record_is_current(
            event=event, latest_events=latest_events, latest_records=latest_records
        )
    return events


# --- measures 5, 6, 12 and 13: land parcels, infrastructure, consolidated plans ------------------------
#
# These four measures have no record of their own: they are read from the facts the portal already
# keeps (the parcels' land-use acts, the utility links' connections, the plans' approvals), as of a
# date and as known at a cut-off, from history, like the facilities' stages.

PARCEL_MEASURE = 5
INFRASTRUCTURE_MEASURE = 6


@dataclass
class ComplianceCounts:
    """How many units of a measure (facilities, links, plans) are in each state as of a date."""

    total: int = 0
    on_time: int = 0  # done by the measure's deadline
    late: int = 0  # done, after the deadline
    statuses: Counter = field(default_factory=Counter)  # status of each unit (Status codes)

    @property
    def not_done(self) -> int:
        return self.total - self.on_time - self.late

    @property
    def status(self) -> str:
        return rollup_status(self.statuses)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, "—")

    @classmethod
    def summed(cls, rows) -> ComplianceCounts:
        total = cls()
        for row in rows:
            total.total += row.total
            total.on_time += row.on_time
            total.late += row.late
            total.statuses.update(row.statuses)
        return total

    def add(self, status: str) -> None:
        self.total += 1
        self.on_time += status == Status.DONE_ON_TIME
        self.late += status == Status.DONE_LATE
        self.statuses[status] += 1


def rollup_status(statuses: Counter) -> str:
    """One status for many units: overdue or at risk if any is; done (late if any was) when all are;
    not started when none has started; else on track. "" when there is nothing to count."""
    total = sum(statuses.values())
    if not total:
        return ""
    for worst in (Status.OVERDUE, Status.AT_RISK):
        if statuses[worst]:
            return worst
    done = statuses[Status.DONE_ON_TIME] + statuses[Status.DONE_LATE]
    if done == total:
        return Status.DONE_LATE if statuses[Status.DONE_LATE] else Status.DONE_ON_TIME
    if statuses[Status.NOT_STARTED] == total:
        return Status.NOT_STARTED
    return Status.ON_TRACK


def _unit_status(*, done_on: date | None, deadline: date, as_of: date, started: bool) -> str:
    if done_on is not None:
        return Status.DONE_ON_TIME if done_on <= deadline else Status.DONE_LATE
    if as_of > deadline:
        return Status.OVERDUE
    return Status.ON_TRACK if started else Status.NOT_STARTED


@dataclass
class Measure5Row(ComplianceCounts):
    """Measure 5 in one region and district: facilities of the approved plans and their land-use acts."""

    region: Region | None = None
    district: District | None = None


def measure5_compliance(
    *, as_of: date, known_at: date | datetime | None = None, region_ids=None, states=None
) -> list[Measure5Row]:
    """Per region and district (the facility's): facilities of the approved plans, with the land-use act
    (the stage "land parcel allocated": the parcel's act, or the hand-entered stage where no parcel is
    recorded) dated by measure 5's deadline, after it, and without an act as of `as_of`.

    `states` (facility_states_as_of with the same as_of/known_at) saves recomputing them.
    """
    if states is None:
        states = facility_states_as_of(as_of=as_of, known_at=known_at, region_ids=region_ids)
    elif region_ids is not None:
        states = {fid: s for fid, s in states.items() if s.region_id in set(region_ids)}
    deadline = Measure.objects.values_list("deadline_end", flat=True).get(number=PARCEL_MEASURE)
    districts = dict(Facility.objects.filter(id__in=list(states)).values_list("id", "district_id"))
    regions = Region.objects.in_bulk({s.region_id for s in states.values()})
    district_objs = District.objects.in_bulk({d for d in districts.values() if d is not None})
    rows: dict[tuple[int, int | None], Measure5Row] = {}
    for s in states.values():
        district_id = districts.get(s.facility_id)
        key = (s.region_id, district_id)
        if key not in rows:
            rows[key] = Measure5Row(region=regions[s.region_id], district=district_objs.get(district_id))
        started = s.parcel is not None and bool(s.parcel.parcel_id)
        rows[key].add(
            _unit_status(done_on=s.reached.get(Stage.PARCEL), deadline=deadline, as_of=as_of, started=started)
        )
    return sorted(
        rows.values(), key=lambda r: (r.region.kato, r.district is None, r.district.kato if r.district else "")
    )


@dataclass
class Measure6Row(ComplianceCounts):
    """Measure 6 for one utility in one region: the required links of the plan facilities' parcels."""

    utility: Utility | None = None
    region: Region | None = None


def measure6_compliance(
    *, as_of: date, known_at: date | datetime | None = None, region_ids=None, states=None
) -> list[Measure6Row]:
    """Per utility and region: the required links of the current parcels of the approved plans'
    facilities (as recorded by `known_at`), connected by measure 6's deadline (31 Dec 2025), connected
    after it, and not connected as of `as_of`."""
    if states is None:
        states = facility_states_as_of(as_of=as_of, known_at=known_at, region_ids=region_ids)
    elif region_ids is not None:
        states = {fid: s for fid, s in states.items() if s.region_id in set(region_ids)}
    deadline = Measure.objects.values_list("deadline_end", flat=True).get(number=INFRASTRUCTURE_MEASURE)
    utilities = {u.code: u for u in Utility.objects.all()}
    regions = Region.objects.in_bulk({s.region_id for s in states.values()})
    rows: dict[tuple[str, int], Measure6Row] = {}
    for s in states.values():
        if s.parcel is None or s.parcel.parcel_id is None:
            continue
        for link in s.parcel.links:
            if not link.required:
                continue
            key = (link.utility, s.region_id)
            if key not in rows:
                rows[key] = Measure6Row(utility=utilities[link.utility], region=regions[s.region_id])
            started = link.status != LinkStatus.PLANNED
            rows[key].add(_unit_status(done_on=link.connected_on, deadline=deadline, as_of=as_of, started=started))
    return sorted(rows.values(), key=lambda r: (r.utility.sort_order, r.utility.code, r.region.kato))


@dataclass
class PlanInForce:
    """The consolidated plan (measure 12 or 13) in force as of a date, as known at the cut-off."""

    plan_measure: int
    deadline: date
    status: str  # the measure's status: approved by its deadline, late, or overdue
    plan_id: int | None = None
    version: int | None = None
    approved_on: date | None = None
    objects_by_region: dict[int, int] = field(default_factory=dict)

    @property
    def objects(self) -> int:
        return sum(self.objects_by_region.values())


@dataclass
class PlanRegionRow:
    """One region's share of a plan in force (measures 12–13 by region)."""

    plan: PlanInForce
    region: Region
    objects: int


def _history_as_of(event_model, *, cutoff: datetime, filters: Q) -> list:
    """Each object's latest history event recorded before `cutoff`, deleted objects dropped."""
    rows = (
        event_model.objects.filter(filters, pgh_created_at__lt=cutoff)
        .order_by("pgh_obj_id", "-pgh_id")
        .distinct("pgh_obj_id")
    )
    return [row for row in rows if row.pgh_label != "delete"]


def plans_in_force(*, as_of: date, known_at: date | datetime | None = None) -> dict[int, PlanInForce]:
    """{12: …, 13: …}: the plan version whose approval is the latest dated ≤ `as_of` (a version
    superseded later was still in force then), read from the plans' history as known at `known_at`;
    its objects per region from the plan rows' history. Three queries."""
    cutoff = knowledge_cutoff(known_at if known_at is not None else as_of)
    deadlines = dict(Measure.objects.filter(number__in=PLAN_MEASURES).values_list("number", "deadline_end"))
    versions = _history_as_of(Plan.pgh_event_model, cutoff=cutoff, filters=Q())
    out: dict[int, PlanInForce] = {}
    for number in sorted(PLAN_MEASURES):
        approved = [
            p
            for p in versions
            if p.plan_measure_id == number
            and p.status in (Plan.Status.APPROVED, Plan.Status.SUPERSEDED)
            and p.approved_at is not None
            and timezone.localdate(p.approved_at) <= as_of
        ]
        chosen = max(approved, key=lambda p: (p.approved_at, p.version), default=None)
        approved_on = timezone.localdate(chosen.approved_at) if chosen else None
        out[number] = PlanInForce(
            plan_measure=number,
            deadline=deadlines[number],
            status=_unit_status(done_on=approved_on, deadline=deadlines[number], as_of=as_of, started=False),
            plan_id=chosen.pgh_obj_id if chosen else None,
            version=chosen.version if chosen else None,
            approved_on=approved_on,
        )
    chosen_ids = {p.plan_id: p for p in out.values() if p.plan_id is not None}
    if chosen_ids:
        for item in _history_as_of(PlanItem.pgh_event_model, cutoff=cutoff, filters=Q(plan_id__in=list(chosen_ids))):
            objects = chosen_ids[item.plan_id].objects_by_region
            objects[item.region_id] = objects.get(item.region_id, 0) + item.count
    return out


def measures12_13_plans(
    *, as_of: date, known_at: date | datetime | None = None, region_ids=None
) -> tuple[dict[int, PlanInForce], list[PlanRegionRow]]:
    """The plans in force (measures 12, 13) and, per region, the objects each plan gives it (every
    region in scope is listed, with 0 where the plan gives it nothing)."""
    plans = plans_in_force(as_of=as_of, known_at=known_at)
    regions = Region.objects.order_by("kato")
    if region_ids is not None:
        regions = regions.filter(id__in=list(region_ids))
    rows = [
        PlanRegionRow(plan=plan, region=region, objects=plan.objects_by_region.get(region.id, 0))
        for region in regions
        for plan in plans.values()
    ]
    return plans, rows


UNIT_LABELS = {
    "facilities": _("facilities"),
    "links": _("required utility links"),
    "plans": _("consolidated plan"),
    "records": _("records (region / half-year)"),
}


@dataclass
class DerivedMeasure:
    """Measure 5, 6, 12 or 13 in one line: what it counts and how many of them are done."""

    number: int
    unit: str  # "facilities", "links" or "plans"
    counts: ComplianceCounts

    @property
    def unit_label(self) -> str:
        return UNIT_LABELS[self.unit]


def derived_measures_summary(
    *, as_of: date, known_at: date | datetime | None = None, region_ids=None, states=None
) -> tuple[list[DerivedMeasure], list[Measure5Row], list[Measure6Row], list[PlanRegionRow]]:
    """Measures 5, 6, 12 and 13 in one line each, and their detail rows (for the pages)."""
    if states is None:
        states = facility_states_as_of(as_of=as_of, known_at=known_at, region_ids=region_ids)
    rows5 = measure5_compliance(as_of=as_of, region_ids=region_ids, states=states)
    rows6 = measure6_compliance(as_of=as_of, region_ids=region_ids, states=states)
    plans, plan_rows = measures12_13_plans(as_of=as_of, known_at=known_at, region_ids=region_ids)
    summary = []
    for number, unit, rows in ((PARCEL_MEASURE, "facilities", rows5), (INFRASTRUCTURE_MEASURE, "links", rows6)):
        summary.append(DerivedMeasure(number, unit, ComplianceCounts.summed(rows)))
    for number, plan in plans.items():
        counts = ComplianceCounts()
        counts.add(plan.status)
        summary.append(DerivedMeasure(number, "plans", counts))
    return summary, rows5, rows6, plan_rows
