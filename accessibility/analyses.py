"""The five analyses: gather inputs through selectors, compute with layers.analysis, return plain results.

Nothing here writes to the database; accessibility.execution stores what these
functions return. Distances are metres on the WGS 84 ellipsoid; children are
raster units (people) or settlement counts, scaled to official totals only when
the run's parameters ask for it (and then the notes say so). The runners and the
distance passes are here; the travel-time passes are in accessibility.travel_passes.
"""

from __future__ import annotations

from datetime import date

import numpy as np
from django.utils.translation import gettext_noop
from scipy.spatial import cKDTree

from accessibility.demand_classes import class_summary, counting_urban, point_class
from accessibility.notes import note
from accessibility.passes_common import access_rows_merge
from accessibility.run_context import Context, Outcome
from accessibility.served import ServedPass
from accessibility.site_candidates import site_candidates
from accessibility.travel_passes import (
    isochrones_pass,
    travel_fca_note,
    travel_fca_pass,
    travel_notes,
    travel_pass,
    travel_sites_matrix,
)
from layers.analysis.coverage import DISTANCE_BINS_M, Facilities, distance_coverage, two_step_fca
from layers.analysis.geodesy import chord_to_metres, lonlat_to_ecef
from layers.analysis.hexbin import HexAccumulator, key_polygon
from layers.analysis.rasterout import GridWriter
from layers.analysis.siting import coverage_matrix, exact_max_cover, greedy_max_cover_certified


def _classes_record(ctx: Context, fac: Facilities, *, out: Outcome, scenario: str, urban, total) -> None:
    """Urban and rural children of a pass (per-slot arrays, scaled) and each class's radius, in inputs and notes."""
    classes, notes = class_summary(
        fac=fac,
        urban_children=float(np.sum(urban)),
        total_children=float(np.sum(total)),
        min_population=ctx.urban_min_population,
        points=ctx.settlements is not None,
    )
    out.inputs.setdefault("urban_rural", {})[scenario] = classes
    out.notes += [n for n in notes if n not in out.notes]


def _coverage_pass(
    ctx: Context,
    fac: Facilities,
    *,
    scenario: str,
    lo: float,
    hi: float,
    on_chunk=None,
    out: Outcome,
    write_raster: bool = False,
):
    stats: dict = {}
    writer = None
    flow = ServedPass(fac=fac, n_zones=ctx.n_zones)
    if write_raster and ctx.raster is not None:
        ctx.output_dir.mkdir(parents=True, exist_ok=True)
        writer = GridWriter(
            source_path=ctx.raster.path,
            out_path=str(ctx.output_dir / f"distance_m_{scenario}.tif"),
            description="distance to the nearest facility, metres (WGS 84 geodesic); 1e12 = no facility at all",
        )

    urban_by_slot = np.zeros(ctx.n_zones + 1)
    class_radii = fac.class_radius_m()

    def chunk_cb(chunk, dist, covered):
        if writer is not None and chunk.window is not None:
            writer.write(chunk.window, chunk.mask, np.where(np.isfinite(dist), dist, 1e12))
        if chunk.ids is not None:
            for sid, ch, d, c, u in zip(
                chunk.ids.tolist(),
                chunk.children.tolist(),
                dist.tolist(),
                covered.tolist(),
                chunk.urban.tolist(),
                strict=True,
            ):
                out.points.append(
                    {
                        "scenario": scenario,
                        "settlement_id": sid,
                        "children": ch,
                        "distance_m": d if np.isfinite(d) else None,
                        "covered": bool(c),
                        **point_class(radii=class_radii, urban=u),
                    }
                )
        flow.add(chunk, covered=covered)
        if on_chunk is not None:
            on_chunk(chunk, dist, covered)

    try:
        chunks = ctx.chunks(
            progress=lambda f: ctx.progress(lo + (hi - lo) * f, f"{scenario}: reading demand"), stats=stats
        )
        res = distance_coverage(
            counting_urban(chunks, urban_by_slot=urban_by_slot, n_zones=ctx.n_zones),
            fac,
            n_zones=ctx.n_zones,
            on_chunk=chunk_cb,
        )
    finally:
        if writer is not None:
            writer.close()
    factors, notes, report = ctx.factors(res.children)
    for n in notes:
        if n not in out.notes:
            out.notes.append(n)
    if report:
        out.inputs["scaling"] = report
    if stats:
        out.inputs.setdefault("raster_stats", stats)
    # Served is solved on the scaled children: capacity is a number of children, not of raster units.
    served = flow.solve(factors=factors, covered=res.covered * factors)
    ratio = flow.point_ratio()
    for pt in out.points:
        if pt["scenario"] == scenario and pt["settlement_id"] in ratio:
            pt["served"] = pt["children"] * ratio[pt["settlement_id"]] if pt["covered"] else 0.0
    _classes_record(ctx, fac, out=out, scenario=scenario, urban=urban_by_slot * factors, total=res.children * factors)
    out.zone_rows += ctx.zone_rows_from(
        scenario=scenario,
        children=res.children * factors,
        factors=factors,
        covered=res.covered * factors,
        served=served,
        distance_sum=res.distance_sum * factors,
    )
    hist = (res.histogram * factors[:, None]).sum(axis=0)
    edges = list(DISTANCE_BINS_M)
    for i, n in enumerate(hist):
        if i < len(edges) - 1:
            out.bins.append((scenario, float(edges[i]), float(edges[i + 1]), float(n)))
        elif i == len(edges) - 1:
            out.bins.append((scenario, float(edges[-1]), None, float(n)))
        else:
            out.bins.append((scenario, -1.0, None, float(n)))  # no facility at all
    total = float((res.children * factors).sum())
    covered = float((res.covered * factors).sum())
    capacity, capacity_notes = flow.summary(total=total, covered=covered, served=float(served.sum()))
    for n in ctx.capacity_notes + capacity_notes:
        if n not in out.notes:
            out.notes.append(n)
    return (
        res,
        factors,
        {
            **capacity,
            "children": total,
            "covered": covered,
            "covered_pct": (100 * covered / total) if total else None,
            "facilities": len(fac),
            "locations": res.locations,
        },
    )


def coverage_run(ctx: Context) -> Outcome:
    p = ctx.params
    out = Outcome(notes=ctx.demand_notes())
    fac, info = ctx.facilities(as_of=date.fromisoformat(p["facilities"]["as_of"]), scope=p["facilities"]["scope"])
    out.inputs.update({"demand": ctx.demand_inputs(), "facilities": info})
    out.notes.append(note(gettext_noop("facilities counted: %(rule)s"), rule=info["rule"]))
    if ctx.travel is not None:
        travel_notes(ctx, out)
        if ctx.settlements is None:
            # Isochrones from the friction grid the pass times over (the road graph's would not contain what a
            # cost-distance run counts), drawn inside the pass to reuse its grid and nearest-facility surface.
            out.summary = travel_pass(ctx, fac, scenario="current", lo=0.05, hi=0.8, out=out, isochrones=True)
            return out
        out.summary = travel_pass(ctx, fac, scenario="current", lo=0.05, hi=0.8, out=out)
        isochrones_pass(ctx, fac, lo=0.8, hi=0.95, out=out)
        return out
    _res, _f, summary = _coverage_pass(
        ctx, fac, scenario="current", lo=0.0, hi=0.95, out=out, write_raster=p.get("write_raster", True)
    )
    out.summary = summary
    return out


def _fca_pass(ctx: Context, fac: Facilities, *, scenario: str, lo: float, hi: float, out: Outcome) -> dict:
    calls = {"n": 0}
    holder: dict = {}

    urban_by_slot = np.zeros(ctx.n_zones + 1)

    def make_chunks():
        calls["n"] += 1
        a = lo + (hi - lo) * (calls["n"] - 1) / 2
        chunks = ctx.chunks(
            progress=lambda f: ctx.progress(a + (hi - lo) / 2 * f, f"{scenario}: 2SFCA pass {calls['n']}")
        )
        # The two passes read the same demand: count its classes once.
        return counting_urban(chunks, urban_by_slot=urban_by_slot, n_zones=ctx.n_zones) if calls["n"] == 1 else chunks

    def zone_factor(raw):
        factors, notes, report = ctx.factors(raw)
        holder["factors"] = factors
        for n in notes:
            if n not in out.notes:
                out.notes.append(n)
        if report:
            out.inputs["scaling"] = report
        return factors

    children_of: dict = {}  # settlement id -> children, so that a point row stores what was counted

    def keep_children(chunk, _access):
        if chunk.ids is not None:
            children_of.update(zip(chunk.ids.tolist(), chunk.children.tolist(), strict=True))

    res = two_step_fca(make_chunks, fac, n_zones=ctx.n_zones, zone_factor=zone_factor, on_chunk=keep_children)
    factors = holder.get("factors", np.ones(ctx.n_zones + 1))
    if scenario not in out.inputs.get("urban_rural", {}):  # a roadmap pass has counted them already
        _classes_record(ctx, fac, out=out, scenario=scenario, urban=urban_by_slot * factors, total=res.children)
    rows = ctx.zone_rows_from(
        scenario=scenario,
        children=res.children,
        factors=factors,
        weighted_access=res.weighted_access,
        without_access=res.without_access,
    )
    access_rows_merge(out, rows)
    if res.point_access:
        by_id = {(pt["scenario"], pt["settlement_id"]): pt for pt in out.points}
        for sid, a in res.point_access.items():
            pt = by_id.get((scenario, sid))
            if pt is None:
                out.points.append(
                    {
                        "scenario": scenario,
                        "settlement_id": sid,
                        "children": children_of[sid],
                        "access_per_1000": a,
                        **point_class(radii=fac.class_radius_m(), urban=ctx.settlement_urban[sid]),
                    }
                )
            else:
                pt["access_per_1000"] = a
    total = float(res.children.sum())
    return {
        "access_per_1000": float(res.weighted_access.sum() / total) if total else None,
        "children_without_access": float(res.without_access.sum()),
        "places": float(fac.capacity.sum()),
        "facilities": len(fac),
    }


def fca_run(ctx: Context) -> Outcome:
    p = ctx.params
    out = Outcome(notes=ctx.demand_notes())
    fac, info = ctx.facilities(as_of=date.fromisoformat(p["facilities"]["as_of"]), scope=p["facilities"]["scope"])
    out.inputs.update({"demand": ctx.demand_inputs(), "facilities": info})
    out.notes.append(note(gettext_noop("facilities counted: %(rule)s"), rule=info["rule"]))
    if ctx.travel is not None:
        travel_notes(ctx, out, served=False)
        out.notes.append(travel_fca_note(ctx))
        out.summary = travel_fca_pass(ctx, fac, scenario="current", lo=0.05, out=out)
        return out
    out.notes.append(note(gettext_noop("2SFCA catchments are the coverage radii (per facility kind, urban/rural)")))
    out.summary = _fca_pass(ctx, fac, scenario="current", lo=0.0, hi=0.95, out=out)
    return out


def roadmap_run(ctx: Context) -> Outcome:
    """Coverage and 2SFCA before the roadmap and with every facility of the plan open, side by side."""
    p = ctx.params
    out = Outcome(notes=ctx.demand_notes())
    before_date = date.fromisoformat(p["roadmap"]["before_date"])
    fac_b, info_b = ctx.facilities(as_of=before_date, scope="open")
    fac_a, info_a = ctx.facilities(as_of=before_date, scope="all")
    out.inputs.update({"demand": ctx.demand_inputs(), "facilities_before": info_b, "facilities_after": info_a})
    out.notes.append(note(gettext_noop("before the roadmap: %(rule)s"), rule=info_b["rule"]))
    out.notes.append(note(gettext_noop("with the plan: %(rule)s"), rule=info_a["rule"]))
    if ctx.travel is not None:
        travel_notes(ctx, out)
        out.notes.append(travel_fca_note(ctx))
        cov_b = travel_pass(ctx, fac_b, scenario="before", lo=0.05, hi=0.3, out=out)
        cov_a = travel_pass(ctx, fac_a, scenario="after", lo=0.3, hi=0.55, out=out)
        fca_b = travel_fca_pass(ctx, fac_b, scenario="before", lo=0.55, out=out)
        fca_a = travel_fca_pass(ctx, fac_a, scenario="after", lo=0.75, out=out)
        out.summary = {"before": {**cov_b, **fca_b}, "after": {**cov_a, **fca_a}}
        return out
    _r, _f, cov_b = _coverage_pass(ctx, fac_b, scenario="before", lo=0.0, hi=0.25, out=out, write_raster=False)
    _r, _f, cov_a = _coverage_pass(ctx, fac_a, scenario="after", lo=0.25, hi=0.5, out=out, write_raster=False)
    fca_b = _fca_pass(ctx, fac_b, scenario="before", lo=0.5, hi=0.72, out=out)
    fca_a = _fca_pass(ctx, fac_a, scenario="after", lo=0.72, hi=0.95, out=out)
    out.summary = {"before": {**cov_b, **fca_b}, "after": {**cov_a, **fca_a}}
    return out


def _distance_sites_matrix(ctx: Context, fac: Facilities, *, cands: list, cand_note, out: Outcome, kind: str):
    """Coverage by the radii, then the candidate × uncovered-children matrix by the new sites' radii."""
    radius = ctx.radii[kind]
    c_lon = np.array([c[2] for c in cands])
    c_lat = np.array([c[3] for c in cands])
    # Keep the uncovered children near some candidate (within the largest radius): memory ∝ that, not the raster.
    ctree = cKDTree(lonlat_to_ecef(c_lon, c_lat))
    reach = max(radius.urban_m, radius.rural_m)
    kept: dict[str, list] = {"lon": [], "lat": [], "w": [], "urban": [], "zone": []}

    def keep(chunk, _dist, covered):
        idx = np.nonzero(~covered)[0]
        if not idx.size:
            return
        d, _ = ctree.query(lonlat_to_ecef(chunk.lon[idx], chunk.lat[idx]), k=1)
        idx = idx[chord_to_metres(d) <= reach + 1.0]
        kept["lon"].append(chunk.lon[idx])
        kept["lat"].append(chunk.lat[idx])
        kept["w"].append(chunk.children[idx])
        kept["urban"].append(chunk.urban[idx])
        kept["zone"].append(chunk.zone[idx])

    _res, factors, cov = _coverage_pass(
        ctx, fac, scenario="current", lo=0.0, hi=0.7, on_chunk=keep, out=out, write_raster=False
    )
    cat = {k: (np.concatenate(v) if v else np.empty(0)) for k, v in kept.items()}
    zone = cat["zone"].astype(np.int64)
    w = cat["w"] * factors[np.where(zone < 0, ctx.n_zones, zone)] if zone.size else cat["w"]
    ctx.progress(0.75, "building the candidate × demand coverage matrix")
    m = coverage_matrix(
        cand_lon=c_lon,
        cand_lat=c_lat,
        cand_radius_urban=np.full(len(cands), radius.urban_m),
        cand_radius_rural=np.full(len(cands), radius.rural_m),
        dem_lon=cat["lon"],
        dem_lat=cat["lat"],
        dem_urban=cat["urban"].astype(bool),
    )
    reach_note = note(
        gettext_noop(
            "candidates: %(source)s; radius of the new sites: kind %(kind)s (%(urban)s m urban, %(rural)s m rural)"
        ),
        source=cand_note,
        kind=kind,
        urban=f"{radius.urban_m:.0f}",
        rural=f"{radius.rural_m:.0f}",
    )
    return m, w, cov, reach_note, {}


def sites_run(ctx: Context) -> Outcome:
    p = ctx.params
    s = p["sites"]
    out = Outcome(notes=ctx.demand_notes())
    fac, info = ctx.facilities(as_of=date.fromisoformat(p["facilities"]["as_of"]), scope=p["facilities"]["scope"])
    cands, cand_note = site_candidates(sites=s, region_ids=ctx.region_ids, settlements=ctx.settlements)
    if not cands:
        raise ValueError("no candidate sites: none found for the chosen source and regions")
    if ctx.travel is not None:
        travel_notes(ctx, out)
        m, w, cov, reach_note, cand_info = travel_sites_matrix(
            ctx, fac, cands=cands, cand_note=cand_note, out=out, kind=s["kind"]
        )
    else:
        m, w, cov, reach_note, cand_info = _distance_sites_matrix(
            ctx, fac, cands=cands, cand_note=cand_note, out=out, kind=s["kind"]
        )
    ctx.progress(0.85, "choosing sites")
    k = int(s["k"])
    result = (
        exact_max_cover(m, w, k=k, time_limit_s=float(s.get("time_limit_s", 60)))
        if s["method"] == "exact"
        else greedy_max_cover_certified(m, w, k=k, time_limit_s=float(s.get("time_limit_s", 60)))
    )
    order = {j: n for n, j in enumerate(result.selected, start=1)}
    gain = dict(zip(result.selected, result.marginal_gain, strict=True))
    ranking = np.lexsort((np.arange(len(cands)), -result.solo_gain))
    for rank, j in enumerate(ranking, start=1):
        ref, label, lon, lat = cands[j]
        out.sites.append(
            {
                "rank": rank,
                "lon": lon,
                "lat": lat,
                "label": label,
                "candidate_ref": ref,
                "solo_gain": float(result.solo_gain[j]),
                "selected_order": order.get(int(j)),
                "marginal_gain": gain.get(int(j)),
            }
        )
    uncovered = cov["children"] - cov["covered"]
    out.inputs.update(
        {
            "demand": ctx.demand_inputs(),
            "facilities": info,
            "candidates": {"source": s["candidates"], "count": len(cands), "note": cand_note, **cand_info},
        }
    )
    out.notes.append(note(gettext_noop("facilities already there: %(rule)s"), rule=info["rule"]))
    out.notes.append(reach_note)
    if result.method == "greedy":
        out.notes.append(
            note(
                gettext_noop(
                    "greedy maximal covering: guaranteed to reach at least (1 − 1/e) ≈ 63.2 per cent of the optimum; "
                    "the bound of this instance proves at least %(ratio)s per cent"
                ),
                ratio=f"{100 * result.certified_ratio:.1f}",
            )
        )
        if result.optimal:
            out.notes.append(
                note(
                    gettext_noop(
                        "the greedy choice is proven optimal: its value equals the upper bound (the lower of the "
                        "greedy's own bound and the LP relaxation's optimum, HiGHS via scipy)"
                    )
                )
            )
    elif result.optimal:
        out.notes.append(note(gettext_noop("exact MILP (HiGHS via scipy.optimize.milp): proven optimal")))
    else:
        out.notes.append(note(gettext_noop("exact MILP (HiGHS via scipy.optimize.milp), stopped at its time limit")))
    out.summary = {
        **cov,
        "uncovered_before": uncovered,
        "added": result.objective,
        "uncovered_after": uncovered - result.objective,
        "upper_bound": result.upper_bound,
        "certified_ratio": result.certified_ratio,
        "method": result.method,
        "optimal": result.optimal,
        "k": k,
        "selected": len(result.selected),
        "candidates": len(cands),
    }
    return out


def underserved_run(ctx: Context) -> Outcome:
    p = ctx.params
    u = p["underserved"]
    out = Outcome(notes=ctx.demand_notes())
    fac, info = ctx.facilities(as_of=date.fromisoformat(p["facilities"]["as_of"]), scope=p["facilities"]["scope"])
    acc = HexAccumulator(size_m=float(u["hex_size_m"]), names=("children", "uncovered"))
    if ctx.travel is not None:
        return _travel_underserved(ctx, fac, info=info, acc=acc, out=out)
    factors = _hexagon_factors(ctx)

    def add(chunk, _dist, covered):
        f = factors[np.where(chunk.zone < 0, ctx.n_zones, chunk.zone)]
        acc.add(chunk.lon, chunk.lat, children=chunk.children * f, uncovered=np.where(covered, 0.0, chunk.children) * f)

    lo = 0.45 if ctx.official else 0.0
    _res, _f, cov = _coverage_pass(
        ctx, fac, scenario="current", lo=lo, hi=0.9, on_chunk=add, out=out, write_raster=False
    )
    _underserved_areas(ctx, acc=acc, cov=cov, info=info, out=out)
    return out


def _hexagon_factors(ctx: Context) -> np.ndarray:
    """Per-zone-slot factors for the hexagons of underserved areas. Official factors are only known after a pass
    and the hexagons are filled during the coverage pass: a scaled run therefore reads the raster twice (first
    pass: region totals, progress 0–0.45), an unscaled one once (ones)."""
    if not ctx.official:
        return np.ones(ctx.n_zones + 1)
    raw = np.zeros(ctx.n_zones + 1)
    for chunk in ctx.chunks(progress=lambda f: ctx.progress(0.45 * f, "region totals for scaling")):
        raw += np.bincount(
            np.where(chunk.zone < 0, ctx.n_zones, chunk.zone), weights=chunk.children, minlength=ctx.n_zones + 1
        )
    return ctx.factors(raw)[0]


def _travel_underserved(ctx: Context, fac: Facilities, *, info: dict, acc: HexAccumulator, out: Outcome) -> Outcome:
    """Underserved areas by travel time: a settlement (or populated cell) is within reach when its children reach
    a facility in scope within the first of the run's thresholds (on the road network; with a raster, over the
    friction grid); a settlement farther than travel.max_snap_m from every road node and facility is not
    reachable and counts as not within reach (the pass's note says how many). The hexagons (EPSG:4326 out,
    equal-area inside) then rank as by distance, scaled as the distance run scales them."""
    travel_notes(ctx, out)
    factors = _hexagon_factors(ctx)

    def add(chunk, covered):
        f = factors[np.where(chunk.zone < 0, ctx.n_zones, chunk.zone)]
        acc.add(chunk.lon, chunk.lat, children=chunk.children * f, uncovered=np.where(covered, 0.0, chunk.children) * f)

    lo = 0.45 if ctx.official else 0.0
    cov = travel_pass(ctx, fac, scenario="current", lo=lo, hi=0.9, out=out, on_chunk=add)
    out.notes.append(
        note(
            gettext_noop(
                "uncovered children: those not reaching a facility within %(minutes)s min on the road network, "
                "including those of settlements not reachable from it"
            )
            if ctx.settlements is not None
            else gettext_noop(
                "uncovered children: those not reaching a facility within %(minutes)s min over the friction grid"
            ),
            minutes=f"{ctx.travel['thresholds_min'][0]:g}",
        )
    )
    _underserved_areas(ctx, acc=acc, cov=cov, info=info, out=out)
    return out


def _underserved_areas(ctx: Context, *, acc: HexAccumulator, cov: dict, info: dict, out: Outcome) -> None:
    """Keep the `top` hexagons with the most uncovered children (polygons EPSG:4326), with the notes and summary
    shared by the distance and the travel-time runs."""
    u = ctx.params["underserved"]
    keys, sums = acc.totals()
    order = np.argsort(-sums[:, 1], kind="stable")[: int(u["top"])]
    for rank, i in enumerate(order, start=1):
        if sums[i, 1] <= 0:
            break
        poly = key_polygon(int(keys[i]), size_m=float(u["hex_size_m"]))
        out.areas.append({"rank": rank, "wkt": poly.wkt, "children": float(sums[i, 0]), "uncovered": float(sums[i, 1])})
    out.inputs.update({"demand": ctx.demand_inputs(), "facilities": info})
    out.notes.append(note(gettext_noop("facilities counted: %(rule)s"), rule=info["rule"]))
    out.notes.append(
        note(
            gettext_noop(
                "hexagons of %(size)s m circumradius in an equal-area projection; the %(n)s with the most uncovered "
                "children are kept"
            ),
            size=f"{u['hex_size_m']:.0f}",
            n=len(out.areas),
        )
    )
    out.summary = {**cov, "hexagons_with_children": int((sums[:, 0] > 0).sum()), "kept": len(out.areas)}


def run(ctx: Context, *, kind: str) -> Outcome:
    """Run the analysis `kind` and add what its reads of the demand met at the district boundaries."""
    out = RUNNERS[kind](ctx)
    out.notes += ctx.zone_notes()
    out.inputs.setdefault("demand", {})["district_tolerance_m"] = ctx.zones.tolerance_m
    return out


RUNNERS = {
    "coverage": coverage_run,
    "fca": fca_run,
    "roadmap": roadmap_run,
    "sites": sites_run,
    "underserved": underserved_run,
}
