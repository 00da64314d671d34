"""Cost-distance (layers.analysis.friction): rasters with answers computed by hand. No database needed."""

import math

import numpy as np
import pytest
from affine import Affine
from shapely.geometry import LineString, box, mapping

from layers.analysis.friction import (
    KAZAKHSTAN_LCC,
    CatchmentTooLarge,
    Grid,
    accumulated_time,
    catchment_cell_times,
    catchment_cells,
    friction_surface,
    pair_positions,
    pairs_of_cells,
)

CELL = 100.0  # metres
SPEED = 36.0  # km/h = 10 m/s: 10 s per 100 m cell


def _grid(h=21, w=21) -> Grid:
    # Origin at (0, h × CELL) in the grid's metres: cell (r, c) is centred at ((c + .5) CELL, (h − r − .5) CELL).
    return Grid(crs=KAZAKHSTAN_LCC, transform=Affine(CELL, 0, 0, 0, -CELL, h * CELL), width=w, height=h)


def _centre(grid: Grid, r: int, c: int) -> tuple[float, float]:
    return ((c + 0.5) * CELL, (grid.height - r - 0.5) * CELL)


def _run(grid, friction, cells, limit_s=1e9, **kw):
    xy = np.array([_centre(grid, r, c) for r, c in cells])
    return accumulated_time(grid, friction, facilities_xy=xy, limit_s=limit_s, src_crs=grid.crs, **kw)


def test_uniform_friction_time_is_distance_over_speed_along_8_neighbour_steps():
    g = _grid()
    fr = friction_surface(g, off_road_kmh=SPEED, src_crs=g.crs)
    assert np.allclose(fr, 0.1)  # s/m
    res = _run(g, fr, [(10, 10)])
    t = res.time_s
    assert t[10, 10] == 0
    assert t[10, 15] == pytest.approx(50.0)  # 5 straight steps × 100 m / 10 m/s
    assert t[15, 15] == pytest.approx(50.0 * math.sqrt(2))  # 5 diagonal steps
    assert t[12, 15] == pytest.approx(10.0 * (2 * math.sqrt(2) + 3))  # 2 diagonal + 3 straight
    assert res.windows == 1


def test_barrier_forces_a_detour_through_the_gap():
    g = _grid()
    # A wall over column 12, rows 0..17 (the gap is rows 18..20), as a polygon in the grid's metres.
    wall = box(12 * CELL + 1, (g.height - 18) * CELL + 1, 13 * CELL - 1, g.height * CELL)
    fr = friction_surface(g, off_road_kmh=SPEED, barriers=[wall], src_crs=g.crs)
    assert np.isinf(fr[:18, 12]).all() and np.isfinite(fr[18:, 12]).all()
    t = _run(g, fr, [(10, 10)]).time_s
    # (10,10) → (18,12): 6 straight + 2 diagonal; (18,12) → (10,14): the same. 100 m cells at 10 m/s.
    assert t[10, 14] == pytest.approx(10.0 * (12 + 4 * math.sqrt(2)))
    assert np.isinf(t[:18, 12]).all()


def test_roads_are_burned_in_at_their_speed_fastest_last_and_bridge_the_barrier():
    g = _grid()
    wall = box(12 * CELL + 1, 0, 13 * CELL - 1, g.height * CELL)  # a river over the whole column 12
    y = (g.height - 10 - 0.5) * CELL  # along row 10
    road = LineString([(0.5 * CELL, y), (20.5 * CELL, y)])
    fast = LineString([(0.5 * CELL, y), (5.5 * CELL, y)])  # a faster stretch over columns 0..5
    fr = friction_surface(
        g,
        off_road_kmh=SPEED,
        roads=[(mapping(fast), 72.0), (road, 72.0)],  # GeoJSON or shapely
        barriers=[wall],
        src_crs=g.crs,
    )
    assert fr[10, 12] == pytest.approx(3.6 / 72)  # the road over the river: a bridge
    assert np.isinf(fr[9, 12]) and np.isinf(fr[11, 12])
    fr2 = friction_surface(g, off_road_kmh=SPEED, roads=[(road, 36.0), (fast, 108.0)], src_crs=g.crs)
    assert fr2[10, 3] == pytest.approx(3.6 / 108) and fr2[10, 8] == pytest.approx(0.1)
    fr3 = friction_surface(g, off_road_kmh=SPEED, roads=[(fast, 108.0), (road, 36.0)], src_crs=g.crs)
    assert fr3[10, 3] == pytest.approx(3.6 / 108)  # the faster wins whatever the order given
    t = _run(g, fr, [(10, 0)]).time_s
    # 20 steps of 100 m at 72 km/h (20 m/s): 5 s a step; the far bank only over the bridge.
    assert t[10, 20] == pytest.approx(100.0)
    # One cell north of the road's end: best is the diagonal off the road from (10, 19), 95 s, then
    # 100 √2 m at the mean friction of the road and the off-road cell ((0.05 + 0.1) / 2 s/m).
    assert t[9, 20] == pytest.approx(95.0 + 0.075 * 100 * math.sqrt(2))


def test_a_diagonal_barrier_line_does_not_leak_between_corners():
    g = _grid()
    river = LineString([(0, 0), (g.width * CELL, g.height * CELL)])  # corner to corner
    fr = friction_surface(g, off_road_kmh=SPEED, barriers=[river], src_crs=g.crs)
    t = _run(g, fr, [(18, 18)]).time_s  # south-east of the river (it runs from the south-west corner)
    rows, cols = np.indices(g.shape)
    assert np.isfinite(t[rows + cols < 19]).sum() == 0  # nothing north-west of it is reached
    assert np.isfinite(t[rows + cols > 21]).all()


def test_land_mask_and_facilities_off_the_grid_or_on_impassable_cells():
    g = _grid()
    land = np.ones(g.shape, dtype=bool)
    land[:, 15:] = False
    fr = friction_surface(g, off_road_kmh=SPEED, land=land, src_crs=g.crs)
    res = _run(g, fr, [(10, 10), (5, 18)])
    assert res.facility_placed.tolist() == [True, False]
    assert np.isinf(res.time_s[:, 15:]).all()
    off = accumulated_time(g, fr, facilities_xy=np.array([[-500.0, -500.0]]), limit_s=100, src_crs=g.crs)
    assert off.facility_cells.tolist() == [[-1, -1]] and np.isinf(off.time_s).all() and off.windows == 0


def test_limit_keeps_the_exact_boundary():
    g = _grid()
    fr = friction_surface(g, off_road_kmh=SPEED, src_crs=g.crs)
    t = _run(g, fr, [(10, 10)], limit_s=50.0).time_s
    assert t[10, 15] == pytest.approx(50.0)  # exactly the limit: kept
    assert np.isinf(t[10, 16]) and np.isinf(t[15, 15])


@pytest.mark.parametrize("seed", range(3))
def test_windows_give_the_same_times_as_one_run(seed):
    rng = np.random.default_rng(seed)
    g = _grid(h=200, w=300)
    fr = rng.uniform(0.02, 0.06, g.shape).astype(np.float32)
    fr[rng.random(g.shape) < 0.1] = np.inf  # scattered barriers
    cells = [(int(r), int(c)) for r, c in zip(rng.integers(0, 200, 25), rng.integers(0, 300, 25), strict=True)]
    limit = 40.0  # 2 km at the fastest 0.02 s/m: a halo of 21 cells
    whole = _run(g, fr, cells, limit_s=limit)
    tiled = _run(g, fr, cells, limit_s=limit, max_window_cells=2_500)
    assert whole.windows == 1 and tiled.windows > 1
    np.testing.assert_array_equal(np.isinf(whole.time_s), np.isinf(tiled.time_s))
    fin = np.isfinite(whole.time_s)
    assert fin.sum() > 2_000  # the comparison covers many cells
    np.testing.assert_allclose(tiled.time_s[fin], whole.time_s[fin], rtol=1e-6)


def test_grid_covering_lon_lat_bounds_in_the_conformal_projection():
    g = Grid.covering(crs=KAZAKHSTAN_LCC, bounds=(46.5, 40.5, 87.5, 55.5), cell_m=1_000.0)
    # Kazakhstan's box in true 1 km cells (the 9 M of the 100 m bench grid coarsened are 30″ cells, ~0.6 × 0.9 km).
    assert (g.width, g.height) == (3452, 1839)
    r, c = g.cells_of(np.array([71.45, 200.0]), np.array([51.17, 0.0]))  # Astana; a point off the grid
    assert 0 <= r[0] < g.height and 0 <= c[0] < g.width
    assert r[1] == -1 and c[1] == -1


@pytest.mark.parametrize("seed", range(2))
def test_catchment_cells_are_each_facility_alone_within_the_limit(seed):
    rng = np.random.default_rng(seed)
    g = _grid(h=80, w=90)
    fr = rng.uniform(0.02, 0.06, g.shape).astype(np.float32)
    fr[rng.random(g.shape) < 0.1] = np.inf
    cells = [(int(r), int(c)) for r, c in zip(rng.integers(0, 80, 6), rng.integers(0, 90, 6), strict=True)]
    fr[cells[-1]] = np.inf  # the last facility stands on an impassable cell: it reaches nothing
    xy = np.array([_centre(g, r, c) for r, c in cells] + [(-500.0, -500.0)])  # and one off the grid
    limit = 30.0
    cell, fac = catchment_cells(g, fr, facilities_xy=xy, limit_s=limit, src_crs=g.crs)
    assert np.all(np.diff(cell) >= 0)
    for i, rc in enumerate(cells[:-1]):
        alone = _run(g, fr, [rc], limit_s=limit).time_s  # the whole grid, one facility
        expected = np.flatnonzero(np.isfinite(alone))
        assert expected.size > 10
        np.testing.assert_array_equal(np.sort(cell[fac == i]), expected)
    assert not np.isin(fac, [len(cells) - 1, len(cells)]).any()
    # Leaving out the cells beyond the limit of every facility (and shrinking the windows) finds the same pairs.
    nearest = accumulated_time(g, fr, facilities_xy=xy, limit_s=2 * limit, src_crs=g.crs).time_s
    cut = catchment_cells(g, fr, facilities_xy=xy, limit_s=limit, nearest_s=nearest, src_crs=g.crs)
    np.testing.assert_array_equal(cut[0], cell)
    np.testing.assert_array_equal(cut[1], fac)
    # Looking the pairs up: every facility of each asked cell, none for a cell off the grid (−1).
    ask = np.array([cell[0], -1, cell[-1], cell[0]])
    p, f = pairs_of_cells((cell, fac), ask)
    for j, flat in enumerate(ask.tolist()):
        assert sorted(f[p == j].tolist()) == (sorted(fac[cell == flat].tolist()) if flat >= 0 else [])
    assert pairs_of_cells((cell, fac), np.empty(0, dtype=np.int64))[0].size == 0


def test_catchment_cell_times_are_each_facility_alone_kept_cells_and_a_pair_limit():
    rng = np.random.default_rng(7)
    g = _grid(h=60, w=70)
    fr = rng.uniform(0.02, 0.06, g.shape).astype(np.float32)
    cells = [(10, 12), (30, 35), (50, 60)]
    xy = np.array([_centre(g, r, c) for r, c in cells])
    limit = 30.0
    cell, fac, seconds = catchment_cell_times(g, fr, facilities_xy=xy, limit_s=limit, src_crs=g.crs)
    assert seconds.dtype == np.float64 and np.all(seconds <= limit)
    for i, rc in enumerate(cells):
        alone = _run(g, fr, [rc], limit_s=limit).time_s.ravel()  # float32, the whole grid
        mine = fac == i
        np.testing.assert_array_equal(cell[mine], np.flatnonzero(np.isfinite(alone)))
        np.testing.assert_allclose(seconds[mine], alone[cell[mine]], rtol=1e-6)
    # The same pairs as catchment_cells; and the look-up gives each pair's facility and time.
    np.testing.assert_array_equal(catchment_cells(g, fr, facilities_xy=xy, limit_s=limit, src_crs=g.crs)[0], cell)
    ask = np.array([cell[5], -1])
    p, at = pair_positions(cell, ask)
    assert p.tolist() == [0] * int((cell == cell[5]).sum()) and np.all(cell[at] == cell[5])
    # `keep`: only the cells of the mask, with the same times.
    keep = rng.random(g.shape) < 0.3
    kc, kf, ks = catchment_cell_times(g, fr, facilities_xy=xy, limit_s=limit, keep=keep, src_crs=g.crs)
    inside = keep.ravel()[cell]
    np.testing.assert_array_equal(kc, cell[inside])
    np.testing.assert_array_equal(kf, fac[inside])
    np.testing.assert_array_equal(ks, seconds[inside])
    kept = catchment_cells(g, fr, facilities_xy=xy, limit_s=limit, keep=keep, max_pairs=kc.size, src_crs=g.crs)
    np.testing.assert_array_equal(kept[0], kc)
    np.testing.assert_array_equal(kept[1], kf)
    with pytest.raises(ValueError, match="keep must have the grid's shape"):
        catchment_cell_times(g, fr, facilities_xy=xy, limit_s=limit, keep=keep[1:], src_crs=g.crs)
    # A pair limit: exactly the pairs pass, one fewer is refused with the count after the search that passed it.
    assert catchment_cell_times(g, fr, facilities_xy=xy, limit_s=limit, max_pairs=cell.size, src_crs=g.crs)[0].size
    first_two = int((fac < 2).sum())
    with pytest.raises(CatchmentTooLarge) as exc:
        catchment_cell_times(g, fr, facilities_xy=xy, limit_s=limit, max_pairs=first_two - 1, src_crs=g.crs)
    assert (exc.value.pairs, exc.value.searched, exc.value.facilities) == (first_two, 2, 3)
    assert str(exc.value) == (
        f"the catchments hold more than {first_two - 1} (cell, facility) pairs: {first_two} after 2 of 3 facilities "
        "searched"
    )
