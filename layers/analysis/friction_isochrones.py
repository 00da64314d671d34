"""Isochrones of cost-distance travel time (issue 18): per facility and threshold, the friction grid's cells from
which the facility is reached within the threshold, polygonised along the cells' edges.

Times are layers.analysis.friction's: each facility searched alone over the friction grid (`facility_windows`),
exact up to the largest threshold. A cell is inside the isochrone of threshold T exactly when a travel-time run
with a population raster counts a populated cell there as within T of that facility: its time, stored in float32
as the run's surface is, ≤ T + TIME_TOLERANCE_S rounded to float32 (a cell reached in exactly T is inside), and
its float64 time within the largest threshold (the surface's own cut). The polygon is the union of those cells'
squares (rasterio.features.shapes, 4-connected rings, so cells touching at a corner only are separate parts), its
edges split into pieces of at most SEGMENT_M metres before the vertices are transformed from the grid's CRS to
EPSG:4326: a straight line of the conformal grid is not straight in longitude and latitude, and a chord of 2 km
strays from it by at most 0.11 m over Kazakhstan's box (40.5–55.5° N, 46.5–87.5° E, measured with pyproj at the
chord's middle; ∝ the length squared: ~2.3 m at 10 km, ~58 m at 50 km east–west near 51° N), while splitting at
every cell corner would hold ~4 × the vertices (50 facilities' 15/30/60-min polygons on 200 m cells: 0.78 M
vertices against 0.21 M). The cells inside a smaller threshold are inside every larger one, and each polygon is
unioned with the next smaller one's (whose straight edges may stray from the larger's by those ≤ 0.11 m, leaving
slivers and vertices of that size): a facility's polygons are nested. Thresholds and times seconds,
coordinates EPSG:4326 (lon, lat) in and out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.features import shapes

from layers.analysis.friction import Grid, facility_windows
from layers.analysis.travel import TIME_TOLERANCE_S

# Longest edge of a polygon in the grid's metres before the transform to EPSG:4326 (≤ 0.11 m off the cells' edges).
SEGMENT_M = 2_000.0


def friction_isochrones(
    grid: Grid,
    friction: np.ndarray,
    *,
    facilities_xy: np.ndarray,
    thresholds_s: Sequence[float] | np.ndarray,
    nearest_s: np.ndarray | None = None,
    src_crs: str = "EPSG:4326",
) -> np.ndarray:
    """Isochrone MultiPolygons in EPSG:4326, an object array (facilities × thresholds) in the given order.

    `facilities_xy`: (n, 2) coordinates in `src_crs`; `thresholds_s`: seconds ≥ 0, any order; `friction`: seconds
    per metre over `grid` (layers.analysis.friction); `nearest_s`: optional float32 seconds to the nearest facility
    with a limit ≥ the largest threshold (`accumulated_time(...).time_s`), which narrows each facility's search.
    A facility off the grid or on an impassable cell reaches no cell: None in its row.
    """
    thr = np.asarray(thresholds_s, dtype=np.float64).ravel()
    if not thr.size or np.any(~np.isfinite(thr)) or np.any(thr < 0):
        raise ValueError("thresholds_s must be a non-empty list of seconds ≥ 0")
    fxy = np.asarray(facilities_xy, dtype=np.float64).reshape(-1, 2)
    out = np.empty((len(fxy), thr.size), dtype=object)
    largest = float(thr.max())
    # As the travel pass compares its float32 surface: thresholds rounded to float32 (monotonic, so the masks of
    # increasing thresholds stay nested), the surface's own float64 cut at the largest threshold besides.
    limits32 = (thr + TIME_TOLERANCE_S).astype(np.float32)
    to_lonlat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True)
    for win in facility_windows(
        grid, friction, facilities_xy=fxy, limit_s=largest, nearest_s=nearest_s, src_crs=src_crs
    ):
        reached = win.time_s <= largest + TIME_TOLERANCE_S
        time32 = np.where(reached, win.time_s, np.inf).astype(np.float32)
        transform = grid.transform @ Affine.translation(win.col0, win.row0)
        previous = None
        for k in np.argsort(limits32, kind="stable"):
            area = _cells_polygon(time32 <= limits32[k], transform=transform, to_lonlat=to_lonlat)
            if previous is not None:
                # The cells are nested, but a smaller polygon's long edge can run straight past vertices of the
                # larger one's along their common outline, and the two chords differ by a hair in lon/lat.
                area = _multi(shapely.union(area, previous))
            out[win.facility, k] = previous = area
    return out


def _multi(geom) -> shapely.MultiPolygon:
    return geom if isinstance(geom, shapely.MultiPolygon) else shapely.MultiPolygon([geom])


def _cells_polygon(inside: np.ndarray, *, transform: Affine, to_lonlat: Transformer):
    """The union of the `inside` cells' squares (affine `transform`: col, row → grid metres) in EPSG:4326, a
    MultiPolygon; edges split into pieces of at most SEGMENT_M metres before the transform."""
    parts = [
        shapely.segmentize(shapely.geometry.shape(geom), SEGMENT_M)
        for geom, _value in shapes(inside.astype(np.uint8), mask=inside, connectivity=4, transform=transform)
    ]
    # Segmentized part by part: GEOS returns a one-part MultiPolygon segmentized as a Polygon.
    area = shapely.MultiPolygon(parts) if parts else shapely.MultiPolygon()
    return shapely.transform(area, lambda xy: np.column_stack(to_lonlat.transform(xy[:, 0], xy[:, 1])))
