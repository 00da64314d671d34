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
"""

from __future__ import annotations

import math
from datetime import date
from types import SimpleNamespace

import numpy as np
import pytest
import rasterio
import shapely
from pyproj import CRS, Proj, Transformer
from rasterio.transform import from_origin
from rest_framework.test import APIClient

from accessibility import friction_grid
from accessibility.forms import RunForm
from accessibility.models import AnalysisRun, AreaResult, Isochrone, ZoneResult
from accessibility.notes import note_text
from accessibility.services import analysis_run_execute, population_raster_register, run_parameters_normalise
from facilities.models import Facility, FacilityKind
from layers.analysis.friction import KAZAKHSTAN_LCC
from roads.models import RoadSpeed
from roads.services import road_network_load
from tests.accessibility.run_form import RUN_FORM
from tests.accessibility.travel_world import execute_run, health_centre
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
    return SimpleNamespace(network=network, raster=raster, health=health)


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
    assert grid["fastest_kmh"] == ROAD_KMH and grid["margin_m"] == pytest.approx(30 / 60 * ROAD_KMH * 1000)
    notes = [note_text(n) for n in run.notes]
    assert any(
        "travel time by cost-distance (AccessMod's method) on a friction grid of 500 m cells from the road network "
        "straight road (source: drawn by the test, dated 2026-06-01): roads at their speeds, off the roads 3.6 km/h"
        in n
        for n in notes
    ), notes
    assert not any("in a straight line, at most" in n for n in notes)  # the settlement path's note
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


def test_roadmap_with_a_raster_before_and_after(region_a, raster_world):
    """Before the roadmap (open facilities at 2023-12-31) H, planned in 2025, is not there; with the plan it is."""
    params = raster_params(region_a, raster_world, [15, 30])
    run = execute_run("roadmap", {k: v for k, v in params.items() if k != "facilities"} | {"facilities": {}})
    before, after = run.summary["before"], run.summary["after"]
    assert before["children_total"] == after["children_total"] == pytest.approx(540.0)
    assert [w["children"] for w in before["within_minutes"]] == [0.0, 0.0]
    assert before["children_served"] == 0.0
    assert [w["children"] for w in after["within_minutes"]] == [
        pytest.approx(hand_within(900.0)),
        pytest.approx(hand_within(1800.0)),
    ]
    assert after["children_served"] == pytest.approx(40.0, abs=1e-6)
    # 2SFCA by travel time takes settlement demand only: not computed, and the page says so.
    assert "access_per_1000" not in after
    assert any("need settlement demand" in note_text(n) for n in run.notes)


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


@pytest.mark.parametrize("kind", ["fca", "sites"])
def test_2sfca_and_sites_with_a_raster_by_travel_time_fail_if_reached(region_a, raster_world, kind):
    """The parameters refuse them (test_travel_runs); a run stored otherwise fails with the same message."""
    raw = raster_params(region_a, raster_world, [15], sites={"kind": "health_centre", "candidates": "grid"})
    del raw["travel"]
    params = run_parameters_normalise(kind=kind, raw=raw)
    del params["radii"]
    params["travel"] = {"network": raster_world.network.pk, "thresholds_min": [15], "max_snap_m": 1e4, "decay": "none"}
    run = AnalysisRun.objects.create(kind=kind, parameters=params, raster=raster_world.raster)
    run = analysis_run_execute(run_id=run.pk)
    assert run.status == AnalysisRun.Status.FAILED
    assert run.error == f"ValueError: {friction_grid.RASTER_TRAVEL_REFUSED}"


@pytest.mark.parametrize(
    ("kind", "valid"), [("coverage", True), ("roadmap", True), ("underserved", True), ("fca", False), ("sites", False)]
)
def test_form_takes_a_raster_by_travel_time_for_coverage_roadmap_and_underserved(raster_world, kind, valid):
    form = RunForm(
        data=RUN_FORM
        | {
            "kind": kind,
            "demand_source": "raster",
            "raster": raster_world.raster.pk,
            "reach": f"network:{raster_world.network.pk}",
            "thresholds_min": "15, 30",
        }
    )
    assert form.is_valid() is valid, form.errors
    if not valid:
        assert form.errors["reach"] == [
            "With a population raster, travel time serves coverage, the roadmap effect and underserved areas only: "
            "for 2SFCA and best sites count children from settlements."
        ]
    else:
        params = form.parameters()
        assert params["demand"]["source"] == "raster" and params["travel"]["thresholds_min"] == [15, 30]


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
