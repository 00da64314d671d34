"""Status of each facility as of a date and as known at a cut-off (stage records, and the parcel data that
decide the parcel and infrastructure stages), with the rules that flag a facility at risk."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from facilities.models import Facility
from tracking.lifecycle import DERIVED_STAGES, ParcelFacts, parcel_facts_as_of
from tracking.models import (
    STAGE_ORDER,
    TARGET_STAGE,
    Stage,
    StageRecord,
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
