"""The public progress dashboard: aggregates of the approved plans only, from the planners' selectors.

Counts come from `facility_states_as_of` and `status_matrix` (the planners' dashboard), restricted to
the facilities the public map shows (the facilities collection's public rows: the current approved
plans). KPI values come from `kpi_as_of`, `kpi_targets` and `kpi_measured_as_of`. Nothing here carries a
facility's name, an executor, an overdue reason, a parcel or a cost: only counts and percentages.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from accounts.layer_access import public_rows_apply
from facilities.models import CONSTRUCTION_MEASURES, Facility, Measure
from gis_portal.geo.collections import collection_get
from layers.models import Region
from tracking.models import Stage
from tracking.selectors.kpi import kpi_as_of, kpi_measured_as_of, kpi_targets
from tracking.selectors.measures import status_matrix
from tracking.selectors.states import FacilityState, Status, facility_states_as_of

KPI_CODES = ("recreation_coverage", "additional_education_coverage")


@dataclass(frozen=True)
class ProgressCounts:
    """Facilities of the approved plans by status; `opened` and `done` overlap (see the page's notes)."""

    planned: int = 0
    opened: int = 0  # the "opened" stage reached
    done: int = 0  # the measure's target stage reached (on time or late)
    on_track: int = 0
    not_started: int = 0
    at_risk: int = 0
    overdue: int = 0


def _counts(statuses: Counter, *, opened: int) -> ProgressCounts:
    return ProgressCounts(
        planned=sum(statuses.values()),
        opened=opened,
        done=statuses[Status.DONE_ON_TIME] + statuses[Status.DONE_LATE],
        on_track=statuses[Status.ON_TRACK],
        not_started=statuses[Status.NOT_STARTED],
        at_risk=statuses[Status.AT_RISK],
        overdue=statuses[Status.OVERDUE],
    )


@dataclass(frozen=True)
class KpiYear:
    """One year of a KPI in percent: the order's target (the baseline in 2023), the ESTIMATE at the
    year's end (or at `as_of` in the current year) and the value the ministry measured, when reported."""

    year: int
    target: float | None
    estimate: float | None
    measured: float | None


@dataclass(frozen=True)
class PublicKpi:
    code: str
    name: str
    years: list[KpiYear]
    population_estimated: bool  # the school-age population is the portal's estimate, not an official figure
    measured_demo: bool  # a measured value shown is demo data

    @property
    def has_estimate(self) -> bool:
        """False when no year could be estimated (no school-age population figures for the years)."""
        return any(y.estimate is not None for y in self.years)


@dataclass(frozen=True)
class PublicProgress:
    as_of: date
    total: ProgressCounts
    by_region: list[tuple[Region, ProgressCounts]]
    by_measure: list[tuple[Measure, ProgressCounts]]
    kpis: list[PublicKpi]
    demo_facilities: int  # facilities counted here that are demo data


def public_facility_ids() -> list[int]:
    """Ids of the facilities the public sees (those of the facilities collection's public rows)."""
    qs = public_rows_apply(collection_get("facilities"), Facility.objects.all(), user=None)
    return list(qs.values_list("id", flat=True))


def _public_states(*, as_of: date, ids: list[int]) -> dict[int, FacilityState]:
    return facility_states_as_of(as_of=as_of, facility_ids=ids)


def _kpis(*, as_of: date, ids: list[int], states: dict[int, FacilityState]) -> list[PublicKpi]:
    """The two coverage KPIs year by year against the order's targets (2023 baseline … 2026)."""
    targets = kpi_targets()
    rows_now = kpi_as_of(as_of=as_of, states=states)
    out = []
    for code in KPI_CODES:
        if code not in targets:
            continue
        now = [k for k in rows_now if k.code == code]
        years, measured_demo = [], False
        for year in sorted(targets[code]):
            day = min(date(year, 12, 31), as_of)
            estimate = None
            if year >= 2024 and day.year == year:
                year_states = states if day == as_of else _public_states(as_of=day, ids=ids)
                national = next(
                    (k for k in kpi_as_of(as_of=day, states=year_states) if k.code == code and k.region is None), None
                )
                estimate = national.value if national else None
            reported = kpi_measured_as_of(as_of=day, known_at=as_of).get((code, None))
            measured = reported.value if reported is not None and reported.period_end.year == year else None
            measured_demo = measured_demo or bool(measured is not None and reported.is_demo)
            years.append(KpiYear(year=year, target=targets[code][year], estimate=estimate, measured=measured))
        out.append(
            PublicKpi(
                code=code,
                name=now[0].name if now else code,
                years=years,
                population_estimated=any(k.population and not k.population.is_official for k in now),
                measured_demo=measured_demo,
            )
        )
    return out


def public_progress(*, as_of: date) -> PublicProgress:
    """Per region and per construction measure (14–26): planned, opened, done, on track, not started, at
    risk and overdue facilities of the approved plans as of `as_of`, and the two KPIs by year."""
    ids = public_facility_ids()
    states = _public_states(as_of=as_of, ids=ids)
    matrix = status_matrix(states=states)
    opened = Counter((s.region_id, s.measure_id) for s in states.values() if Stage.OPENED in s.reached)
    by_region_status: dict[int, Counter] = {}
    by_measure_status: dict[int, Counter] = {}
    by_region_opened: Counter = Counter()
    by_measure_opened: Counter = Counter()
    for (region_id, measure_id), statuses in matrix.items():
        by_region_status.setdefault(region_id, Counter()).update(statuses)
        by_measure_status.setdefault(measure_id, Counter()).update(statuses)
        by_region_opened[region_id] += opened[(region_id, measure_id)]
        by_measure_opened[measure_id] += opened[(region_id, measure_id)]
    total = Counter(s.status for s in states.values())
    regions = Region.objects.order_by("kato")
    measures = Measure.objects.filter(number__in=list(CONSTRUCTION_MEASURES)).order_by("number")
    return PublicProgress(
        as_of=as_of,
        total=_counts(total, opened=sum(opened.values())),
        by_region=[(r, _counts(by_region_status.get(r.id, Counter()), opened=by_region_opened[r.id])) for r in regions],
        by_measure=[
            (m, _counts(by_measure_status.get(m.number, Counter()), opened=by_measure_opened[m.number]))
            for m in measures
        ],
        kpis=_kpis(as_of=as_of, ids=ids, states=states),
        demo_facilities=Facility.objects.filter(id__in=list(states), is_demo=True).count(),
    )
