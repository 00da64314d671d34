"""The travel-time passes of the analyses (issue 18), called by the runners in accessibility.analyses.

Coverage and served children, 2SFCA and the candidate × demand matrix of best sites by travel time (on the
run's road network for settlement demand, by cost-distance over a friction grid for a population raster), the
notes on the network and the isochrones. Nothing here writes to the database. Times are seconds internally
(layers.analysis.travel); thresholds are minutes in the run's parameters, notes and summaries. Coordinates and
isochrone polygons are EPSG:4326 (lon, lat).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext_noop
from scipy import sparse

from accessibility.friction_grid import FrictionGrid
from accessibility.notes import note, plural_note
from accessibility.passes_common import access_rows_merge
from accessibility.run_context import Context, Outcome
from accessibility.served import ServedPass
from layers.analysis.coverage import Facilities
from layers.analysis.demand import NO_ZONE
from layers.analysis.friction import (
    CatchmentTooLarge,
    accumulated_time,
    catchment_cells,
    pair_positions,
    pairs_of_cells,
)
from layers.analysis.friction_isochrones import friction_isochrones
from layers.analysis.isochrones import DEFAULT_TOLERANCE_M, isochrone_polygons
from layers.analysis.travel import (
    TIME_TOLERANCE_S,
    Snap,
    catchment_pairs_time,
    catchment_times,
    minutes_to_seconds,
    travel_time_coverage,
)
from layers.analysis.travel_fca import travel_fca
from layers.analysis.travel_siting import travel_coverage_matrix


@dataclass
class _TravelTally:
    """What a travel-time coverage pass counts per zone slot (raw children, before scaling)."""

    children: np.ndarray
    within: np.ndarray  # (thresholds, slots): children within each threshold
    not_reachable: np.ndarray
    time_sum: np.ndarray  # children × seconds of those within the largest threshold
    locations: int = 0  # settlements or populated cells
    points_unreachable: int = 0  # settlements or cells not reachable
    # Populated cells under an impassable friction cell (a barrier with no road there), and their children per slot.
    cells_on_barrier: int = 0
    on_barrier: np.ndarray | None = None

    @classmethod
    def zeros(cls, *, thresholds: int, slots: int) -> _TravelTally:
        return cls(np.zeros(slots), np.zeros((thresholds, slots)), np.zeros(slots), np.zeros(slots))


def travel_pass(
    ctx: Context,
    fac: Facilities,
    *,
    scenario: str,
    lo: float,
    hi: float,
    out: Outcome,
    on_chunk=None,
    isochrones: bool = False,
) -> dict:
    """Coverage by travel time on the run's road network (issue 18), capacity first like the distance pass.

    Times are seconds home → facility (layers.analysis.travel). The first of the run's thresholds is the
    catchment of the served flow and of "covered"; children within every threshold are counted too. A point
    farther than travel.max_snap_m from every road node and facility is not reachable: not covered, and
    counted apart. Thresholds are minutes in the parameters and the summary. `on_chunk(chunk, covered)` sees
    each chunk of the demand with its points covered within the first threshold (best sites keep the rest).
    With a population raster the times are accumulated over a friction grid instead (_travel_raster_pass), which
    also draws the isochrones from that grid when `isochrones` is set (settlement runs draw them from the road graph
    in isochrones_pass; `isochrones` is ignored there).
    """
    if ctx.settlements is None:
        return _travel_raster_pass(
            ctx, fac, scenario=scenario, lo=lo, hi=hi, out=out, on_chunk=on_chunk, isochrones=isochrones
        )
    minutes = list(ctx.travel["thresholds_min"])
    headline_s = float(minutes_to_seconds(minutes[0]))
    graph = ctx.road_graph()
    fxy = np.column_stack([fac.lon, fac.lat])
    ctx.progress(lo, f"{scenario}: travel times from {len(fac)} facilities")
    catch = catchment_times(graph, fxy, limit_s=float(minutes_to_seconds(max(minutes))))
    flow = ServedPass(fac=fac, n_zones=ctx.n_zones)
    slots = ctx.n_zones + 1
    tally = _TravelTally.zeros(thresholds=len(minutes), slots=slots)
    for chunk in ctx.chunks(progress=lambda f: ctx.progress(lo + (hi - lo) * f, f"{scenario}: travel times")):
        if not len(chunk):
            continue
        snap = ctx.road_snap(chunk.lon, chunk.lat)  # one snap serves the times and the reach pairs
        slot = np.where(chunk.zone == NO_ZONE, ctx.n_zones, chunk.zone)
        cov = travel_time_coverage(
            graph,
            catch,
            lon=chunk.lon,
            lat=chunk.lat,
            children=chunk.children,
            thresholds_min=minutes,
            slot=slot,
            n_slots=slots,
            snap=snap,
        )
        tally.children += cov.children
        tally.within += cov.within
        lost = ~cov.attached
        tally.not_reachable += np.bincount(slot[lost], weights=chunk.children[lost], minlength=slots)
        reached = np.isfinite(cov.time_s)
        tally.time_sum += np.bincount(
            slot[reached], weights=chunk.children[reached] * cov.time_s[reached], minlength=slots
        )
        tally.locations += len(chunk)
        tally.points_unreachable += int(lost.sum())
        p, f, _t = catchment_pairs_time(graph, fxy, lon=chunk.lon, lat=chunk.lat, limit_s=headline_s, snap=snap)
        flow.add_pairs(chunk, point_idx=p, fac_idx=f)
        covered = cov.time_s <= headline_s + TIME_TOLERANCE_S
        if on_chunk is not None:
            on_chunk(chunk, covered)
        if chunk.ids is not None:
            for sid, ch, t, c, a, u in zip(
                chunk.ids.tolist(),
                chunk.children.tolist(),
                cov.time_s.tolist(),
                covered.tolist(),
                cov.attached.tolist(),
                chunk.urban.tolist(),
                strict=True,
            ):
                out.points.append(
                    {
                        "scenario": scenario,
                        "settlement_id": sid,
                        "children": ch,
                        "travel_time_s": t if np.isfinite(t) else None,
                        "reachable": bool(a),
                        "covered": bool(c),
                        "urban": bool(u),
                    }
                )
    return _travel_record(ctx, fac, flow=flow, tally=tally, scenario=scenario, out=out)


def _travel_raster_pass(
    ctx: Context,
    fac: Facilities,
    *,
    scenario: str,
    lo: float,
    hi: float,
    out: Outcome,
    on_chunk=None,
    isochrones: bool = False,
) -> dict:
    """Coverage by travel time with a population raster: cost-distance over the run's friction grid
    (accessibility.friction_grid; AccessMod's method, issue 18 item 2).

    The accumulated time from the facilities (exact up to the largest threshold) is read at each populated
    cell's centre; a cell is within threshold t when its time ≤ t (boundary included). The served flow's
    pairs are the cells within the first threshold of each facility (one search per facility). A cell outside
    the grid (beyond the zones and their margin) is not reachable. Figures, rows and notes as the settlement pass.
    With `isochrones`, the isochrone of every facility × threshold from the same grid, friction and surface
    (_raster_isochrones), into `out.isochrones`.
    """
    minutes = list(ctx.travel["thresholds_min"])
    seconds = minutes_to_seconds(minutes)
    # The surface is float32: compare it with the thresholds rounded to float32. Rounding is monotonic, so a cell
    # reached within t (float64) stays within it; one up to half a float32 step beyond (~3e-5 s at 15 min) may too.
    limits32 = (seconds + TIME_TOLERANCE_S).astype(np.float32)
    fg = ctx.friction_grid()
    grid = fg.grid
    fxy = np.column_stack([fac.lon, fac.lat])
    ctx.progress(lo, f"{scenario}: travel times over a {grid.width} × {grid.height} friction grid")
    surface = accumulated_time(grid, fg.friction, facilities_xy=fxy, limit_s=float(np.max(seconds)))
    cell, fac_of, _seconds = ctx.cell_catchment(fxy, limit_s=float(seconds[0]), nearest_s=lambda: surface.time_s)
    catchment = (cell, fac_of)
    flow = ServedPass(fac=fac, n_zones=ctx.n_zones)
    slots = ctx.n_zones + 1
    tally = _TravelTally.zeros(thresholds=len(minutes), slots=slots)
    stats: dict = {}
    for chunk in ctx.chunks(
        progress=lambda f: ctx.progress(lo + (hi - lo) * f, f"{scenario}: travel times"), stats=stats
    ):
        if not len(chunk):
            continue
        row, col = grid.cells_of(chunk.lon, chunk.lat)
        on = row >= 0
        flat = np.where(on, row * grid.width + col, -1)
        time_s = np.full(len(chunk), np.inf, dtype=np.float32)
        time_s[on] = surface.time_s[row[on], col[on]]
        slot = np.where(chunk.zone == NO_ZONE, ctx.n_zones, chunk.zone)
        tally.children += np.bincount(slot, weights=chunk.children, minlength=slots)
        for i, limit in enumerate(limits32):
            inside = time_s <= limit
            tally.within[i] += np.bincount(slot[inside], weights=chunk.children[inside], minlength=slots)
        tally.not_reachable += np.bincount(slot[~on], weights=chunk.children[~on], minlength=slots)
        reached = np.isfinite(time_s)
        tally.time_sum += np.bincount(
            slot[reached], weights=chunk.children[reached] * time_s[reached].astype(np.float64), minlength=slots
        )
        tally.locations += len(chunk)
        tally.points_unreachable += int((~on).sum())
        barred = np.zeros(len(chunk), dtype=bool)
        barred[on] = ~np.isfinite(fg.friction[row[on], col[on]])
        if barred.any():
            tally.cells_on_barrier += int(barred.sum())
            tally.on_barrier = (0.0 if tally.on_barrier is None else tally.on_barrier) + np.bincount(
                slot[barred], weights=chunk.children[barred], minlength=slots
            )
        p, f = pairs_of_cells(catchment, flat)
        flow.add_pairs(chunk, point_idx=p, fac_idx=f)
        if on_chunk is not None:
            on_chunk(chunk, time_s <= limits32[0])
    if stats:
        out.inputs.setdefault("raster_stats", stats)
    if isochrones:
        _raster_isochrones(ctx, fac, fg=fg, nearest_s=surface.time_s, at=hi, out=out)
    return _travel_record(ctx, fac, flow=flow, tally=tally, scenario=scenario, out=out)


def _raster_isochrones(
    ctx: Context, fac: Facilities, *, fg: FrictionGrid, nearest_s: np.ndarray, at: float, out: Outcome
) -> None:
    """The isochrone of every facility × threshold over the run's friction grid (layers.analysis.friction_isochrones):
    the cells the pass counts as within each threshold of the facility, drawn along their edges; EPSG:4326. A
    facility off the grid (it reaches no cell) has none; the time it took goes into the notes."""
    minutes = [float(m) for m in ctx.travel["thresholds_min"]]
    started = time.monotonic()
    ctx.progress(at, f"isochrones: {len(fac)} facilities over the friction grid")
    polygons = friction_isochrones(
        fg.grid,
        fg.friction,
        facilities_xy=np.column_stack([fac.lon, fac.lat]),
        thresholds_s=minutes_to_seconds(minutes),
        nearest_s=nearest_s,
    )
    drawn = 0
    for row, facility_id in enumerate(fac.ids.tolist()):
        if polygons[row, 0] is None:
            continue
        drawn += 1
        out.isochrones += [
            {"facility_id": int(facility_id), "minutes": m, "geom": polygons[row, k]} for k, m in enumerate(minutes)
        ]
    out.notes.append(
        plural_note(
            "isochrones_drawn_on_the_friction_grid",
            n=drawn * len(minutes),
            facilities=drawn,
            thresholds=len(minutes),
            seconds=f"{time.monotonic() - started:.1f}",
            cell=f"{fg.cell_m:.0f}",
        )
    )


def _travel_record(
    ctx: Context, fac: Facilities, *, flow: ServedPass, tally: _TravelTally, scenario: str, out: Outcome
) -> dict:
    """Scale, solve the served flow and record a travel-time pass: zone rows, notes, the summary (settlements or
    raster cells alike)."""
    minutes = list(ctx.travel["thresholds_min"])
    children, within, not_reachable = tally.children, tally.within, tally.not_reachable
    factors, notes, report = ctx.factors(children)
    out.notes += [n for n in notes if n not in out.notes]
    if report:
        out.inputs["scaling"] = report
    covered_slots = within[0] * factors
    served = flow.solve(factors=factors, covered=covered_slots)
    ratio = flow.point_ratio()
    for pt in out.points:
        if pt["scenario"] == scenario and pt["settlement_id"] in ratio:
            pt["served"] = pt["children"] * ratio[pt["settlement_id"]] if pt["covered"] else 0.0
    out.zone_rows += ctx.zone_rows_from(
        scenario=scenario,
        children=children * factors,
        factors=factors,
        covered=covered_slots,
        served=served,
        within_minutes=within * factors,
        not_reachable=not_reachable * factors,
    )
    total = float((children * factors).sum())
    covered = float(covered_slots.sum())
    capacity, capacity_notes = flow.summary(total=total, covered=covered, served=float(served.sum()))
    for n in ctx.capacity_notes + capacity_notes:
        if n not in out.notes:
            out.notes.append(n)
    lost = float((not_reachable * factors).sum())
    if tally.points_unreachable:
        n = (
            plural_note(
                "settlements_not_reachable",
                n=tally.points_unreachable,
                children=f"{lost:.0f}",
                max_snap=f"{ctx.travel['max_snap_m']:.0f}",
            )
            if ctx.settlements is not None
            else plural_note("cells_off_the_friction_grid", n=tally.points_unreachable, children=f"{lost:.0f}")
        )
        if n not in out.notes:
            out.notes.append(n)
    if tally.cells_on_barrier:
        n = plural_note(
            "populated_cells_on_a_barrier",
            n=tally.cells_on_barrier,
            children=f"{float((tally.on_barrier * factors).sum()):.0f}",
        )
        if n not in out.notes:
            out.notes.append(n)
    reached_children = float((within[int(np.argmax(minutes))] * factors).sum())
    return {
        **capacity,
        "children": total,
        "covered": covered,
        "covered_pct": (100 * covered / total) if total else None,
        "facilities": len(fac),
        "locations": tally.locations,
        "headline_minutes": minutes[0],
        "within_minutes": [
            {
                "minutes": m,
                "children": float((within[i] * factors).sum()),
                "pct": (100 * float((within[i] * factors).sum()) / total) if total else None,
            }
            for i, m in enumerate(minutes)
        ],
        "children_not_reachable": lost,
        # Settlements beyond max_snap_m; with a raster, populated cells off the friction grid.
        ("settlements_not_reachable" if ctx.settlements is not None else "cells_not_reachable"): (
            tally.points_unreachable
        ),
        "mean_time_min": (float((tally.time_sum * factors).sum()) / reached_children / 60)
        if reached_children
        else None,
    }


def travel_notes(ctx: Context, out: Outcome, *, served: bool = True) -> None:
    """Where the network came from and what the thresholds mean, once per run (`served`: the run counts children
    served within capacity, whose catchment is the first threshold; 2SFCA says its catchment itself)."""
    info = ctx.travel_inputs()
    out.inputs["travel"] = info
    net = info["network"]
    if ctx.settlements is None:
        fg = ctx.friction_grid()
        info["friction_grid"] = {
            "method": "cost-distance (MCP_Geometric, 8 neighbours)",
            "crs": fg.grid.crs,
            "cell_m": fg.cell_m,
            "width": fg.grid.width,
            "height": fg.grid.height,
            "margin_m": fg.margin_m,
            "fastest_kmh": fg.fastest_kmh,
            "road_edges": fg.roads,
            "barriers": sum(fg.barriers.values()),
            "barrier_kinds": fg.barriers,
        }
        out.notes.append(
            note(
                gettext_noop(
                    "travel time by cost-distance (AccessMod's method) on a friction grid of %(cell)s m cells from "
                    "the road network %(name)s (source: %(source)s, dated %(date)s): roads at their speeds, off the "
                    "roads %(off)s km/h in any direction; each populated cell takes the time at its centre; the "
                    "first threshold, %(minutes)s min, is the catchment of the served children; a cell reached in "
                    "exactly a threshold is within it"
                )
                if served
                else gettext_noop(
                    "travel time by cost-distance (AccessMod's method) on a friction grid of %(cell)s m cells from "
                    "the road network %(name)s (source: %(source)s, dated %(date)s): roads at their speeds, off the "
                    "roads %(off)s km/h in any direction; each populated cell takes the time at its centre; the "
                    "catchment is the first threshold, %(minutes)s min; a cell reached in exactly that time is "
                    "within it"
                ),
                cell=f"{fg.cell_m:.0f}",
                name=net["name"],
                source=net["source_description"] or net["source_file"],
                date=net["source_date"] or "—",
                off=f"{fg.off_network_kmh:g}",
                minutes=f"{info['thresholds_min'][0]:g}",
            )
        )
        if fg.barriers:
            out.notes.append(
                plural_note(
                    "barriers_on_the_friction_grid",
                    n=sum(fg.barriers.values()),
                    kinds=", ".join(f"{kind} {count}" for kind, count in fg.barriers.items()),
                    name=net["name"],
                )
            )
        return
    out.notes.append(
        note(
            gettext_noop(
                "travel time on the road network %(name)s (source: %(source)s, dated %(date)s; off the network "
                "%(off)s km/h in a straight line, at most %(snap)s m); the first threshold, %(minutes)s min, is "
                "the catchment of the served children; a settlement reached in exactly a threshold is within it"
            )
            if served
            else gettext_noop(
                "travel time on the road network %(name)s (source: %(source)s, dated %(date)s; off the network "
                "%(off)s km/h in a straight line, at most %(snap)s m); the catchment is the first threshold, "
                "%(minutes)s min; a settlement reached in exactly that time is within it"
            ),
            name=net["name"],
            source=net["source_description"] or net["source_file"],
            date=net["source_date"] or "—",
            off=f"{info['off_network_kmh']:g}",
            snap=f"{info['max_snap_m']:.0f}",
            minutes=f"{info['thresholds_min'][0]:g}",
        )
    )


# Facilities per call of the isochrone engine: progress is reported between calls (a polygon takes ~0.1 s).
ISOCHRONE_BATCH = 25


def isochrones_pass(ctx: Context, fac: Facilities, *, lo: float, hi: float, out: Outcome) -> None:
    """The isochrone of every facility × threshold of the run (layers.analysis.isochrones), EPSG:4326.

    Same graph, off-network speed and max_snap_m as the travel pass; the time it took goes into the notes.
    """
    minutes = [float(m) for m in ctx.travel["thresholds_min"]]
    graph = ctx.road_graph()
    fxy = np.column_stack([fac.lon, fac.lat])
    started = time.monotonic()
    n_fac = len(fxy)
    for start in range(0, n_fac, ISOCHRONE_BATCH):
        ctx.progress(lo + (hi - lo) * start / n_fac, f"isochrones: facility {start + 1} of {n_fac}")
        stop = min(start + ISOCHRONE_BATCH, n_fac)
        polygons = isochrone_polygons(graph, fxy[start:stop], minutes_to_seconds(minutes))
        for row, facility_id in enumerate(fac.ids[start:stop].tolist()):
            out.isochrones += [
                {"facility_id": int(facility_id), "minutes": m, "geom": polygons[row, k]} for k, m in enumerate(minutes)
            ]
    out.notes.append(
        plural_note(
            "isochrones_drawn",
            n=len(out.isochrones),
            facilities=n_fac,
            thresholds=len(minutes),
            seconds=f"{time.monotonic() - started:.1f}",
            overstate=f"{2.5 * DEFAULT_TOLERANCE_M:.0f}",
        )
    )


def travel_fca_note(ctx: Context) -> dict:
    """What the catchment and the decay of a travel-time 2SFCA are, in the run's words."""
    minutes = f"{ctx.travel['thresholds_min'][0]:g}"
    if ctx.travel["decay"] == "gaussian":
        return note(
            gettext_noop(
                "2SFCA catchments are %(minutes)s min of travel, weighted by the Gaussian distance decay of Dai "
                "(2010): G(t) = (exp(−½(t/T)²) − exp(−½)) / (1 − exp(−½)), 1 at the door and 0 at T = "
                "%(minutes)s min"
            ),
            minutes=minutes,
        )
    return note(
        gettext_noop("2SFCA catchments are %(minutes)s min of travel, every facility within them counted in full"),
        minutes=minutes,
    )


def _network_reach(ctx: Context, fxy: np.ndarray, *, limit_s: float):
    """chunk → (point, facility, seconds, attached): the reach pairs of a chunk of settlements on the run's road
    network within `limit_s` (catchment_pairs_time) and which of its points the network attaches."""
    graph = ctx.road_graph()

    def reach(chunk):
        snap = ctx.road_snap(chunk.lon, chunk.lat)
        p, f, t = catchment_pairs_time(graph, fxy, lon=chunk.lon, lat=chunk.lat, limit_s=limit_s, snap=snap)
        return p, f, t, snap.attached

    return reach


def _cell_reach(ctx: Context, fxy: np.ndarray, *, limit_s: float):
    """chunk → (point, facility, seconds, on the grid): every facility within `limit_s` of each populated cell of a
    chunk over the run's friction grid, with the time from that facility alone to the friction cell under the
    cell's centre (catchment_cell_times: one search per facility, cut down by the nearest-facility surface). The
    pairs of the whole grid are held for the pass (24 bytes each), as the coverage pass holds its served pairs."""
    fg = ctx.friction_grid()
    grid = fg.grid
    cell, fac_of, seconds = ctx.cell_catchment(
        fxy,
        limit_s=limit_s,
        nearest_s=lambda: accumulated_time(grid, fg.friction, facilities_xy=fxy, limit_s=limit_s).time_s,
    )

    def reach(chunk):
        row, col = grid.cells_of(chunk.lon, chunk.lat)
        on = row >= 0
        p, at = pair_positions(cell, np.where(on, row * grid.width + col, -1))
        return p, fac_of[at], seconds[at], on

    return reach


def travel_fca_pass(ctx: Context, fac: Facilities, *, scenario: str, lo: float, out: Outcome) -> dict:
    """2SFCA by travel time (layers.analysis.travel_fca): catchments are the first of the run's thresholds,
    weighted by travel.decay; places per 1 000 children per settlement (or populated cell), zone and nationally,
    as by distance.

    The reach pairs of all points are held at once (memory ∝ pairs). Settlements reach the facilities on the road
    network: one farther than travel.max_snap_m from every road node and facility is not reachable. Populated cells
    of a raster reach them over the run's friction grid (_cell_reach, the times of the coverage pass's served
    pairs): one off the grid is not reachable. Either has no access and is counted apart in a note. A raster's
    children are scaled to official totals when the run asks for it, before the two steps.
    """
    minutes = list(ctx.travel["thresholds_min"])
    limit_s = float(minutes_to_seconds(minutes[0]))
    decay = ctx.travel["decay"]
    fxy = np.column_stack([fac.lon, fac.lat])
    slots = ctx.n_zones + 1
    parts: dict[str, list] = {k: [] for k in ("children", "slot", "ids", "urban", "attached", "p", "f", "t")}
    n = 0
    ctx.progress(lo, f"{scenario}: 2SFCA by travel time from {len(fac)} facilities")
    reach = (
        _cell_reach(ctx, fxy, limit_s=limit_s) if ctx.settlements is None else _network_reach(ctx, fxy, limit_s=limit_s)
    )
    stats: dict = {}
    # No urban/rural summary of radii (the travel-time coverage pass has none either): both classes reach the
    # facilities over the same roads; each settlement's class is still stored with it.
    for chunk in ctx.chunks(stats=stats):
        if not len(chunk):
            continue
        p, f, t, attached = reach(chunk)
        parts["p"].append(p + n)
        parts["f"].append(f)
        parts["t"].append(t)
        parts["children"].append(chunk.children)
        parts["slot"].append(np.where(chunk.zone == NO_ZONE, ctx.n_zones, chunk.zone))
        parts["ids"].append(chunk.ids)
        parts["urban"].append(chunk.urban)
        parts["attached"].append(attached)
        n += len(chunk)
    if stats:
        out.inputs.setdefault("raster_stats", stats)
    cat = {k: np.concatenate(v) if v else np.empty(0) for k, v in parts.items() if k != "ids"}
    slot = cat["slot"].astype(np.int64)
    p, f = cat["p"].astype(np.int64), cat["f"].astype(np.int64)
    raw = np.bincount(slot, weights=cat["children"], minlength=slots)
    factors, notes, report = ctx.factors(raw)  # ones for settlement points
    out.notes += [x for x in notes if x not in out.notes]
    if report:
        out.inputs["scaling"] = report
    children = cat["children"] * factors[slot]
    res = travel_fca(
        point_idx=p, fac_idx=f, seconds=cat["t"], children=children, places=fac.capacity, limit_s=limit_s, decay=decay
    )
    nearest = np.full(n, np.inf)
    np.minimum.at(nearest, p, cat["t"])
    reachable = cat["attached"].astype(bool) | res.reached
    rows = ctx.zone_rows_from(
        scenario=scenario,
        children=np.bincount(slot, weights=children, minlength=slots),
        factors=factors,
        weighted_access=np.bincount(slot, weights=children * res.access, minlength=slots),
        without_access=np.bincount(slot, weights=np.where(res.reached, 0.0, children), minlength=slots),
    )
    access_rows_merge(out, rows)
    ids = [i for chunk_ids in parts["ids"] if chunk_ids is not None for i in chunk_ids.tolist()]
    if len(ids) == n:
        for i, sid in enumerate(ids):
            out.points.append(
                {
                    "scenario": scenario,
                    "settlement_id": sid,
                    "children": float(cat["children"][i]),
                    "access_per_1000": float(res.access[i]),
                    "travel_time_s": float(nearest[i]) if np.isfinite(nearest[i]) else None,
                    "reachable": bool(reachable[i]),
                    "urban": bool(cat["urban"][i]),
                }
            )
    lost = ~reachable
    if lost.any():
        lost_children = f"{float(children[lost].sum()):.0f}"
        msg = (
            plural_note(
                "settlements_not_reachable",
                n=int(lost.sum()),
                children=lost_children,
                max_snap=f"{ctx.travel['max_snap_m']:.0f}",
            )
            if ctx.settlements is not None
            else plural_note("cells_off_the_friction_grid", n=int(lost.sum()), children=lost_children)
        )
        if msg not in out.notes:
            out.notes.append(msg)
    total = float(children.sum())
    return {
        "access_per_1000": float((children * res.access).sum() / total) if total else None,
        "children_without_access": float(children[~res.reached].sum()),
        "places": float(fac.capacity.sum()),
        "facilities": len(fac),
        "headline_minutes": minutes[0],
    }


def travel_sites_matrix(ctx: Context, fac: Facilities, *, cands: list, cand_note, out: Outcome, kind: str):
    """Coverage by travel time (the first threshold), then the candidate × uncovered-settlements matrix by the
    same time over the same network (layers.analysis.travel_siting): a new site covers a settlement whose
    children reach it within the first threshold, exactly as an existing facility covers one. With a population
    raster, over the run's friction grid (_cell_sites_matrix)."""
    if ctx.settlements is None:
        return _cell_sites_matrix(ctx, fac, cands=cands, cand_note=cand_note, out=out, kind=kind)
    limit_s = float(minutes_to_seconds(ctx.travel["thresholds_min"][0]))
    kept: dict[str, list] = {"lon": [], "lat": [], "w": [], "zone": [], "snap": []}

    def keep(chunk, covered):
        idx = np.nonzero(~covered)[0]
        kept["lon"].append(chunk.lon[idx])
        kept["lat"].append(chunk.lat[idx])
        kept["w"].append(chunk.children[idx])
        kept["zone"].append(chunk.zone[idx])
        kept["snap"].append(ctx.road_snap(chunk.lon, chunk.lat).take(idx))  # the pass's snap, not a new one

    cov = travel_pass(ctx, fac, scenario="current", lo=0.0, hi=0.7, out=out, on_chunk=keep)
    snaps = kept.pop("snap")
    snap = Snap.concat(snaps) if snaps else None
    cat = {k: (np.concatenate(v) if v else np.empty(0)) for k, v in kept.items()}
    zone = cat["zone"].astype(np.int64)
    # The same factors the pass applied (ones for settlement points).
    w = cat["w"] * ctx.last_factors[np.where(zone < 0, ctx.n_zones, zone)] if zone.size else cat["w"]
    graph = ctx.road_graph()
    c_lon = np.array([c[2] for c in cands])
    c_lat = np.array([c[3] for c in cands])
    ctx.progress(0.75, f"travel times from {len(cands)} candidates")
    m = travel_coverage_matrix(
        graph, cand_lon=c_lon, cand_lat=c_lat, lon=cat["lon"], lat=cat["lat"], limit_s=limit_s, snap=snap
    )
    off = int((~graph.snap(c_lon, c_lat).attached).sum())
    reach_note = note(
        gettext_noop(
            "candidates: %(source)s; a new site (kind %(kind)s) covers the settlements whose children reach it within "
            "%(minutes)s min on the road network, as the facilities already there do"
        ),
        source=cand_note,
        kind=kind,
        minutes=f"{ctx.travel['thresholds_min'][0]:g}",
    )
    return m, w, cov, reach_note, {"not_reachable": off}


# (candidate, populated cell) pairs of best sites by travel time with a raster: 16 bytes each (~32 at the peak of
# their sort: ~0.6 GiB at the limit), then the candidates × cells matrix the siting functions read (12 bytes a pair).
MAX_SITE_PAIRS = 20_000_000


def _cell_sites_matrix(ctx: Context, fac: Facilities, *, cands: list, cand_note, out: Outcome, kind: str):
    """Best sites by travel time with a population raster: coverage over the friction grid (the first threshold),
    then the candidate × uncovered-cells matrix by the same cost-distance over the same grid.

    The candidates are searched as the facilities are (catchment_cells: one search per candidate, cut down
    by the nearest-candidate surface): a candidate covers the friction cells within the first threshold of it
    (boundary included), and with them the populated cells whose centres fall there that the existing
    facilities do not cover. Only those cells are kept, their (scaled) children summed per friction cell: one
    column each. More than MAX_SITE_PAIRS (candidate, cell) pairs are refused with their count."""
    limit_s = float(minutes_to_seconds(ctx.travel["thresholds_min"][0]))
    fg = ctx.friction_grid()
    grid = fg.grid
    cxy = np.array([(c[2], c[3]) for c in cands], dtype=np.float64).reshape(-1, 2)
    ctx.progress(0.0, f"travel times from {len(cands)} candidates over the friction grid")
    nearest = accumulated_time(grid, fg.friction, facilities_xy=cxy, limit_s=limit_s)
    # float32 surface: rounding is monotonic, so every cell within the limit of a candidate (float64) is kept.
    limit32 = np.float32(limit_s + TIME_TOLERANCE_S)
    kept: dict[str, list] = {"cell": [], "w": [], "zone": []}

    def keep(chunk, covered):
        row, col = grid.cells_of(chunk.lon, chunk.lat)
        idx = np.nonzero(~covered & (row >= 0))[0]
        idx = idx[nearest.time_s[row[idx], col[idx]] <= limit32]
        kept["cell"].append(row[idx] * grid.width + col[idx])
        kept["w"].append(chunk.children[idx])
        kept["zone"].append(chunk.zone[idx])

    cov = travel_pass(ctx, fac, scenario="current", lo=0.05, hi=0.7, out=out, on_chunk=keep)
    cat = {k: (np.concatenate(v) if v else np.empty(0)) for k, v in kept.items()}
    zone = cat["zone"].astype(np.int64)
    # The same factors the pass applied (ones unless the run scales the raster to official totals).
    w = cat["w"] * ctx.last_factors[np.where(zone < 0, ctx.n_zones, zone)]
    cells, inverse = np.unique(cat["cell"].astype(np.int64), return_inverse=True)
    w = np.bincount(inverse, weights=w, minlength=cells.size)
    mask = np.zeros(grid.shape, dtype=bool)
    np.put(mask, cells, True)
    ctx.progress(0.75, f"travel times from {len(cands)} candidates to {cells.size} cells not covered")
    try:
        cell, cand = catchment_cells(
            grid,
            fg.friction,
            facilities_xy=cxy,
            limit_s=limit_s,
            nearest_s=nearest.time_s,
            keep=mask,
            max_pairs=MAX_SITE_PAIRS,
        )
    except CatchmentTooLarge as exc:
        raise ValueError(
            f"best sites by travel time with a population raster: the {exc.facilities} candidates reach more than "
            f"{MAX_SITE_PAIRS:,} (candidate, populated cell not covered) pairs ({exc.pairs:,} after the first "
            f"{exc.searched}): choose fewer candidates, fewer regions, a smaller first threshold or a coarser raster"
        ) from exc
    m = sparse.csr_matrix((np.ones(cell.size), (cand, np.searchsorted(cells, cell))), shape=(len(cands), cells.size))
    reach_note = note(
        gettext_noop(
            "candidates: %(source)s; a new site (kind %(kind)s) covers the populated cells whose children reach it "
            "within %(minutes)s min over the friction grid, as the facilities already there do"
        ),
        source=cand_note,
        kind=kind,
        minutes=f"{ctx.travel['thresholds_min'][0]:g}",
    )
    # Candidates off the friction grid or on an impassable cell reach no cell.
    return m, w, cov, reach_note, {"not_reachable": int((~nearest.facility_placed).sum())}
