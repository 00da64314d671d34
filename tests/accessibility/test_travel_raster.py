"""Travel time with a population raster (issue 18 item 2): cost-distance over a friction grid, checked by hand.

The world is drawn in the friction grid's own metres (KAZAKHSTAN_LCC), near Astana's centre (region_a), so that
the test raster's 500 m cells are the grid's cells (both aligned on multiples of 500 m):

    a raster of 9 rows × 30 columns of 500 m cells, 1 + (column mod 3) children per cell (540 in all);
    a primary road along the middle row (row 4) from the centre of column 0 eastwards over 36 cells, the primary
    class set to 57.6 km/h (0.0625 s/m: 31.25 s a cell) and the off-network speed to 3.6 km/h (1 s/m: 500 s a
    cell) — both exact in binary, so that times are exact and a boundary can be hit exactly;
    one health centre H (10 places × 4 shifts = 40 children a year), planned in 2025, at the road's west end.

A step of the 8-neighbour search costs the mean friction of its two cells × its length. The cell n columns east of
H and k rows off the road is reached along the road to column n and then straight off it:

    k = 0:   31.25 n
    k ≥ 1:   31.25 n + 265.625 (the step off the road: (31.25 + 500) / 2) + 500 (k − 1)

(a diagonal step off the road, 707 s or 376 s for the first, costs more than a straight one and 31.25 s of road).
Within 15 min (900 s): k = 0 n ≤ 28 (29 cells), |k| = 1 n ≤ 20 (21), |k| = 2 n ≤ 4 (5): 81 cells.
Within 30 min (1800 s): k = 0, |k| = 1, |k| = 2 all 30 columns, |k| = 3 n ≤ 17 (18), |k| = 4 n ≤ 1 (2): 190 cells.
Boundary: 14.84375 min = 890.625 s is exactly the time of the cells (|k| = 1, n = 20) and (|k| = 2, n = 4).

The isochrones take every cell of the friction grid, populated or not: also the cells west of H, reached off the
road from H's cell (its first step 265.625 s straight, 265.625 √2 = 375.66 s diagonal, then 500 s straight and
707.11 s diagonal steps): one column west 265.625 s, (−1, ±1) 375.66 s, (−2, 0) 765.625 s, (−2, ±1) and (−1, ±2)
875.66 s; the next ones take more than 1 000 s. Within 5 min (300 s): k = 0 n ≤ 9 (10), |k| = 1 n ≤ 1 (4) and
one cell west: 15 cells. Within 14.84375 min: the 81 cells above and the 8 west of H: 89 (85 without the 4 cells
at exactly the threshold).

2SFCA (T = 14.84375 min = 890.625 s, the boundary above; places, not children a year, are shared): a second
health centre F (5 places)
on the road at column 10 reaches the cell n columns east or west of it in hand_seconds(|n − 10|, k): k = 0 and
|k| = 1 all 30 columns (3 rows × 60 children = 180), |k| = 2 columns 6…14 (2 × 18 = 36; columns 6 and 14 at exactly
T): 216 children. H reaches 81 cells with 159 children (above). Decay none: R_H = 10 / 159, R_F = 5 / 216; a cell
both reach has 1000 (R_H + R_F) places per 1 000 children. Reached by neither: 540 − 216 − 18 (H's |k| = 2 columns
0…4, 9 children a row) = 306 children.

Best sites (T = 890.625 s, H alone covering its 159 children): candidates on the road at column 20 (C20) and column
5 (C5), and one off the road on row 0 at column 25 (C25off). Uncovered children each reaches: C20 the k = 0 cell at
column 29 (3), |k| = 1 columns 21…29 (2 × 18) and |k| = 2 columns 16…24 (2 × 18; 16 and 24 at exactly T): 75; C5
column 29 (3), |k| = 1 columns 21…25 (2 × 9; 25 at T) and |k| = 2 columns 5…9 (2 × 10; 9 at T): 41; C25off its 3 × 3
block by 500 s and 707 s steps, rows 0–1 populated: 2 × 6 = 12. Greedy for 2 sites: C20 (75), then C5 (20 more:
its |k| = 2 columns 5…9), 95 in all (C20 + C25off: 87).
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date
from types import SimpleNamespace

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import CRS, Proj, Transformer
from rasterio.transform import from_origin
from rest_framework.test import APIClient

from accessibility import friction_grid, run_context, travel_passes
from accessibility.forms import RunForm
from accessibility.models import AnalysisRun, AreaResult, Isochrone, SiteResult, ZoneResult
from accessibility.notes import note_text
from accessibility.services import analysis_run_execute, population_raster_register, run_parameters_normalise
from facilities.models import Facility, FacilityKind
from layers.analysis.friction import KAZAKHSTAN_LCC, Grid
from roads.models import RoadSpeed
from roads.services import road_barriers_load, road_network_load
from tests.accessibility.run_form import RUN_FORM
from tests.accessibility.travel_world import execute_run, health_centre
from tests.conftest import official_children_figure
from tests.roads.conftest import geojson_write, line

CELL = 500.0  # metres, the raster's and the friction grid's
ROWS, COLS, ROAD_ROW = 9, 30, 4
ROAD_KMH, OFF_KMH = 57.6, 3.6
ROAD_CELL_S = CELL * 3.6 / ROAD_KMH  # 31.25
OFF_CELL_S = CELL * 3.6 / OFF_KMH  # 500
PLACES, SHIFTS = 10, 4


def hand_seconds(n: int, k: int) -> float:
    """Seconds from H to the cell n columns east and k rows off the road (the module's docstring)."""
    if k == 0:
        return ROAD_CELL_S * n
    return ROAD_CELL_S * n + (ROAD_CELL_S + OFF_CELL_S) / 2 + OFF_CELL_S * (abs(k) - 1)


def hand_children(row: int, col: int) -> float:
    return 1.0 + col % 3


def hand_cells():
    for row in range(ROWS):
        for col in range(COLS):
            yield hand_children(row, col), hand_seconds(col, row - ROAD_ROW)


def hand_within(limit_s: float) -> float:
    return sum(ch for ch, t in hand_cells() if t <= limit_s)


# Seconds from H to the friction cells west of it within 1 000 s (the module's docstring).
WEST_OF_H = [265.625, 765.625] + [265.625 * math.sqrt(2)] * 2 + [265.625 * math.sqrt(2) + 500.0] * 4


def hand_grid_cells(limit_s: float) -> int:
    """Friction cells (populated or not) within `limit_s` of H, for limits below 906.25 s (29 road cells: all of
    them within the raster's columns, no cell 3 rows off the road)."""
    assert limit_s < 29 * ROAD_CELL_S
    return sum(1 for _ch, t in hand_cells() if t <= limit_s) + sum(1 for t in WEST_OF_H if t <= limit_s)


@pytest.mark.parametrize(
    ("crs", "pixel", "cell_m"),
    [
        # 30″ at 51° N: 585 m east–west (111.3 km × cos 51° / 120) by 927 m north–south: √(585 × 927) = 736 m.
        ("EPSG:4326", (1 / 120, 1 / 120), 736.0),
        ("EPSG:32642", (100.0, 100.0), 100.0),  # metres as they are
        ("EPSG:32642", (90.0, 160.0), 120.0),  # not square: the side of the square of the same area
    ],
)
def test_friction_cell_is_the_side_of_the_raster_cell_area(crs, pixel, cell_m):
    raster = SimpleNamespace(crs_wkt=CRS.from_user_input(crs).to_wkt(), pixel_size_x=pixel[0], pixel_size_y=-pixel[1])
    assert friction_grid.raster_cell_m(raster=raster, lat=51.0) == cell_m


def test_hand_figures_are_what_the_docstring_says():
    count = lambda limit: sum(1 for _ch, t in hand_cells() if t <= limit)  # noqa: E731
    assert (ROAD_CELL_S, OFF_CELL_S) == (31.25, 500.0)
    assert (count(900.0), count(1800.0), count(890.625), count(890.625 - 1e-3)) == (81, 190, 81, 77)
    assert sum(ch for ch, _t in hand_cells()) == 540.0


@pytest.fixture
def raster_world(db, tmp_path, region_a):
    to_lcc = Transformer.from_crs("EPSG:4326", KAZAKHSTAN_LCC, always_xy=True)
    to_lonlat = Transformer.from_crs(KAZAKHSTAN_LCC, "EPSG:4326", always_xy=True)
    cx, cy = to_lcc.transform(region_a.centre.x, region_a.centre.y)
    x0 = math.floor(cx / CELL) * CELL - 15 * CELL  # the raster's west edge
    y0 = math.floor(cy / CELL) * CELL + 5 * CELL  # its north edge
    road_y = y0 - (ROAD_ROW + 0.5) * CELL
    west = to_lonlat.transform(x0 + 0.5 * CELL, road_y)
    east = to_lonlat.transform(x0 + 36.5 * CELL, road_y)

    RoadSpeed.objects.filter(kind=RoadSpeed.Kind.ROAD, road_class="primary", surface="").update(speed_kmh=ROAD_KMH)
    RoadSpeed.objects.filter(kind=RoadSpeed.Kind.OFF_NETWORK).update(speed_kmh=OFF_KMH)
    network = road_network_load(
        path=geojson_write(tmp_path / "straight.geojson", [line([west, east], highway="primary", oneway="no")]),
        name="straight road",
        label="summer",
        source_description="drawn by the test",
        source_date=date(2026, 6, 1),
    )
    assert network.edge_count == 1

    data = np.array([[hand_children(r, c) for c in range(COLS)] for r in range(ROWS)], dtype=np.float32)
    path = tmp_path / "lcc_children.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=COLS,
        height=ROWS,
        count=1,
        dtype="float32",
        crs=KAZAKHSTAN_LCC,
        transform=from_origin(x0, y0, CELL, CELL),
        nodata=-1.0,
    ) as dst:
        dst.write(data, 1)
    raster = population_raster_register(path=path, name="lcc", bands=[1], year=2024, source="test")

    Facility.objects.update(location=None)  # the demo facilities do not count here
    FacilityKind.objects.filter(code="health_centre").update(shifts_per_year=SHIFTS, shifts_assumed=False)
    health = health_centre("H", region=region_a, places=PLACES, at=west)
    return SimpleNamespace(
        network=network,
        raster=raster,
        health=health,
        # The raster's west and north edges in the friction grid's metres, and the way back to lon/lat.
        x0=x0,
        y0=y0,
        to_lonlat=to_lonlat,
        # The centre of the raster's cell (row, col), EPSG:4326.
        cell_at=lambda row, col: to_lonlat.transform(x0 + (col + 0.5) * CELL, y0 - (row + 0.5) * CELL),
    )


def raster_params(region, world, minutes, **extra) -> dict:
    return {
        "region_ids": [region.id],
        "demand": {"source": "raster", "raster_id": world.raster.pk},
        "facilities": {"scope": "all", "purpose": "recreation"},
        "travel": {"network": world.network.pk, "thresholds_min": minutes},
        **extra,
    }


def test_coverage_with_a_raster_by_cost_distance(region_a, raster_world):
    run = execute_run("coverage", raster_params(region_a, raster_world, [15, 30]))
    s = run.summary
    covered, within_30 = hand_within(900.0), hand_within(1800.0)
    assert (covered, within_30) == (159.0, 378.0)  # 81 and 190 cells
    assert s["children_total"] == pytest.approx(540.0)
    assert s["locations"] == ROWS * COLS
    assert [w["children"] for w in s["within_minutes"]] == [pytest.approx(covered), pytest.approx(within_30)]
    assert [w["minutes"] for w in s["within_minutes"]] == [15, 30]
    assert s["covered"] == pytest.approx(covered)
    assert s["children_served"] == pytest.approx(PLACES * SHIFTS, abs=1e-6)
    assert s["children_over_capacity"] == pytest.approx(covered - PLACES * SHIFTS, abs=1e-6)
    assert s["children_not_covered"] == pytest.approx(540.0 - covered)
    assert s["children_not_reachable"] == 0.0 and s["cells_not_reachable"] == 0
    assert "settlements_not_reachable" not in s
    reached = [(ch, t) for ch, t in hand_cells() if t <= 1800.0]
    hand_mean_min = sum(ch * t for ch, t in reached) / sum(ch for ch, _t in reached) / 60
    assert s["mean_time_min"] == pytest.approx(hand_mean_min, rel=1e-9)

    assert "write_raster" not in run.parameters  # no distance raster by travel time
    grid = run.inputs["travel"]["friction_grid"]
    assert grid["cell_m"] == CELL and grid["crs"] == KAZAKHSTAN_LCC and grid["road_edges"] == 1
    assert (grid["barriers"], grid["barrier_kinds"]) == (0, {})  # the network has none: no note either
    assert run.inputs["travel"]["network"]["barriers"] == {}
    assert grid["fastest_kmh"] == ROAD_KMH and grid["margin_m"] == pytest.approx(30 / 60 * ROAD_KMH * 1000)
    notes = [note_text(n) for n in run.notes]
    assert any(
        "travel time by cost-distance (AccessMod's method) on a friction grid of 500 m cells from the road network "
        "straight road (source: drawn by the test, dated 2026-06-01): roads at their speeds, off the roads 3.6 km/h"
        in n
        for n in notes
    ), notes
    assert not any("in a straight line, at most" in n for n in notes)  # the settlement path's note
    assert not any("barrier" in n for n in notes), notes
    # Drawn from the friction grid, not the road graph (test_isochrones_of_a_raster_run_are_the_cells_within_them).
    assert Isochrone.objects.filter(run=run).count() == 2
    assert any("isochrones: 2 polygons (facilities × thresholds: 1 × 2)" in n for n in notes), notes

    nat = ZoneResult.objects.get(run=run, region__isnull=True, district__isnull=True, outside=False)
    assert (nat.children, nat.covered, nat.served) == (
        pytest.approx(540.0),
        pytest.approx(covered),
        pytest.approx(40.0, abs=1e-6),
    )
    assert nat.within_minutes == [pytest.approx(covered), pytest.approx(within_30)]
    assert nat.not_reachable == 0.0
    districts = ZoneResult.objects.filter(run=run, district__isnull=False)
    assert sum(d.within_minutes[1] for d in districts) == pytest.approx(within_30)


# --- Barriers (roads.models.RoadBarrier) on the friction grid ---------------------------------------------------------

# A river (kind water) inside column 10 from 20 rows north of the raster to 20 rows south of it, crossed by the road
# (a bridge); a closed area inside row 2 (k = −2) from 20 columns west of H to 50 columns east of it, which no road
# crosses. Both lie a quarter cell inside their column or row, so that they touch it alone. Off the road a cell takes
# 500 s: going round either band takes hours.
RIVER_COL, CLOSED_ROW = 10, 2


def hand_seconds_barred(n: int, k: int) -> float:
    """hand_seconds with the two bands: their own cells are impassable but the road's (the bridge); the cells beyond
    the closed area (k ≤ −2) are cut off; the others are reached as before, along the road (over the bridge) and
    then straight off it, a path that touches neither band."""
    if k <= CLOSED_ROW - ROAD_ROW or (n == RIVER_COL and k != 0):
        return math.inf
    return hand_seconds(n, k)


def hand_within_barred(limit_s: float) -> float:
    return sum(
        hand_children(r, c) for r in range(ROWS) for c in range(COLS) if hand_seconds_barred(c, r - ROAD_ROW) <= limit_s
    )


def test_hand_figures_with_barriers():
    count = lambda limit: sum(  # noqa: E731
        1 for r in range(ROWS) for c in range(COLS) if hand_seconds_barred(c, r - ROAD_ROW) <= limit
    )
    # 15 min: 81 cells less the 5 of k = −2 (n ≤ 4: 9 children) and column 10 at |k| = 1 (2 × 2 children).
    assert (count(900.0), hand_within_barred(900.0)) == (74, 159.0 - 9.0 - 4.0)
    # 30 min: k = 0 30, k = ±1 29 each, k = 2 29, k = 3 17 (n ≤ 17 but 10), k = 4 2; nothing at k ≤ −2.
    assert count(1800.0) == 30 + 2 * 29 + 29 + 17 + 2 == 136


def band_feature(corners_lcc: list[tuple[float, float]], to_lonlat, **props) -> dict:
    """A polygon drawn in the grid's metres as lon/lat, a vertex every 100 m: its edges stay straight on the grid."""
    ring = []
    for (xa, ya), (xb, yb) in zip(corners_lcc, corners_lcc[1:] + corners_lcc[:1], strict=True):
        steps = max(1, math.ceil(math.hypot(xb - xa, yb - ya) / 100.0))
        ring += [to_lonlat.transform(xa + (xb - xa) * i / steps, ya + (yb - ya) * i / steps) for i in range(steps)]
    ring.append(ring[0])
    return {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_coverage_with_barriers_cut_off_cells_and_a_bridge_keeps_the_road(region_a, raster_world, tmp_path):
    w = raster_world
    river_x = (w.x0 + (RIVER_COL + 0.25) * CELL, w.x0 + (RIVER_COL + 0.75) * CELL)
    river_y = (w.y0 + 20 * CELL, w.y0 - (ROWS + 20) * CELL)
    closed_x = (w.x0 - 20 * CELL, w.x0 + 50 * CELL)
    closed_y = (w.y0 - (CLOSED_ROW + 0.25) * CELL, w.y0 - (CLOSED_ROW + 0.75) * CELL)

    def box(xs, ys):
        return [(xs[0], ys[0]), (xs[1], ys[0]), (xs[1], ys[1]), (xs[0], ys[1])]

    road_barriers_load(
        path=geojson_write(tmp_path / "river.geojson", [band_feature(box(river_x, river_y), w.to_lonlat)]),
        network=w.network.name,
        kind="water",
        source_description="a river drawn by the test",
        source_date=date(2026, 5, 1),
    )
    road_barriers_load(
        path=geojson_write(tmp_path / "closed.geojson", [band_feature(box(closed_x, closed_y), w.to_lonlat)]),
        network=w.network.name,
        kind="closed area",
    )
    run = execute_run("coverage", raster_params(region_a, w, [15, 30]))
    s = run.summary
    covered, within_30 = hand_within_barred(900.0), hand_within_barred(1800.0)
    # 30 min loses k = −2 (60 children), k = −3 n ≤ 17 (36), k = −4 n ≤ 1 (3) and column 10 at k = −1, 1, 2, 3 (8).
    assert (covered, within_30) == (146.0, 378.0 - 60.0 - 36.0 - 3.0 - 8.0)
    assert [w_["children"] for w_ in s["within_minutes"]] == [pytest.approx(covered), pytest.approx(within_30)]
    assert s["covered"] == pytest.approx(covered)
    assert s["children_not_covered"] == pytest.approx(540.0 - covered)
    assert s["cells_not_reachable"] == 0  # cut off by a barrier is not off the grid: not covered
    reached = [
        (hand_children(r, c), hand_seconds_barred(c, r - ROAD_ROW))
        for r in range(ROWS)
        for c in range(COLS)
        if hand_seconds_barred(c, r - ROAD_ROW) <= 1800.0
    ]
    assert s["mean_time_min"] == pytest.approx(sum(ch * t for ch, t in reached) / sum(ch for ch, _ in reached) / 60)
    # The figures count the cells east of the river, reached over the bridge (15 min: k = 0 n 11…28, |k| = 1 n
    # 11…20). The 15-minute isochrone, drawn from the same grid, says so cell by cell: over the bridge, not in the
    # river off the road, not beyond the closed area.
    iso = shapely.from_wkb(bytes(Isochrone.objects.get(run=run, minutes=15).geom.wkb))
    assert iso.contains(shapely.Point(w.cell_at(ROAD_ROW, 28))) and iso.contains(shapely.Point(w.cell_at(5, 20)))
    assert not iso.contains(shapely.Point(w.cell_at(ROAD_ROW + 1, RIVER_COL)))
    assert not iso.contains(shapely.Point(w.cell_at(CLOSED_ROW - 1, 0)))
    assert iso.contains(shapely.Point(w.cell_at(CLOSED_ROW + 1, 0)))

    grid = run.inputs["travel"]["friction_grid"]
    assert (grid["barriers"], grid["barrier_kinds"]) == (2, {"closed area": 1, "water": 1})
    assert run.inputs["travel"]["network"]["barriers"] == {
        "closed area": {"source_file": "closed.geojson", "source_description": "", "source_date": None},
        "water": {
            "source_file": "river.geojson",
            "source_description": "a river drawn by the test",
            "source_date": "2026-05-01",
        },
    }
    notes = [note_text(n) for n in run.notes]
    # The populated cells under a band: row 2 (30 cells, 60 children) and column 10 but its road and row 2 cells
    # (7 cells, 2 children each).
    assert (
        "37 populated cells with 74 children lie on a barrier (their friction cells are touched by one and no road "
        "crosses them there): not reachable, counted as not covered"
    ) in notes, notes
    assert (
        "2 barriers of the road network straight road (closed area 1, water 1) are impassable on the friction grid "
        "in every cell they touch, except where a road of the network crosses them (a bridge or a ferry)"
    ) in notes, notes


def test_a_cell_reached_in_exactly_the_threshold_is_within_it(region_a, raster_world):
    run = execute_run("coverage", raster_params(region_a, raster_world, [14.84375, 30]))
    within = run.summary["within_minutes"][0]["children"]
    assert within == pytest.approx(hand_within(890.625))
    # The cells at exactly 890.625 s are counted: without them 4 cells (|k| = 1, n = 20 and |k| = 2, n = 4) fewer.
    assert within - hand_within(890.625 - 1e-3) == pytest.approx(2 * hand_children(0, 20) + 2 * hand_children(0, 4))


def test_hand_cells_of_the_isochrones():
    assert (hand_grid_cells(300.0), hand_grid_cells(890.625), hand_grid_cells(890.625 - 1e-3)) == (15, 89, 85)
    assert hand_grid_cells(900.0) == 89


@pytest.mark.parametrize("minutes", [[5, 14.84375], [14.84375, 5]])
def test_isochrones_of_a_raster_run_are_the_cells_within_them(region_a, raster_world, minutes):
    """One polygon per facility and threshold, nested, its area the hand count of friction cells within the
    threshold (a cell at exactly the threshold inside), measured by PostGIS in EPSG:6933 (equal-area): the LCC
    grid's cells are 500 m on the map, so their true area is 0.25 km² / the projection's areal scale there."""
    run = execute_run("coverage", raster_params(region_a, raster_world, minutes))
    isochrones = {i.minutes: i for i in Isochrone.objects.filter(run=run)}
    assert sorted(isochrones) == [5.0, 14.84375]
    assert {i.facility_id for i in isochrones.values()} == {raster_world.health.pk}
    at = raster_world.health.location
    scale = Proj(KAZAKHSTAN_LCC).get_factors(at.x, at.y).areal_scale
    cell_km2 = (CELL / 1000) ** 2 / scale
    assert isochrones[5.0].area_km2 == pytest.approx(hand_grid_cells(300.0) * cell_km2, rel=1e-4)
    assert isochrones[14.84375].area_km2 == pytest.approx(hand_grid_cells(890.625) * cell_km2, rel=1e-4)
    small, large = (shapely.from_wkb(bytes(isochrones[m].geom.wkb)) for m in (5.0, 14.84375))
    assert large.buffer(1e-9).covers(small) and large.area > small.area
    assert large.buffer(1e-9).covers(shapely.Point(at.x, at.y))
    notes = [note_text(n) for n in run.notes]
    assert any(
        "isochrones: 2 polygons (facilities × thresholds: 1 × 2) drawn in" in n
        and "from the friction grid: each is the 500 m cells the run counts as reaching its facility within the "
        "threshold, drawn along the cells' edges"
        in n
        for n in notes
    ), notes


def test_roadmap_with_a_raster_before_and_after(region_a, raster_world, monkeypatch):
    """Before the roadmap (open facilities at 2023-12-31) H, planned in 2025, is not there; with the plan it is.
    Coverage and 2SFCA by travel time, both scenarios, as a settlement run shows them; each scenario's facilities
    searched once over the friction grid, for both passes (Context.cell_catchment)."""
    searches = []
    real = run_context.catchment_cell_times

    def counted(*args, **kwargs):
        searches.append(len(kwargs["facilities_xy"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(run_context, "catchment_cell_times", counted)
    params = raster_params(region_a, raster_world, [15, 30])
    run = execute_run("roadmap", {k: v for k, v in params.items() if k != "facilities"} | {"facilities": {}})
    assert searches == [0, 1]  # before (no facility), after (H): not once per pass
    assert run.parameters["travel"]["decay"] == "none"
    before, after = run.summary["before"], run.summary["after"]
    assert before["children_total"] == after["children_total"] == pytest.approx(540.0)
    assert [w["children"] for w in before["within_minutes"]] == [0.0, 0.0]
    assert before["children_served"] == 0.0
    assert [w["children"] for w in after["within_minutes"]] == [
        pytest.approx(hand_within(900.0)),
        pytest.approx(hand_within(1800.0)),
    ]
    assert after["children_served"] == pytest.approx(40.0, abs=1e-6)
    # 2SFCA: nobody before; with the plan H's 10 places over the 159 children of its 81 cells within 15 min.
    assert (before["access_per_1000"], before["children_without_access"], before["places"]) == (0.0, 540.0, 0.0)
    assert after["access_per_1000"] == pytest.approx(1000 * 10 / 540)
    assert after["children_without_access"] == pytest.approx(540.0 - hand_within(900.0))
    assert (after["places"], after["facilities"], after["headline_minutes"]) == (10.0, 1, 15)
    nat = {
        r.scenario: r
        for r in ZoneResult.objects.filter(run=run, region__isnull=True, district__isnull=True, outside=False)
    }
    assert nat["after"].access_per_1000 == pytest.approx(1000 * 10 / 540)
    assert nat["after"].without_access == pytest.approx(381.0)
    assert nat["before"].without_access == pytest.approx(540.0)
    notes = [note_text(n) for n in run.notes]
    assert "2SFCA catchments are 15 min of travel, every facility within them counted in full" in notes
    assert not any("need settlement demand" in n for n in notes)


def test_underserved_with_a_raster_counts_the_cells_beyond_the_first_threshold(region_a, raster_world):
    params = raster_params(region_a, raster_world, [15, 30], underserved={"hex_size_m": 2_000, "top": 1_000})
    run = execute_run("underserved", params)
    uncovered = 540.0 - hand_within(900.0)
    assert run.summary["children_not_covered"] == pytest.approx(uncovered)
    areas = AreaResult.objects.filter(run=run)
    assert sum(a.uncovered for a in areas) == pytest.approx(uncovered)
    notes = [note_text(n) for n in run.notes]
    assert "uncovered children: those not reaching a facility within 15 min over the friction grid" in notes


def test_a_friction_grid_too_large_is_refused_with_its_size(region_a, raster_world, monkeypatch):
    monkeypatch.setattr(friction_grid, "MAX_FRICTION_CELLS", 1_000)
    run = AnalysisRun.objects.get(
        pk=analysis_run_execute(
            run_id=AnalysisRun.objects.create(
                kind="coverage",
                parameters=run_parameters_normalise(
                    kind="coverage", raw=raster_params(region_a, raster_world, [15, 30])
                ),
                raster=raster_world.raster,
            ).pk
        ).pk
    )
    assert run.status == AnalysisRun.Status.FAILED
    assert "the friction grid over the run's zones (plus 29 km, the largest threshold at 57.6 km/h)" in run.error
    assert "cells of 500 m" in run.error and "choose fewer regions, smaller thresholds or a coarser raster" in run.error


@pytest.mark.parametrize("run_kind", ["coverage", "roadmap", "underserved", "fca", "sites"])
def test_form_takes_a_raster_by_travel_time_for_every_analysis(raster_world, run_kind):
    form = RunForm(
        data=RUN_FORM
        | {
            "kind": run_kind,
            "demand_source": "raster",
            "raster": raster_world.raster.pk,
            "reach": f"network:{raster_world.network.pk}",
            "thresholds_min": "15, 30",
            "decay": "gaussian",
        }
    )
    assert form.is_valid(), form.errors
    params = form.parameters()
    assert params["demand"]["source"] == "raster" and params["travel"]["thresholds_min"] == [15, 30]
    stored = run_parameters_normalise(kind=run_kind, raw=params)
    assert stored["travel"]["network"] == raster_world.network.pk and "radii" not in stored
    # The decay is kept by the runs that compute 2SFCA, with a raster as with settlements.
    assert stored["travel"].get("decay") == ("gaussian" if run_kind in ("fca", "roadmap") else None)


# --- 2SFCA and best sites by travel time with a raster --------------------------------------------------------------

FCOL, F_PLACES = 10, 5  # the second health centre F of 2SFCA: on the road at column 10, 5 places
T_EDGE = 890.625  # seconds: 14.84375 min, a boundary of both H and F (the module's docstring)


def hand_fca(limit_s: float, decay: str) -> tuple[dict, list[tuple[float, float]]]:
    """R_j per facility's places (10: H, 5: F) and (children, places per 1 000 children) per cell, from the hand
    times of the module's docstring and the weight of layers.analysis.travel_fca written out again."""
    e = math.exp(-0.5)

    def g(t):
        if t > limit_s:
            return 0.0
        return 1.0 if decay == "none" else (math.exp(-0.5 * (t / limit_s) ** 2) - e) / (1 - e)

    cells = [
        (hand_children(r, c), hand_seconds(c, r - ROAD_ROW), hand_seconds(abs(c - FCOL), r - ROAD_ROW))
        for r in range(ROWS)
        for c in range(COLS)
    ]
    ratio = {
        PLACES: PLACES / sum(ch * g(th) for ch, th, _tf in cells),
        F_PLACES: F_PLACES / sum(ch * g(tf) for ch, _th, tf in cells),
    }
    access = [(ch, 1000 * (g(th) * ratio[PLACES] + g(tf) * ratio[F_PLACES])) for ch, th, tf in cells]
    return ratio, access


def test_hand_2sfca_and_sites_figures_are_what_the_docstring_says():
    f_children = sum(
        hand_children(r, c)
        for r in range(ROWS)
        for c in range(COLS)
        if hand_seconds(abs(c - FCOL), r - ROAD_ROW) <= T_EDGE
    )
    assert f_children == 216.0
    assert hand_within(T_EDGE) == 159.0
    ratio, access = hand_fca(T_EDGE, "none")
    assert ratio == {10: 10 / 159, 5: 5 / 216}
    assert sum(ch for ch, a in access if a == 0.0) == 306.0
    # Best sites: the uncovered children each road candidate reaches.
    assert (hand_gain(20), hand_gain(5)) == (75.0, 41.0)
    assert (hand_pairs(20), hand_pairs(5)) == (37, 21)


def hand_gain(col: int) -> float:
    """Children not within T_EDGE of H that reach a candidate on the road at column `col` within T_EDGE."""
    return sum(
        hand_children(r, c)
        for r in range(ROWS)
        for c in range(COLS)
        if hand_seconds(abs(c - col), r - ROAD_ROW) <= T_EDGE < hand_seconds(c, r - ROAD_ROW)
    )


@pytest.mark.parametrize("decay", ["none", "gaussian"])
def test_2sfca_with_a_raster_by_travel_time_by_hand(region_a, raster_world, monkeypatch, decay, client, planner):
    """Two facilities, overlapping catchments with cells at exactly T: each R_j and each cell's access as by hand,
    through the execution path; the pairs come from the friction grid, the maths from travel_fca."""
    health_centre("F", region=region_a, places=F_PLACES, at=raster_world.cell_at(ROAD_ROW, FCOL))
    seen = []
    real = travel_passes.travel_fca

    def spy(**kw):
        res = real(**kw)
        seen.append((kw, res))
        return res

    monkeypatch.setattr(travel_passes, "travel_fca", spy)
    params = raster_params(region_a, raster_world, [T_EDGE / 60, 30])
    params["travel"]["decay"] = decay
    run = execute_run("fca", params)
    ratio, access = hand_fca(T_EDGE, decay)
    ((kw, res),) = seen
    got_ratio = dict(zip(kw["places"].tolist(), res.facility_ratio.tolist(), strict=True))
    if decay == "none":
        assert got_ratio == ratio  # exactly: 10 / 159 and 5 / 216
    else:
        assert got_ratio == {k: pytest.approx(v, rel=1e-12) for k, v in ratio.items()}
    got = sorted(zip(kw["children"].tolist(), res.access.tolist(), strict=True))
    assert len(got) == ROWS * COLS
    assert got == [(ch, pytest.approx(a, rel=1e-12, abs=1e-12)) for ch, a in sorted(access)]
    s = run.summary
    total = sum(ch for ch, _a in access)
    assert s["access_per_1000"] == pytest.approx(sum(ch * a for ch, a in access) / total, rel=1e-12)
    assert s["children_without_access"] == pytest.approx(306.0)
    assert (s["places"], s["facilities"], s["headline_minutes"]) == (15.0, 2, T_EDGE / 60)
    if decay == "none":
        # Both facilities are reached: their places are all given out (1000 × 15 places over 540 children).
        assert s["access_per_1000"] == pytest.approx(1000 * 15 / 540)
    nat = ZoneResult.objects.get(run=run, region__isnull=True, district__isnull=True, outside=False)
    assert nat.children == pytest.approx(540.0)
    assert nat.access_per_1000 == pytest.approx(s["access_per_1000"])
    assert nat.without_access == pytest.approx(306.0)
    assert run.parameters["travel"]["decay"] == decay
    notes = [note_text(n) for n in run.notes]
    assert any(
        "on a friction grid of 500 m cells" in n
        and "the catchment is the first threshold, 14.8438 min; a cell reached in exactly that time is within it" in n
        for n in notes
    ), notes
    assert not any("is the catchment of the served children" in n for n in notes)
    client.force_login(planner)
    html = client.get(f"/en/accessibility/runs/{run.pk}/").content.decode()
    assert "over a friction grid of 500 m cells" in html and "cells lie outside the friction grid" not in html


def test_2sfca_with_a_raster_counts_the_cells_off_the_friction_grid(region_a, raster_world, monkeypatch):
    """A populated cell outside the friction grid has no access and is counted apart, as in the coverage pass."""
    real = friction_grid.friction_grid_build

    def build(**kw):
        fg = real(**kw)
        # The grid loses its rows down to the raster's row 0: that row lies outside it (30 cells, 60 children). No
        # path to the other cells within 30 min crosses it (they leave the road straight north or south).
        g = fg.grid
        rows, _cols = g.cells_of(*(np.array([v]) for v in raster_world.cell_at(0, 0)))
        cut = int(rows[0]) + 1
        grid = Grid(crs=g.crs, transform=g.transform * Affine.translation(0, cut), width=g.width, height=g.height - cut)
        return dataclasses.replace(fg, grid=grid, friction=fg.friction[cut:])

    monkeypatch.setattr(run_context, "friction_grid_build", build)
    run = execute_run("fca", raster_params(region_a, raster_world, [30]))
    notes = [note_text(n) for n in run.notes]
    assert (
        "30 populated cells with 60 children lie outside the friction grid (the run's districts and their margin): "
        "not reachable, counted as not covered"
    ) in notes, notes
    # H's 10 places over the children within 30 min still on the grid: row 0 (k = −4) had 3 of them (n ≤ 1).
    assert run.summary["children_without_access"] == pytest.approx(540.0 - hand_within(1800.0) + 3.0)
    assert run.summary["access_per_1000"] == pytest.approx(1000 * 10 / 540)


def test_2sfca_with_a_raster_scaled_to_the_official_total(region_a, raster_world):
    """The raster's children are scaled to the official figure before the places are shared out: twice the
    children (the figure is twice the raster's 540) over the same places halve every R_j and every access."""
    official_children_figure(region_a, value=1080)
    unscaled = execute_run("fca", raster_params(region_a, raster_world, [30]))
    params = raster_params(region_a, raster_world, [30])
    params["demand"].update(scale_to_official=True, year=2024)
    run = execute_run("fca", params)
    assert run.inputs["scaling"][str(region_a.id)]["raster"] == pytest.approx(540.0)
    assert "scaling" not in unscaled.inputs
    region_row = ZoneResult.objects.get(run=run, region=region_a, district__isnull=True)
    assert region_row.children == pytest.approx(1080.0) and region_row.scale_factor == pytest.approx(2.0)
    assert run.summary["access_per_1000"] == pytest.approx(unscaled.summary["access_per_1000"] / 2, rel=1e-9)
    without = unscaled.summary["children_without_access"]
    assert without > 0 and run.summary["children_without_access"] == pytest.approx(2 * without, rel=1e-9)
    assert any("scaled to the official" in note_text(n) for n in run.notes)
    assert not any("scaled to the official" in note_text(n) for n in unscaled.notes)


@pytest.mark.parametrize("method", ["greedy", "exact"])
def test_best_sites_with_a_raster_by_travel_time_by_hand(region_a, raster_world, method, client, planner):
    points = [raster_world.cell_at(ROAD_ROW, 20), raster_world.cell_at(ROAD_ROW, 5), raster_world.cell_at(0, 25)]
    params = raster_params(
        region_a,
        raster_world,
        [T_EDGE / 60, 30],
        sites={
            "kind": "health_centre",
            "candidates": "points",
            "points": [list(p) for p in points],
            "k": 2,
            "method": method,
        },
    )
    run = execute_run("sites", params)
    sites = {r.candidate_ref: r for r in SiteResult.objects.filter(run=run)}
    assert {ref: r.solo_gain for ref, r in sites.items()} == {
        "1": pytest.approx(75.0),
        "2": pytest.approx(41.0),
        "3": pytest.approx(12.0),
    }
    assert [sites[ref].rank for ref in ("1", "2", "3")] == [1, 2, 3]
    assert (sites["1"].selected_order, sites["2"].selected_order, sites["3"].selected_order) == (1, 2, None)
    if method == "greedy":
        assert (sites["1"].marginal_gain, sites["2"].marginal_gain) == (pytest.approx(75.0), pytest.approx(20.0))
    s = run.summary
    assert s["covered"] == pytest.approx(159.0)
    assert s["uncovered_before"] == pytest.approx(381.0)
    assert s["added"] == pytest.approx(95.0)
    assert s["uncovered_after"] == pytest.approx(286.0)
    assert s["optimal"] and (s["k"], s["selected"], s["candidates"]) == (2, 2, 3)
    assert s["cells_not_reachable"] == 0
    assert run.inputs["candidates"]["not_reachable"] == 0
    notes = [note_text(n) for n in run.notes]
    assert (
        "candidates: points given with the run; a new site (kind health_centre) covers the populated cells whose "
        "children reach it within 14.8438 min over the friction grid, as the facilities already there do"
    ) in notes, notes
    client.force_login(planner)
    assert client.get(f"/en/accessibility/runs/{run.pk}/").status_code == 200
    assert client.get("/en/maps/analysis/", {"run": run.pk}).status_code == 200


def test_best_sites_with_a_raster_too_many_pairs_are_refused_with_their_count(region_a, raster_world, monkeypatch):
    monkeypatch.setattr(travel_passes, "MAX_SITE_PAIRS", 50)
    points = [raster_world.cell_at(ROAD_ROW, 20), raster_world.cell_at(ROAD_ROW, 5)]
    raw = raster_params(
        region_a, raster_world, [T_EDGE / 60], sites={"kind": "health_centre", "candidates": "points", "points": points}
    )
    run = AnalysisRun.objects.get(
        pk=analysis_run_execute(
            run_id=AnalysisRun.objects.create(
                kind="sites", parameters=run_parameters_normalise(kind="sites", raw=raw), raster=raster_world.raster
            ).pk
        ).pk
    )
    assert run.status == AnalysisRun.Status.FAILED
    # C20 reaches 37 cells not covered (1 + 2 × 9 + 2 × 9), C5 21 (1 + 2 × 5 + 2 × 5): the limit is passed at C5.
    assert (
        "best sites by travel time with a population raster: the 2 candidates reach more than 50 (candidate, "
        f"populated cell not covered) pairs ({hand_pairs(20) + hand_pairs(5)} after the first 2)"
    ) in run.error, run.error
    assert "choose fewer candidates, fewer regions, a smaller first threshold or a coarser raster" in run.error


def hand_pairs(col: int) -> int:
    """Cells not within T_EDGE of H that a road candidate at column `col` reaches within T_EDGE."""
    return sum(
        1
        for r in range(ROWS)
        for c in range(COLS)
        if hand_seconds(abs(c - col), r - ROAD_ROW) <= T_EDGE < hand_seconds(c, r - ROAD_ROW)
    )


def test_run_page_and_api_of_a_raster_travel_run(region_a, raster_world, client, planner):
    run = execute_run("coverage", raster_params(region_a, raster_world, [15, 30]))
    client.force_login(planner)
    html = client.get(f"/en/accessibility/runs/{run.pk}/").content.decode()
    assert "Off the roads: 3.6 km/h in any direction, over a friction grid of 500 m cells." in html
    assert "in a straight line" not in html and "from every road and facility is not reachable" not in html
    assert "friction grid of 500 m cells from the road network straight road" in html
    api = APIClient()
    api.force_authenticate(planner)
    body = api.get(f"/api/v1/accessibility/runs/{run.pk}/").json()
    assert body["summary"]["children_served"] == pytest.approx(40.0, abs=1e-6)
    assert body["summary"]["cells_not_reachable"] == 0
    # Its isochrones (from the friction grid): the collection and a layer of the analysis map.
    iso = api.get("/api/v1/accessibility-isochrones/", {"run": run.pk}).json()
    assert sorted(f["properties"]["minutes"] for f in iso["features"]) == [15, 30]
    assert {f["geometry"]["type"] for f in iso["features"]} == {"MultiPolygon"}
    assert "Isochrones (minutes of travel)" in client.get("/en/maps/analysis/", {"run": run.pk}).content.decode()
