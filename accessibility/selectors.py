"""Reads for the accessibility analysis: inputs (facilities, settlements, zones, official figures) and results.

Geometry leaves PostGIS as WKB in EPSG:4326 and becomes shapely/numpy for
layers.analysis; nothing here loops over rows to do spatial maths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import shapely
from django.contrib.gis.db.models.functions import AsWKB, PointOnSurface
from django.db.models import Case, Count, Max, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_noop

from accessibility.models import AnalysisRun, AreaResult, PointResult, PopulationRaster, SiteResult, ZoneResult
from accessibility.notes import note as make_note
from accessibility.notes import plural_note
from accounts.permissions import Action, can, scope_queryset, user_has_role
from facilities.models import ConstructionQuota, Facility, FacilityKind
from layers.models import District, PopulationFigure, Region, Settlement
from layers.population import district_figures, population_basis, population_by_region
from layers.settlement_selectors import OSM_SOURCE, settlements_counted
from parcels.models import Parcel
from tracking.selectors import facility_stage_reached

# A facility counts as open once it is accepted into operation or opened (tracking stages).
OPEN_STAGES = ("accepted", "opened")


# --- permissions ------------------------------------------------------------------------------------------


def user_can_run(user) -> bool:
    """Planners and administrators run analyses (ministry records), through accounts.permissions."""
    return can(user, Action.PLAN, region_id=None)


def user_can_read(user) -> bool:
    """Any signed-in user with a role reads results (akimat users see their region's rows)."""
    return user_has_role(user)


def run_list(*, user) -> QuerySet:
    if not user_can_read(user):
        return AnalysisRun.objects.none()
    return AnalysisRun.objects.select_related("raster", "created_by").order_by("-created_at", "-id")


def run_get(*, user, run_id: int) -> AnalysisRun | None:
    return run_list(user=user).filter(pk=run_id).first()


def zone_results(*, user, run: AnalysisRun, scenario: str | None = None, level: str = "region") -> QuerySet:
    """Rows of one run: level "region" (region totals), "district", "national", "outside" (the demand outside
    every district, part of the national total) or "all"; scoped to the user (akimat users see only their
    region's rows, not the national total nor the outside row)."""
    qs = ZoneResult.objects.filter(run=run).select_related("region", "district")
    if scenario:
        qs = qs.filter(scenario=scenario)
    if level == "region":
        qs = qs.filter(region__isnull=False, district__isnull=True)
    elif level == "district":
        qs = qs.filter(district__isnull=False)
    elif level == "national":
        qs = qs.filter(region__isnull=True, district__isnull=True, outside=False)
    elif level == "outside":
        qs = qs.filter(outside=True)
    return scope_queryset(user, qs, region_field="region")


def district_table_rows(*, user, run: AnalysisRun) -> QuerySet:
    """The district rows of a run, then per scenario the outside row and the national total, which is their
    sum: what the district table shows (region totals left out, they repeat their districts)."""
    place = Case(When(district__isnull=False, then=Value(0)), When(outside=True, then=Value(1)), default=Value(2))
    rows = zone_results(user=user, run=run, level="all").exclude(region__isnull=False, district__isnull=True)
    return rows.annotate(place=place).order_by("scenario", "place", "region__kato", "district__kato")


def point_results(*, user, run: AnalysisRun) -> QuerySet:
    """Settlement rows of a run as stored, by scenario and settlement; akimat users see their region's."""
    qs = PointResult.objects.filter(run=run).select_related("settlement").order_by("scenario", "settlement_id")
    return scope_queryset(user, qs, region_field="settlement__region")


def site_results(*, user, run: AnalysisRun, selected_only: bool = False) -> QuerySet:
    """Candidate sites of a run; akimat users see their region's (as in the zone tables and the API)."""
    qs = scope_queryset(user, SiteResult.objects.filter(run=run).select_related("region"), region_field="region")
    return qs.filter(selected_order__isnull=False).order_by("selected_order") if selected_only else qs


def area_results(*, user, run: AnalysisRun) -> QuerySet:
    """Underserved hexagons of a run; akimat users see those whose centroid lies in their region."""
    return scope_queryset(user, AreaResult.objects.filter(run=run), region_field="region")


def latest_done_run(*, kind: str) -> AnalysisRun | None:
    return AnalysisRun.objects.filter(kind=kind, status=AnalysisRun.Status.DONE).order_by("-finished_at").first()


def raster_list() -> QuerySet:
    return PopulationRaster.objects.annotate(run_count=Count("runs"))


# --- inputs -----------------------------------------------------------------------------------------------


@dataclass
class ZoneSet:
    """Districts with a boundary, in a fixed order: zone index i ↔ district_ids[i]."""

    district_ids: np.ndarray
    region_ids: np.ndarray  # region of each zone
    geoms: list = field(default_factory=list)  # shapely, EPSG:4326
    # Districts of the regions a restricted run leaves out: demand nearer to them is not the run's.
    others: list = field(default_factory=list)


def zones_load(*, region_ids: list[int] | None = None) -> ZoneSet:
    qs = District.objects.filter(geom__isnull=False).order_by("kato")
    if region_ids:
        qs = qs.filter(region_id__in=region_ids)
    rows = list(qs.annotate(wkb=AsWKB("geom")).values_list("id", "region_id", "wkb"))
    others = []
    if region_ids:
        rest = District.objects.filter(geom__isnull=False).exclude(region_id__in=region_ids).order_by("kato")
        others = [
            shapely.from_wkb(bytes(wkb)) for wkb in rest.annotate(wkb=AsWKB("geom")).values_list("wkb", flat=True)
        ]
    return ZoneSet(
        district_ids=np.array([r[0] for r in rows], dtype=np.int64),
        region_ids=np.array([r[1] for r in rows], dtype=np.int64),
        geoms=[shapely.from_wkb(bytes(r[2])) for r in rows],
        others=others,
    )


def regions_wkb(*, region_ids: list[int] | None = None) -> list[tuple[int, object]]:
    qs = Region.objects.filter(geom__isnull=False)
    if region_ids:
        qs = qs.filter(id__in=region_ids)
    return [(rid, shapely.from_wkb(bytes(wkb))) for rid, wkb in qs.annotate(wkb=AsWKB("geom")).values_list("id", "wkb")]


# A run's facilities serve one purpose: the measures of the roadmap that build them (as in
# tracking.selectors.kpi): 14–17 health and recreation centres, 18–26 creative and intellectual objects.
PURPOSE_MEASURES = {"recreation": range(14, 18), "education": range(18, 27)}


def kind_purposes() -> dict[str, str]:
    """{facility kind code: "recreation" | "education"} from the construction quotas of the roadmap (data).

    A kind no quota builds belongs to no purpose (it can still be chosen by its own code).
    """
    out: dict[str, str] = {}
    for measure, kind in ConstructionQuota.objects.values_list("measure_id", "object_kind_id"):
        for purpose, measures in PURPOSE_MEASURES.items():
            if measure in measures:
                out[kind] = purpose
    return out


def purpose_kinds(*, purpose: str) -> list[str]:
    """The facility kinds counted for a run's purpose: a purpose's kinds, or the one kind named by its code."""
    if purpose in PURPOSE_MEASURES:
        return sorted(k for k, p in kind_purposes().items() if p == purpose)
    return [purpose]


@dataclass
class FacilityInputs:
    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    kinds: list[str]
    places: np.ndarray
    note: dict
    without_location: int
    demo: int = 0  # facilities flagged demo among those counted
    shifts: np.ndarray = field(default_factory=lambda: np.ones(0))  # children per place per year, by kind
    shifts_assumed: list[str] = field(default_factory=list)  # kinds counted whose shifts figure is assumed

    @property
    def capacity(self) -> np.ndarray:
        """Children a year: places × the kind's shifts per year."""
        return self.places * self.shifts


def facilities_in_scope(*, as_of: date, scope: str, kinds: list[str] | None = None) -> FacilityInputs:
    """Facilities counted as present: "open" (accepted/opened by `as_of`, from tracking), "open_or_planned"
    (open, or planned_year ≤ the year of `as_of`) or "all" (every facility of the plan)."""
    qs = Facility.objects.all()
    if kinds:
        qs = qs.filter(kind_id__in=kinds)
    without_location = qs.filter(location__isnull=True).count()
    rows = list(
        qs.filter(location__isnull=False).values_list("id", "location", "kind_id", "places", "planned_year", "is_demo")
    )
    ids = [r[0] for r in rows]
    if scope == "all":
        keep = [True] * len(rows)
        note = make_note(gettext_noop("all facilities of the plan, whatever their stage"))
    else:
        stages = facility_stage_reached(as_of=as_of, facility_ids=ids)
        is_open = [stages.get(r[0], "none") in OPEN_STAGES for r in rows]
        if scope == "open":
            keep = is_open
            note = make_note(
                gettext_noop("open = accepted into operation or opened by %(date)s (tracking records)"),
                date=as_of.isoformat(),
            )
        else:
            keep = [o or r[4] <= as_of.year for o, r in zip(is_open, rows, strict=True)]
            note = make_note(
                gettext_noop("open by %(date)s (tracking records) or planned for %(year)s or earlier"),
                date=as_of.isoformat(),
                year=as_of.year,
            )
    rows = [r for r, k in zip(rows, keep, strict=True) if k]
    kind_rows = {
        code: (shifts, assumed)
        for code, shifts, assumed in FacilityKind.objects.filter(code__in={r[2] for r in rows}).values_list(
            "code", "shifts_per_year", "shifts_assumed"
        )
    }
    return FacilityInputs(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        shifts=np.array([kind_rows[r[2]][0] for r in rows], dtype=np.float64),
        shifts_assumed=sorted(code for code, (_s, assumed) in kind_rows.items() if assumed),
        lon=np.array([r[1].x for r in rows], dtype=np.float64),
        lat=np.array([r[1].y for r in rows], dtype=np.float64),
        kinds=[r[2] for r in rows],
        places=np.array([r[3] for r in rows], dtype=np.float64),
        note=note,
        without_location=without_location,
        demo=sum(1 for r in rows if r[5]),
    )


def facility_labels(*, ids: list[int]) -> dict[int, dict]:
    """{facility id: {"name", "kind", "places"}} (name in English, else Kazakh), for listing facilities in results."""
    return {
        fid: {"name": en or kk, "kind": kind, "places": places}
        for fid, en, kk, kind, places in Facility.objects.filter(id__in=ids).values_list(
            "id", "name_en", "name_kk", "kind_id", "places"
        )
    }


def official_figures(*, indicator: str, year: int, region_ids: list[int] | None = None) -> dict[int, dict]:
    """Latest official region figure of `indicator` for `year` or the closest earlier year: {region: row}."""
    qs = PopulationFigure.objects.filter(district__isnull=True, indicator=indicator, year__lte=year, is_official=True)
    if region_ids:
        qs = qs.filter(region_id__in=region_ids)
    latest = dict(qs.values_list("region_id").annotate(y=Max("year")).values_list("region_id", "y"))
    out: dict[int, dict] = {}
    for row in qs.values("region_id", "year", "value", "source", "source_date"):
        if latest.get(row["region_id"]) == row["year"]:
            out[row["region_id"]] = {
                "value": row["value"],
                "year": row["year"],
                "source": row["source"],
                "source_date": row["source_date"].isoformat() if row["source_date"] else None,
            }
    return out


def district_official_figures(*, indicator: str, year: int, region_ids: list[int] | None = None) -> dict[int, dict]:
    """Official figures of districts (their own, or their age bands summed) for `year` or the closest earlier
    year: {district id: {"value", "year", "source", "source_date", "source_issued"}}."""
    found = district_figures(indicator=indicator, year=year, region_ids=region_ids, official_only=True)
    return {
        d: {
            "value": f.value,
            "year": f.year,
            "source": f.source,
            "source_date": f.source_date.isoformat() if f.source_date else None,
            "source_issued": f.source_issued.isoformat() if f.source_issued else None,
        }
        for d, f in found.items()
    }


def district_child_shares(*, indicator: str, year: int) -> dict[int, float]:
    """Official children / total population per district (same year), for settlements without a child count."""
    children = district_figures(indicator=indicator, year=year, official_only=True)
    totals = district_figures(indicator=PopulationFigure.Indicator.TOTAL, year=year, official_only=True)
    return {
        d: children[d].value / totals[d].value
        for d in children
        if d in totals and totals[d].value and totals[d].year == children[d].year
    }


def demand_population_level(
    *, indicator: str, year: int, region_ids: list[int] | None, settlements: SettlementInputs | None, scaled: bool
) -> dict:
    """Which level of official figures the children of a run come from: {"basis": plain data stored with
    the run's inputs, "notes": notes for "How this was computed"}."""
    if settlements is not None:
        src = settlements.share_sources
        return {
            "basis": {"level": "settlements", **src},
            "notes": [
                make_note(
                    gettext_noop(
                        "children of settlements: their own child count (%(own)s settlements), else their "
                        "district's official children/total share (%(district)s), else their region's "
                        "(%(region)s), else the assumed share (%(default)s)"
                    ),
                    own=src["settlement"],
                    district=src["district_share"],
                    region=src["official_share"],
                    default=src["default_share"],
                )
            ],
        }
    if not scaled:
        return {"basis": {"level": "raster"}, "notes": []}
    pops = list(
        population_by_region(indicator=indicator, year=year, region_ids=region_ids, official_only=True).values()
    )
    basis = {"level": "official", **population_basis(pops, indicator=indicator)}
    sources = "; ".join(basis["sources"])
    if not basis["districts_with"]:
        level = make_note(gettext_noop("region figures (%(sources)s)"), sources=sources)
    else:
        key = "population_districts_some" if basis["regions_rest"] else "population_districts_all"
        level = plural_note(key, n=basis["districts_with"], m=basis["districts"], sources=sources)
    notes = [make_note(gettext_noop("children scaled to official figures: %(level)s"), level=level)]
    if basis["exceeded"]:
        names = Region.objects.filter(kato__in=basis["exceeded"]).order_by("kato")
        notes.append(
            make_note(
                gettext_noop(
                    "the district figures add up to more than the region's figure in %(regions)s: there the "
                    "region counts the districts' sum and its other districts 0"
                ),
                regions=", ".join(r.name_en for r in names),
            )
        )
    return {"basis": basis, "notes": notes}


def child_shares(*, indicator: str, year: int) -> dict[int, float]:
    """Official children / total population per region (same year), for settlements without a child count."""
    children = official_figures(indicator=indicator, year=year)
    totals = official_figures(indicator=PopulationFigure.Indicator.TOTAL, year=year)
    return {
        r: children[r]["value"] / totals[r]["value"]
        for r in children
        if r in totals and totals[r]["value"] and totals[r]["year"] == children[r]["year"]
    }


@dataclass
class SettlementInputs:
    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    population: np.ndarray
    children: np.ndarray
    region_ids: np.ndarray
    estimated: int  # settlements whose children were estimated from a share
    share_sources: dict
    # Children counted per kind of population figure (official, osm_tag, gazetteer, estimate) and the places
    # from OpenStreetMap: what the result pages say is estimated or not official.
    children_by_kind: dict = field(default_factory=dict)
    osm_places: int = 0


def settlements_demand(
    *, indicator: str, year: int, default_child_share: float, region_ids: list[int] | None = None
) -> SettlementInputs:
    """Settlements counted (layers.settlement_selectors.settlements_counted) with population > 0; children =
    their child count, else population × the official share (children/total) of their district, else of their
    region, else × `default_child_share` (a stated assumption)."""
    qs = settlements_counted().filter(population__gt=0)
    if region_ids:
        qs = qs.filter(region_id__in=region_ids)
    # The district a settlement lies in: stored by the loaders, else found here (ST_Contains in EPSG:4326).
    district = District.objects.filter(geom__contains=OuterRef("location")).values("id")[:1]
    rows = list(
        qs.annotate(place_district=Coalesce("district_id", Subquery(district)))
        .order_by("id")
        .values_list(
            "id", "location", "population", "child_population", "region_id", "population_kind", "source",
            "place_district",
        )
    )  # fmt: skip
    shares = child_shares(indicator=indicator, year=year)
    district_shares = district_child_shares(indicator=indicator, year=year)
    children, estimated = [], 0
    sources = {"settlement": 0, "district_share": 0, "official_share": 0, "default_share": 0}
    for _id, _loc, pop, child, region, _kind, _source, district_id in rows:
        if child is not None:
            children.append(float(child))
            sources["settlement"] += 1
        elif district_id in district_shares:
            children.append(pop * district_shares[district_id])
            estimated += 1
            sources["district_share"] += 1
        elif region in shares:
            children.append(pop * shares[region])
            estimated += 1
            sources["official_share"] += 1
        else:
            children.append(pop * default_child_share)
            estimated += 1
            sources["default_share"] += 1
    return SettlementInputs(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        lon=np.array([r[1].x for r in rows], dtype=np.float64),
        lat=np.array([r[1].y for r in rows], dtype=np.float64),
        population=np.array([r[2] for r in rows], dtype=np.float64),
        children=np.array(children, dtype=np.float64),
        region_ids=np.array([r[4] or 0 for r in rows], dtype=np.int64),
        estimated=estimated,
        share_sources=sources,
        children_by_kind=_children_by_kind(kinds=[r[5] for r in rows], children=children),
        osm_places=sum(1 for r in rows if r[6] == OSM_SOURCE),
    )


def _children_by_kind(*, kinds: list[str], children: list[float]) -> dict[str, float]:
    out = dict.fromkeys(Settlement.PopulationKind.values, 0.0)
    for kind, n in zip(kinds, children, strict=True):
        out[kind] += n
    return out


@dataclass
class TownInputs:
    """Settlements of at least the run's urban threshold: points (EPSG:4326) and inhabitants."""

    lon: np.ndarray
    lat: np.ndarray
    population: np.ndarray


def towns(*, min_population: int) -> TownInputs:
    """The counted settlements (layers.settlement_selectors.settlements_counted) of ≥ `min_population`
    inhabitants, in every region: a town just across a region boundary still makes its suburbs urban."""
    rows = list(
        settlements_counted()
        .filter(population__gte=max(min_population, 1))
        .order_by("id")
        .values_list("location", "population")
    )
    return TownInputs(
        lon=np.array([r[0].x for r in rows], dtype=np.float64),
        lat=np.array([r[0].y for r in rows], dtype=np.float64),
        population=np.array([r[1] for r in rows], dtype=np.float64),
    )


@dataclass
class SettlementPoints:
    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray


def settlement_points(*, region_ids: list[int] | None = None) -> SettlementPoints:
    """Where the settlements of `settlements_demand` are (same places, same order), without their children."""
    qs = settlements_counted().filter(population__gt=0)
    if region_ids:
        qs = qs.filter(region_id__in=region_ids)
    rows = list(qs.order_by("id").values_list("id", "location"))
    return SettlementPoints(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        lon=np.array([r[1].x for r in rows], dtype=np.float64),
        lat=np.array([r[1].y for r in rows], dtype=np.float64),
    )


def settlement_names(*, ids: list[int]) -> dict[int, str]:
    """{settlement id: name} of the settlements `ids` (labels of candidate sites)."""
    return dict(Settlement.objects.filter(id__in=ids).values_list("id", "name"))


def parcels_candidates(*, region_ids: list[int] | None = None) -> list[tuple[str, str, float, float, int]]:
    """Candidate parcels (status "candidate") as (ref, label, lon, lat, region id) at a point on their
    surface (EPSG:4326)."""
    qs = Parcel.objects.filter(status="candidate")
    if region_ids:
        qs = qs.filter(region_id__in=region_ids)
    rows = qs.annotate(point=PointOnSurface("geom")).values_list("pk", "cadastral_number", "point", "region_id")
    return [(str(pk), f"parcel {cad or pk}", pt.x, pt.y, rid) for pk, cad, pt, rid in rows]


def children_kind_shares(*, run: AnalysisRun) -> dict | None:
    """Shares (0–1) of a settlement run's children in places whose population is estimated, from OpenStreetMap
    tags or from GeoNames (both not official), and the number of OSM places counted; None for other runs."""
    demand = (run.inputs or {}).get("demand") or {}
    by_kind = demand.get("children_by_kind")
    total = sum(by_kind.values()) if by_kind else 0
    if not total:
        return None
    shares = {k: by_kind.get(k, 0) / total for k in ("estimate", "osm_tag", "gazetteer")}
    return {
        **shares,
        "estimate_pct": 100 * shares["estimate"],
        "not_official_pct": 100 * (shares["osm_tag"] + shares["gazetteer"]),
        "osm_places": demand.get("osm_places", 0),
    }
