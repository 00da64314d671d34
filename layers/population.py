"""Population figures by level: district figures where a district has one, the region's figure for the rest.

Reads only. A region's population is made of its districts' figures plus, for the districts without one,
the rest of the region: the region's figure minus the districts' sum (never below 0; when the districts'
figures exceed the region's, the region counts the districts' sum and `exceeded` says so). When every
district of the region has a figure, the region is their sum. Figures are people (whole persons) of an
indicator (a named age group, or age bands that together cover its ages exactly) for the latest year on
or before the one asked.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from layers.models import INDICATOR_AGES, District, PopulationFigure, Region


@dataclass(frozen=True)
class Figure:
    """One figure as used: stored, or the sum of the age bands of one year that cover the indicator's ages."""

    value: int
    year: int
    is_official: bool
    source: str
    source_date: date | None
    source_issued: date | None
    note: str = ""

    @property
    def cited(self) -> str:
        """The source with its date (the source document's, else the date the figure refers to, else the year)."""
        when = self.source_issued or self.source_date
        return f"{self.source}, {when.strftime('%d.%m.%Y') if when else self.year}"


def bands_tile(bands: list[tuple[int, int, int]], *, lo: int, hi: int) -> list[tuple[int, int, int]] | None:
    """Age bands (from, to inclusive, value) that together cover the ages lo–hi exactly, without overlap;
    None when no such set exists. Longer bands are tried first."""
    by_start: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for band in bands:
        if lo <= band[0] and band[1] <= hi:
            by_start[band[0]].append(band)
    for start in by_start:
        by_start[start].sort(key=lambda b: -b[1])

    def walk(start: int) -> list[tuple[int, int, int]] | None:
        if start == hi + 1:
            return []
        for band in by_start.get(start, []):
            rest = walk(band[1] + 1)
            if rest is not None:
                return [band, *rest]
        return None

    return walk(lo)


def _pick(rows: list[PopulationFigure], *, indicator: str) -> Figure | None:
    """The figure of one unit (a region or a district) from its rows of years ≤ the year asked: the latest
    year that has the indicator itself (an official figure before an estimate) or age bands covering it."""
    ages = INDICATOR_AGES.get(indicator)
    for year in sorted({r.year for r in rows}, reverse=True):
        of_year = [r for r in rows if r.year == year]
        named = sorted((r for r in of_year if r.indicator == indicator), key=lambda r: not r.is_official)
        if named:
            r = named[0]
            return Figure(r.value, r.year, r.is_official, r.source, r.source_date, r.source_issued, r.note)
        if ages is None:
            continue
        bands = {(r.age_from, r.age_to, r.value): r for r in of_year if r.indicator == PopulationFigure.AGE_BAND}
        tiles = bands_tile(list(bands), lo=ages[0], hi=ages[1])
        if tiles:
            used = [bands[t] for t in tiles]
            issued = [r.source_issued for r in used if r.source_issued]
            return Figure(
                value=sum(r.value for r in used),
                year=year,
                is_official=all(r.is_official for r in used),
                source="; ".join(sorted({r.source for r in used})),
                source_date=used[0].source_date,
                source_issued=max(issued) if issued else None,
                note=_("sum of the age bands %(bands)s") % {"bands": ", ".join(f"{a}–{b}" for a, b, _v in tiles)},
            )
    return None


def _figures(
    *, indicator: str, year: int, district_level: bool, region_ids: list[int] | None, official_only: bool
) -> dict[int, tuple[int, Figure]]:
    """{region or district id: (region id, figure)} of one level."""
    kinds = Q(indicator=indicator)
    if indicator in INDICATOR_AGES:
        kinds |= Q(indicator=PopulationFigure.AGE_BAND)
    qs = PopulationFigure.objects.filter(kinds, year__lte=year, district__isnull=not district_level)
    if official_only:
        qs = qs.filter(is_official=True)
    if region_ids:
        qs = qs.filter(region_id__in=region_ids)
    grouped: dict[int, list[PopulationFigure]] = defaultdict(list)
    region_of: dict[int, int] = {}
    for row in qs:
        key = row.district_id if district_level else row.region_id
        grouped[key].append(row)
        region_of[key] = row.region_id
    out = {}
    for key, rows in grouped.items():
        figure = _pick(rows, indicator=indicator)
        if figure is not None:
            out[key] = (region_of[key], figure)
    return out


def district_figures(
    *, indicator: str, year: int, region_ids: list[int] | None = None, official_only: bool = False
) -> dict[int, Figure]:
    """{district id: its figure of `indicator` for `year` or the closest earlier year}."""
    found = _figures(
        indicator=indicator, year=year, district_level=True, region_ids=region_ids, official_only=official_only
    )
    return {d: figure for d, (_r, figure) in found.items()}


@dataclass
class RegionPopulation:
    """A region's population of one indicator, made of district figures and the region's figure."""

    region_id: int
    kato: str
    region: Figure | None
    district_count: int  # districts of the region in the portal
    districts: dict[int, Figure] = field(default_factory=dict)

    @property
    def district_sum(self) -> int:
        return sum(f.value for f in self.districts.values())

    @property
    def complete(self) -> bool:
        """Every district of the region has its own figure."""
        return bool(self.districts) and len(self.districts) >= self.district_count

    @property
    def exceeded(self) -> bool:
        """The districts' figures add up to more than the region's figure."""
        return self.region is not None and self.district_sum > self.region.value

    @property
    def remainder(self) -> int | None:
        """The districts without a figure: the region's figure minus the districts' sum, never below 0."""
        if self.complete or self.region is None:
            return None
        return max(0, self.region.value - self.district_sum)

    @property
    def value(self) -> int | None:
        """People of the region; None when some districts have no figure and the region has none either."""
        if self.complete:
            return self.district_sum
        if self.region is None:
            return None
        return self.district_sum + (self.remainder or 0)

    @property
    def used(self) -> list[Figure]:
        """The figures the value is made of."""
        figures = list(self.districts.values())
        return figures if self.complete or self.region is None else [*figures, self.region]

    @property
    def is_official(self) -> bool:
        return all(f.is_official for f in self.used)

    @property
    def year(self) -> int | None:
        return max((f.year for f in self.used), default=None)


def population_by_region(
    *, indicator: str, year: int, region_ids: list[int] | None = None, official_only: bool = False
) -> dict[int, RegionPopulation]:
    """{region id: its population of `indicator` by level} for every region with a region or district figure."""
    regions = _figures(
        indicator=indicator, year=year, district_level=False, region_ids=region_ids, official_only=official_only
    )
    districts = _figures(
        indicator=indicator, year=year, district_level=True, region_ids=region_ids, official_only=official_only
    )
    counts = dict(
        District.objects.filter(region_id__in={r for r, _f in districts.values()} | set(regions))
        .values_list("region_id")
        .annotate(n=Count("id"))
        .values_list("region_id", "n")
    )
    katos = dict(
        Region.objects.filter(id__in={r for r, _f in districts.values()} | set(regions)).values_list("id", "kato")
    )
    out = {
        rid: RegionPopulation(region_id=rid, kato=katos[rid], region=figure, district_count=counts.get(rid, 0))
        for rid, (_r, figure) in regions.items()
    }
    for district_id, (rid, figure) in districts.items():
        if rid not in out:
            out[rid] = RegionPopulation(region_id=rid, kato=katos[rid], region=None, district_count=counts.get(rid, 0))
        out[rid].districts[district_id] = figure
    return out


def population_basis(pops: list[RegionPopulation], *, indicator: str) -> dict:
    """Which level the population of `pops` comes from, as plain data (stored with reports and runs):
    districts with their own figure among the districts of these regions, regions whose figure covers
    the rest, regions where the districts' figures exceed the region's, and the sources cited."""
    return {
        "indicator": indicator,
        "districts_with": sum(len(p.districts) for p in pops if p.value is not None),
        "districts": sum(p.district_count for p in pops if p.value is not None),
        "regions_rest": sum(1 for p in pops if p.value is not None and not p.complete),
        "exceeded": sorted(p.kato for p in pops if p.exceeded and p.value is not None),
        "sources": sorted({f.cited for p in pops if p.value is not None for f in p.used}),
    }


def basis_text(basis: dict, *, region_names: dict[str, str] | None = None) -> str:
    """The level in words, e.g. "district figures for 12 of 17 districts, region figures for the rest (…)";
    `region_names` by KATO code name the regions whose districts exceed the region's figure."""
    n, m = basis["districts_with"], basis["districts"]
    sources = "; ".join(basis["sources"])
    if not n:
        text = _("region figures (%(sources)s)") % {"sources": sources}
    elif not basis["regions_rest"]:
        text = ngettext(
            "district figures for all %(m)s district (%(sources)s)",
            "district figures for all %(m)s districts (%(sources)s)",
            m,
        ) % {"m": m, "sources": sources}
    else:
        text = ngettext(
            "district figures for %(n)s of %(m)s district, region figures for the rest (%(sources)s)",
            "district figures for %(n)s of %(m)s districts, region figures for the rest (%(sources)s)",
            m,
        ) % {"n": n, "m": m, "sources": sources}
    if basis["exceeded"]:
        names = ", ".join((region_names or {}).get(r, str(r)) for r in basis["exceeded"])
        text += "; " + _(
            "the district figures add up to more than the region's figure in %(regions)s: there the region "
            "counts the districts' sum and its other districts 0"
        ) % {"regions": names}
    return text
