"""Parameters of an analysis run: completed with defaults and checked, so a stored run can be reproduced.

Distances are metres (catchment radii, grid spacing, hexagon size), coordinates EPSG:4326 longitude/latitude
in degrees, dates ISO 8601.
"""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from accessibility import selectors
from accessibility.models import AnalysisRun, PopulationRaster
from accessibility.services.errors import RunParameterError
from facilities.models import FacilityKind
from layers.analysis.travel import DEFAULT_MAX_SNAP_M
from layers.analysis.travel_fca import DECAYS
from layers.analysis.urban import DEFAULT_URBAN_MIN_POPULATION
from layers.models import PopulationFigure, Region
from roads.models import RoadNetwork

# Default catchment radii (metres), a stated planning assumption editable per run: a health
# centre serves a wider area than a creative centre or an art school; rural children travel further.
DEFAULT_RADII = {
    "year_round_health_centre": {"urban_m": 5_000, "rural_m": 30_000},
    "health_centre": {"urban_m": 5_000, "rural_m": 30_000},
    "innovative_creative_centre": {"urban_m": 3_000, "rural_m": 15_000},
    "art_school": {"urban_m": 3_000, "rural_m": 15_000},
}
FALLBACK_RADIUS = {"urban_m": 5_000, "rural_m": 20_000}
# Share of children aged 0–17 in Kazakhstan's population is about one third (BNS, 2023); used only
# for settlements without a child count when the region has no official figures, and flagged.
DEFAULT_CHILD_SHARE = 0.32
SCOPES = ("open", "open_or_planned", "all")
# facilities.purpose: one of these, or a single facility kind code (accessibility.selectors.purpose_kinds).
PURPOSES = tuple(selectors.PURPOSE_MEASURES)
CANDIDATE_SOURCES = ("settlements", "grid", "points", "parcels")
MAX_CANDIDATES = 20_000
DEFAULT_THRESHOLDS_MIN = [15, 30, 45, 60]
MAX_THRESHOLDS = 8


def _number(value, name: str, *, low: float, high: float, integer: bool = False):
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise RunParameterError(f"{name}: {value!r} is not a number") from None
    if integer and float(value) != number:
        raise RunParameterError(f"{name}: {value!r} is not a whole number")
    if not low <= number <= high:
        raise RunParameterError(f"{name}: {number} is outside {low}–{high}")
    return number


def _date(value, name: str) -> str:
    try:
        return (value if isinstance(value, date) else date.fromisoformat(str(value))).isoformat()
    except ValueError:
        raise RunParameterError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


def run_parameters_normalise(*, kind: str, raw: dict) -> dict:
    """Complete `raw` with defaults and check every value the run reads; the result fully describes the run
    and holds nothing else (a value the run's kind or demand source does not read is dropped, not stored)."""
    if kind not in AnalysisRun.Kind.values:
        raise RunParameterError(f"kind: {kind!r} is not one of {', '.join(AnalysisRun.Kind.values)}")
    if not isinstance(raw, dict):
        raise RunParameterError("parameters must be a JSON object")
    known = {"demand", "facilities", "radii", "region_ids", "sites", "underserved", "roadmap", "write_raster", "travel"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise RunParameterError(f"unknown parameters: {', '.join(unknown)}")
    today = timezone.localdate()
    d = dict(raw.get("demand") or {})
    source = d.get("source", "settlements")
    if source not in ("settlements", "raster"):
        raise RunParameterError("demand.source: must be 'settlements' or 'raster'")
    if "urban_children_per_km2" in d:
        raise RunParameterError(
            "demand.urban_children_per_km2: no longer a parameter: urban now means lying in a settlement of at "
            "least demand.urban_min_population inhabitants (a raster cell: within that settlement's extent), one "
            "rule for settlement points and raster cells"
        )
    # Only what the run reads is kept (and checked), so the stored parameters show exactly what was applied.
    demand = {
        "source": source,
        "year": _number(d.get("year", today.year), "demand.year", low=1990, high=2100, integer=True),
        "urban_min_population": _number(
            d.get("urban_min_population", DEFAULT_URBAN_MIN_POPULATION),
            "demand.urban_min_population",
            low=0,
            high=10_000_000,
            integer=True,
        ),
    }
    if source == "settlements":
        demand["indicator"] = d.get("indicator", PopulationFigure.Indicator.CHILDREN_0_17)
        if demand["indicator"] not in PopulationFigure.Indicator.values:
            raise RunParameterError(f"demand.indicator: {demand['indicator']!r} is not a population indicator")
        demand["default_child_share"] = _number(
            d.get("default_child_share", DEFAULT_CHILD_SHARE), "demand.default_child_share", low=0.01, high=1.0
        )
    else:
        # A raster counts what its bands count (PopulationRaster.indicator), not demand.indicator.
        rid = d.get("raster_id")
        if rid is None:
            raise RunParameterError("demand.raster_id: required when demand.source is 'raster'")
        rid = _number(rid, "demand.raster_id", low=1, high=2**62, integer=True)
        if not PopulationRaster.objects.filter(pk=rid).exists():
            raise RunParameterError(f"demand.raster_id: no population raster {rid}")
        demand["raster_id"] = rid
        demand["scale_to_official"] = bool(d.get("scale_to_official", False))
    f = dict(raw.get("facilities") or {})
    kinds_all = set(FacilityKind.objects.values_list("code", flat=True))
    kinds = list(f.get("kinds") or [])
    bad = sorted(set(kinds) - kinds_all)
    if bad:
        raise RunParameterError(f"facilities.kinds: unknown kinds {', '.join(bad)}")
    # New sites serve the purpose of their kind, so a best-sites run without a purpose takes that one.
    site_kind = dict(raw.get("sites") or {}).get("kind", "innovative_creative_centre") if kind == "sites" else None
    purpose = f.get("purpose") or selectors.kind_purposes().get(site_kind, "recreation")
    if purpose not in PURPOSES and purpose not in kinds_all:
        raise RunParameterError(
            f"facilities.purpose: {purpose!r} is neither {' nor '.join(PURPOSES)} nor a facility kind code"
        )
    # A child counts as served only by a place of the purpose in question: the kinds, if given, narrow it.
    allowed = set(selectors.purpose_kinds(purpose=purpose))
    outside = sorted(set(kinds) - allowed)
    if outside:
        raise RunParameterError(
            f"facilities.kinds: {', '.join(outside)} do not serve the purpose {purpose!r} "
            f"(its kinds: {', '.join(sorted(allowed)) or 'none'})"
        )
    facilities: dict = {"purpose": purpose, "kinds": sorted(kinds)}
    if kind != "roadmap":  # the roadmap effect takes its own dates and scopes (roadmap.before_date)
        scope = f.get("scope", "open_or_planned")
        if scope not in SCOPES:
            raise RunParameterError(f"facilities.scope: must be one of {', '.join(SCOPES)}")
        facilities = {"as_of": _date(f.get("as_of", today), "facilities.as_of"), "scope": scope, **facilities}
    radii_raw = raw.get("radii") or {}
    if not isinstance(radii_raw, dict):
        raise RunParameterError("radii: must be an object {kind: {urban_m, rural_m}}")
    bad = sorted(set(radii_raw) - kinds_all)
    if bad:
        raise RunParameterError(f"radii: unknown kinds {', '.join(bad)}")
    radii = {}
    for code in sorted(kinds_all):
        r = {**DEFAULT_RADII.get(code, FALLBACK_RADIUS), **(radii_raw.get(code) or {})}
        radii[code] = {
            "urban_m": _number(r["urban_m"], f"radii.{code}.urban_m", low=1, high=500_000),
            "rural_m": _number(r["rural_m"], f"radii.{code}.rural_m", low=1, high=500_000),
        }
    region_ids = sorted(
        {_number(x, "region_ids", low=1, high=2**62, integer=True) for x in raw.get("region_ids") or []}
    )
    if region_ids and Region.objects.filter(id__in=region_ids).count() != len(region_ids):
        raise RunParameterError("region_ids: some regions do not exist")
    travel = _travel(raw.get("travel"), kind=kind)
    params = {"demand": demand, "facilities": facilities, "radii": radii, "region_ids": region_ids}
    if kind == "coverage" and source == "raster" and travel is None:  # the only run that writes a distance raster
        params["write_raster"] = bool(raw.get("write_raster", True))
    if kind == "sites":
        s = dict(raw.get("sites") or {})
        cand = s.get("candidates", "settlements")
        if cand not in CANDIDATE_SOURCES:
            raise RunParameterError(f"sites.candidates: must be one of {', '.join(CANDIDATE_SOURCES)}")
        if site_kind not in radii:
            raise RunParameterError(f"sites.kind: unknown facility kind {site_kind!r}")
        if site_kind not in allowed:
            raise RunParameterError(
                f"sites.kind: {site_kind!r} does not serve the purpose {purpose!r} of the facilities counted"
            )
        method = s.get("method", "greedy")
        if method not in ("greedy", "exact"):
            raise RunParameterError("sites.method: must be 'greedy' or 'exact'")
        sites = {
            "k": _number(s.get("k", 5), "sites.k", low=1, high=1000, integer=True),
            "candidates": cand,
            "kind": site_kind,
            "method": method,
        }
        if cand == "grid":
            sites["grid_spacing_m"] = _number(
                s.get("grid_spacing_m", 10_000), "sites.grid_spacing_m", low=500, high=200_000
            )
        if method == "exact":
            sites["time_limit_s"] = _number(s.get("time_limit_s", 60), "sites.time_limit_s", low=1, high=3600)
        if cand == "points":
            pts = s.get("points")
            if not isinstance(pts, list) or not pts:
                raise RunParameterError("sites.points: a non-empty list of [longitude, latitude] is required")
            if len(pts) > MAX_CANDIDATES:
                raise RunParameterError(f"sites.points: at most {MAX_CANDIDATES} candidates")
            clean = []
            for i, pt in enumerate(pts):
                if not isinstance(pt, list | tuple) or len(pt) != 2:
                    raise RunParameterError(f"sites.points[{i}]: expected [longitude, latitude]")
                clean.append(
                    [
                        _number(pt[0], f"sites.points[{i}] longitude", low=-180, high=180),
                        _number(pt[1], f"sites.points[{i}] latitude", low=-90, high=90),
                    ]
                )
            sites["points"] = clean
        params["sites"] = sites
    # Radii of the kinds the run counts (those of its purpose when facilities.kinds is empty) and of the
    # new sites' kind.
    used = set(kinds or allowed) | ({params["sites"]["kind"]} if "sites" in params else set())
    params["radii"] = {code: r for code, r in radii.items() if code in used}
    if travel is not None:
        # Reach is by road time: the radii are not read, so they are not stored.
        del params["radii"]
        params["travel"] = travel
    if kind == "underserved":
        u = dict(raw.get("underserved") or {})
        params["underserved"] = {
            "hex_size_m": _number(u.get("hex_size_m", 5_000), "underserved.hex_size_m", low=100, high=100_000),
            "top": _number(u.get("top", 200), "underserved.top", low=1, high=10_000, integer=True),
        }
    if kind == "roadmap":
        r = dict(raw.get("roadmap") or {})
        params["roadmap"] = {"before_date": _date(r.get("before_date", "2023-12-31"), "roadmap.before_date")}
    return params


def _travel(raw, *, kind: str) -> dict | None:
    """The `travel` block (None: distance radii, as before travel time existed): a road network, thresholds in
    minutes (the first is the catchment of the served flow, of 2SFCA, of new sites and of "within reach" in
    underserved areas; children within each are reported) and the largest straight stretch in metres from a
    point to the network (settlement runs; a raster's cells walk the friction grid); for the runs that compute
    2SFCA (2SFCA, roadmap effect) also `decay`, the weight of a facility by travel time within the catchment
    ("none" or "gaussian", layers.analysis.travel_fca), stored only there. Every analysis takes travel time with
    either demand source (a raster's cells by cost-distance over a friction grid, accessibility.friction_grid)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise RunParameterError('travel: must be an object {"network", "thresholds_min", "max_snap_m"}')
    unknown = sorted(set(raw) - {"network", "thresholds_min", "max_snap_m", "decay"})
    if unknown:
        raise RunParameterError(f"travel: unknown keys {', '.join(unknown)}")
    if raw.get("network") is None:
        raise RunParameterError("travel.network: required (the id of a loaded road network)")
    network = _number(raw["network"], "travel.network", low=1, high=2**62, integer=True)
    if not RoadNetwork.objects.filter(pk=network).exists():
        raise RunParameterError(f"travel.network: no road network {network} (load one with manage.py load_roads)")
    thresholds = raw.get("thresholds_min", DEFAULT_THRESHOLDS_MIN)
    if not isinstance(thresholds, list | tuple) or not thresholds:
        raise RunParameterError("travel.thresholds_min: a non-empty list of minutes is required")
    if len(thresholds) > MAX_THRESHOLDS:
        raise RunParameterError(f"travel.thresholds_min: at most {MAX_THRESHOLDS} thresholds")
    minutes = [_number(t, f"travel.thresholds_min[{i}]", low=1, high=600) for i, t in enumerate(thresholds)]
    minutes = [int(m) if m == int(m) else m for m in minutes]  # 15, not 15.0, on the pages
    if len(set(minutes)) != len(minutes):
        raise RunParameterError("travel.thresholds_min: a threshold is repeated")
    decay = raw.get("decay", "none")
    if decay not in DECAYS:
        raise RunParameterError(f"travel.decay: must be one of {', '.join(DECAYS)}")
    travel = {
        "network": network,
        "thresholds_min": minutes,
        # Read by settlement runs only (a raster's cells walk the friction grid); the API's run detail shows it.
        "max_snap_m": _number(raw.get("max_snap_m", DEFAULT_MAX_SNAP_M), "travel.max_snap_m", low=0, high=100_000),
    }
    # The analyses that weigh facilities by their time (parameters keep what is read): 2SFCA and the roadmap
    # effect's 2SFCA.
    if kind in ("fca", "roadmap"):
        travel["decay"] = decay
    return travel
