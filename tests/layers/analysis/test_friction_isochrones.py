"""Isochrones over a friction grid (layers.analysis.friction_isochrones): cells counted by hand. No database needed.

A 21 × 21 grid of 100 m cells at 36 km/h (10 s a straight step, 14.14 s a diagonal one), in KAZAKHSTAN_LCC metres.
From a facility at cell (10, 10): within 10 s the cell and its 4 straight neighbours (a plus of 5 cells); within
15 s the 3 × 3 block (9); within 20 s the block and the 4 cells two straight steps away, exactly 20 s (13).
"""

import math

import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import Transformer
from shapely.geometry import box

from layers.analysis.friction import KAZAKHSTAN_LCC, Grid, friction_surface
from layers.analysis.friction_isochrones import SEGMENT_M, friction_isochrones

CELL = 100.0
SPEED = 36.0
H = W = 21


def _grid() -> Grid:
    return Grid(crs=KAZAKHSTAN_LCC, transform=Affine(CELL, 0, 0, 0, -CELL, H * CELL), width=W, height=H)


def _centre(r: int, c: int) -> tuple[float, float]:
    return ((c + 0.5) * CELL, (H - r - 0.5) * CELL)


def _cells(cells) -> shapely.Geometry:
    """The union of the cells' squares in the grid's metres."""
    return shapely.union_all([box(c * CELL, (H - r - 1) * CELL, (c + 1) * CELL, (H - r) * CELL) for r, c in cells])


def _in_grid_metres(geom) -> shapely.Geometry:
    tr = Transformer.from_crs("EPSG:4326", KAZAKHSTAN_LCC, always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


PLUS = [(10, 10), (9, 10), (11, 10), (10, 9), (10, 11)]
BLOCK = [(r, c) for r in (9, 10, 11) for c in (9, 10, 11)]
BLOCK_AND_TIPS = BLOCK + [(8, 10), (12, 10), (10, 8), (10, 12)]


def test_hand_times_of_the_docstring():
    diagonal = 10.0 * math.sqrt(2)
    assert 10.0 < diagonal <= 15.0 < 20.0 < 10.0 + diagonal  # a diagonal step; a straight and a diagonal one
    assert (len(PLUS), len(set(BLOCK)), len(set(BLOCK_AND_TIPS))) == (5, 9, 13)


def test_each_threshold_is_the_cells_within_it_drawn_along_their_edges():
    g = _grid()
    fr = friction_surface(g, off_road_kmh=SPEED, src_crs=g.crs)
    xy = np.array([_centre(10, 10), (-500.0, -500.0)])  # the second facility is off the grid
    thresholds = [20.0, 10.0, 15.0]  # any order: the result keeps it
    out = friction_isochrones(g, fr, facilities_xy=xy, thresholds_s=thresholds, src_crs=g.crs)
    assert out.shape == (2, 3)
    assert out[1].tolist() == [None, None, None]  # reaches no cell
    for geom, cells in zip(out[0], [BLOCK_AND_TIPS, PLUS, BLOCK], strict=True):
        assert geom.geom_type == "MultiPolygon" and geom.is_valid
        metres = _in_grid_metres(geom)
        expected = _cells(cells)
        # The same squares: no area on either side but the slivers of the union with the smaller polygon (a
        # chord of 300 m strays by ~2 mm from the 100 m chords along it, layers.analysis.friction_isochrones).
        assert metres.area == pytest.approx(len(cells) * CELL * CELL, rel=1e-5)
        assert shapely.symmetric_difference(metres, expected).area < 1e-4 * CELL * CELL
        # Every vertex is a cell corner (no edge here is longer than SEGMENT_M: none is split), to the cm (the
        # union's crossings of nearly parallel chords).
        xy_m = shapely.get_coordinates(metres) / CELL
        np.testing.assert_allclose(xy_m, np.round(xy_m), atol=1e-4)
    # Nested: the 10 s plus inside the 15 s block inside the 20 s polygon.
    assert out[0][2].buffer(1e-9).covers(out[0][1]) and out[0][0].buffer(1e-9).covers(out[0][2])


def test_long_edges_are_split_before_the_transform():
    """A strip of 60 cells (6 km) along a road through impassable ground: its long sides are split into pieces
    of at most SEGMENT_M (2 km), every vertex still on the strip's outline."""
    g = Grid(crs=KAZAKHSTAN_LCC, transform=Affine(CELL, 0, 0, 0, -CELL, 5 * CELL), width=60, height=5)
    fr = np.full(g.shape, np.inf, dtype=np.float32)
    fr[2, :] = np.float32(0.1)
    xy = np.array([(0.5 * CELL, 2.5 * CELL)])
    geom = friction_isochrones(g, fr, facilities_xy=xy, thresholds_s=[600.0], src_crs=g.crs)[0, 0]
    metres = _in_grid_metres(geom)
    assert metres.area == pytest.approx(60 * CELL * CELL, rel=1e-9)
    xy_m = shapely.get_coordinates(metres)
    edges = np.hypot(*np.diff(xy_m, axis=0).T)
    assert edges.max() <= SEGMENT_M * (1 + 1e-9) and len(xy_m) > 5  # more than the 4 corners and the closing one
    assert np.allclose(np.minimum(np.abs(xy_m[:, 1] - 2 * CELL), np.abs(xy_m[:, 1] - 3 * CELL)), 0, atol=1e-6)


def test_cells_touching_at_a_corner_only_are_separate_parts():
    """A wall leaves the facility's cell one way out, a diagonal step: the two cells meet at a corner."""
    g = _grid()
    fr = friction_surface(g, off_road_kmh=SPEED, src_crs=g.crs)
    fr[8:13, 8:13] = np.inf
    fr[10, 10] = fr[11, 11] = np.float32(0.1)  # the facility's cell and its south-east neighbour
    out = friction_isochrones(g, fr, facilities_xy=np.array([_centre(10, 10)]), thresholds_s=[15.0], src_crs=g.crs)
    geom = out[0, 0]
    assert geom.is_valid and len(geom.geoms) == 2
    assert _in_grid_metres(geom).area == pytest.approx(2 * CELL * CELL, rel=1e-9)


def test_a_cell_at_exactly_the_threshold_is_inside_and_thresholds_are_checked():
    g = _grid()
    fr = friction_surface(g, off_road_kmh=SPEED, src_crs=g.crs)
    xy = np.array([_centre(10, 10)])
    at = friction_isochrones(g, fr, facilities_xy=xy, thresholds_s=[20.0], src_crs=g.crs)[0, 0]
    below = friction_isochrones(g, fr, facilities_xy=xy, thresholds_s=[20.0 - 1e-3], src_crs=g.crs)[0, 0]
    assert _in_grid_metres(at).area == pytest.approx(13 * CELL * CELL, rel=1e-9)
    assert _in_grid_metres(below).area == pytest.approx(9 * CELL * CELL, rel=1e-9)
    with pytest.raises(ValueError):
        friction_isochrones(g, fr, facilities_xy=xy, thresholds_s=[], src_crs=g.crs)
    with pytest.raises(ValueError):
        friction_isochrones(g, fr, facilities_xy=xy, thresholds_s=[-1.0], src_crs=g.crs)
