"""Measures 5, 6, 12 and 13, read from the parcels, links and plans as of a date and as known at a cut-off."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db.models import (
    Q,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from facilities.models import Facility, Measure
from layers.models import District, Region
from parcels.models import LinkStatus, Utility
from tracking.models import (
    PLAN_MEASURES,
    Plan,
    PlanItem,
    Stage,
)
from tracking.selectors.states import STATUS_LABELS, Status, facility_states_as_of, knowledge_cutoff

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
