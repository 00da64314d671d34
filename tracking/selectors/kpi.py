"""KPI: targets, the measured values the ministry reports, and the roadmap's estimated contribution."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import (
    QuerySet,
)
from django.utils.translation import gettext_lazy as _

from facilities.models import Facility, FacilityKind, KpiIndicator
from layers.models import PopulationFigure, Region
from layers.population import basis_text, population_basis, population_by_region
from tracking.models import (
    KpiMeasurement,
    Stage,
)
from tracking.selectors.states import FacilityState, facility_states_as_of, knowledge_cutoff

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
    basis: dict | None = None  # layers.population.population_basis: which level the figure comes from

    @property
    def level_text(self) -> str:
        """E.g. "district figures for 12 of 17 districts, region figures for the rest (source, date)"."""
        if self.basis is None:
            return ""
        exceeded = self.basis["exceeded"]
        names = {r.kato: r.name for r in Region.objects.filter(kato__in=exceeded)} if exceeded else {}
        return basis_text(self.basis, region_names=names)


def school_age_population(*, year: int) -> dict[int | None, Population]:
    """School-age (6–17) population by region id (None = national sum) for the latest year ≤ `year`.

    District figures where a district has one, the region's figure for the rest of the region (see
    layers.population); official figures win over estimates for the same unit and year.
    """
    indicator = PopulationFigure.Indicator.SCHOOL_AGE_6_17
    by_region = population_by_region(indicator=indicator, year=year)
    out: dict[int | None, Population] = {}
    used = []
    for region_id, pop in sorted(by_region.items()):
        if pop.value is None:
            continue
        used.append(pop)
        basis = population_basis([pop], indicator=indicator)
        out[region_id] = Population(
            value=pop.value,
            year=pop.year,
            is_official=pop.is_official,
            source="; ".join(basis["sources"]),
            note=pop.region.note if pop.region is not None and not pop.complete else "",
            basis=basis,
        )
    if out:
        basis = population_basis(used, indicator=indicator)
        out[None] = Population(
            value=sum(p.value for p in out.values()),
            year=max(p.year for p in out.values()),
            is_official=all(p.is_official for p in out.values()),
            source="; ".join(basis["sources"]),
            note="",
            basis=basis,
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
