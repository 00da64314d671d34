"""The non-construction measures of the order (1–4, 7–11) as of a date, and the dashboards' aggregates."""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

from facilities.models import Facility, Measure
from layers.models import Region
from tracking.models import (
    NON_CONSTRUCTION_MEASURES,
    MeasureRecord,
)
from tracking.selectors.states import FacilityState, Status, facility_states_as_of, knowledge_cutoff

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
