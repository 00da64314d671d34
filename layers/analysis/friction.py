"""Cost-distance where roads are sparse (AccessMod's method): a friction raster and accumulated travel time.

Grid. A north-up raster in a projected CRS whose units are metres (`Grid.crs`). Travel time is
measured in map metres: for a conformal projection the map scale is the same in every direction
at a point, and with KAZAKHSTAN_LCC (Lambert conformal conic, standard parallels 43° and 53° N) it
lies within −0.4 % … +0.5 % of true over 40.5°–55.5° N, so times are within 0.5 % of times over
true distances. Geometries and facility positions are given in EPSG:4326 lon/lat (or in `src_crs`)
and transformed to the grid's CRS.

Friction. Seconds per metre in each cell: 3.6 / speed in km/h. Every cell starts at the off-road
speed; barriers (water, borders...) are impassable (np.inf) in every cell they touch (so a thin or
diagonal barrier leaves no gap between corners for an 8-neighbour step to slip through); roads are
then burned in at their speeds (faster roads last, so they win where roads meet), over barriers
too: a road across a river is a bridge or a ferry. Cells outside an optional land mask are impassable.

Accumulated time. scikit-image's MCP_Geometric (Dijkstra over the 8-neighbour grid: a step costs
the mean friction of its two cells × the step's length, dx, dy or the diagonal) from the facility
cells; the result is seconds from each cell to the nearest facility (friction is isotropic, so
home → facility equals facility → home).

Windows and memory. MCP_Geometric holds ~66 bytes per cell of the array it is given (measured:
costs and cumulative costs in float64, traceback and heap). The grid is cut into tiles, each run
in a window = the tile grown by a halo of H = limit_s / (fastest friction × cell size) cells:
a path of time ≤ limit_s is at most limit_s / fastest-friction metres long, so it stays inside the
disc of that radius around its end cell — within the window — and the tile's times are exact up
to the limit (beyond it: np.inf). Windows hold about `max_window_cells` cells (4 M by default:
~270 MB inside MCP), but a tile is never narrower than 2 halos (the halo's repeated search would
cost more than the memory saves) and when a window would hold half the grid the grid is searched
whole; the whole grid costs 8 bytes per cell besides (float32 friction and float32 time). Peak
memory is thus ~66 B × the largest window + 8 B × the grid (measured by scripts/bench/travel_time.py
with tracemalloc): the national box at ~840 m (9 M cells, 4 windows of ≤ 2.3 M) peaked at 0.29 GiB,
against 0.65 GiB for MCP_Geometric over the whole array; a region at 100 m with a 60-minute limit
and 90 km/h roads has a halo of ~900 cells (90 km), so a 340 × 340 km region (11.5 M cells) runs
whole (peak 0.96 GiB) and larger ones in windows of ~3 300 × 3 300 cells (~0.8 GiB, at up to ~4 ×
the search work of one run). Tiles without a facility within their window are
not searched at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.features import rasterize
from skimage.graph import MCP_Geometric

from layers.analysis.travel import TIME_TOLERANCE_S

KAZAKHSTAN_LCC = "+proj=lcc +lat_1=43 +lat_2=53 +lat_0=48 +lon_0=67 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
DEFAULT_MAX_WINDOW_CELLS = 4_000_000


def seconds_per_metre(speed_kmh: float) -> float:
    """Friction (seconds per metre) of a speed in km/h."""
    return 3.6 / float(speed_kmh)


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid: `transform` maps (col, row) to the CRS's metres; cells need not be square."""

    crs: str
    transform: Affine
    width: int
    height: int

    @classmethod
    def covering(cls, *, crs: str, bounds: tuple[float, float, float, float], cell_m: float) -> Grid:
        """The grid of `cell_m` metre cells covering lon/lat `bounds` (west, south, east, north; EPSG:4326)."""
        west, south, east, north = bounds
        lon = np.concatenate(
            [np.linspace(west, east, 64), np.full(64, east), np.linspace(east, west, 64), np.full(64, west)]
        )
        lat = np.concatenate(
            [np.full(64, south), np.linspace(south, north, 64), np.full(64, north), np.linspace(north, south, 64)]
        )
        x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
        x0, y1 = math.floor(np.min(x) / cell_m) * cell_m, math.ceil(np.max(y) / cell_m) * cell_m
        width = int(math.ceil((np.max(x) - x0) / cell_m))
        height = int(math.ceil((y1 - np.min(y)) / cell_m))
        return cls(crs=crs, transform=Affine(cell_m, 0.0, x0, 0.0, -cell_m, y1), width=width, height=height)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def cell_size(self) -> tuple[float, float]:
        """(dy, dx) in metres: the sampling MCP_Geometric takes."""
        return (abs(self.transform.e), abs(self.transform.a))

    def cells_of(
        self, lon: np.ndarray, lat: np.ndarray, *, src_crs: str = "EPSG:4326"
    ) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of points given in `src_crs` (−1 for points outside the grid)."""
        x, y = Transformer.from_crs(src_crs, self.crs, always_xy=True).transform(
            np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        )
        col, row = (~self.transform) @ (np.asarray(x), np.asarray(y))
        row = np.floor(np.asarray(row)).astype(np.int64)
        col = np.floor(np.asarray(col)).astype(np.int64)
        inside = (row >= 0) & (row < self.height) & (col >= 0) & (col < self.width)
        return np.where(inside, row, -1), np.where(inside, col, -1)


def _to_grid_crs(geoms: Sequence, grid: Grid, src_crs: str) -> list:
    geoms = [shapely.geometry.shape(g) if isinstance(g, dict) else g for g in geoms]
    if src_crs == grid.crs or not geoms:
        return geoms
    tr = Transformer.from_crs(src_crs, grid.crs, always_xy=True)
    return list(
        shapely.transform(np.asarray(geoms, dtype=object), lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    )


def friction_surface(
    grid: Grid,
    *,
    off_road_kmh: float,
    roads: Iterable[tuple[object, float]] = (),
    barriers: Iterable[object] = (),
    land: np.ndarray | None = None,
    src_crs: str = "EPSG:4326",
) -> np.ndarray:
    """Friction raster (float32 seconds per metre) of `grid`.

    `roads`: (line geometry — shapely or GeoJSON mapping — , speed km/h) pairs; `barriers`: polygons
    (or lines) impassable unless a road crosses them; `land`: optional boolean mask (False:
    impassable, e.g. outside the country); geometries in `src_crs`.
    """
    if not off_road_kmh > 0:
        raise ValueError("off_road_kmh must be a positive speed")
    friction = np.full(grid.shape, seconds_per_metre(off_road_kmh), dtype=np.float32)
    barrier_geoms = _to_grid_crs(list(barriers), grid, src_crs)
    if barrier_geoms:
        blocked = rasterize(
            [(g, 1) for g in barrier_geoms],
            out_shape=grid.shape,
            transform=grid.transform,
            fill=0,
            dtype="uint8",
            all_touched=True,
        )
        friction[blocked.astype(bool)] = np.inf
    road_list = list(roads)
    if road_list:
        speeds = np.array([s for _g, s in road_list], dtype=np.float64)
        if np.any(~(speeds > 0)):
            raise ValueError("road speeds must be positive km/h")
        geoms = _to_grid_crs([g for g, _s in road_list], grid, src_crs)
        order = np.argsort(speeds, kind="stable")  # slowest first: the faster road is burned last and wins
        rasterize(
            [(geoms[i], seconds_per_metre(speeds[i])) for i in order],
            out=friction,
            transform=grid.transform,
        )
    if land is not None:
        friction[~np.asarray(land, dtype=bool)] = np.inf
    return friction


@dataclass
class CostDistance:
    """Seconds from each cell to the nearest facility (np.inf beyond `limit_s` or unreachable)."""

    time_s: np.ndarray  # float32, the grid's shape
    facility_cells: np.ndarray  # (n, 2) row, col per facility; −1 when off the grid
    facility_placed: np.ndarray  # per facility: on the grid and on a passable cell
    windows: int  # MCP runs made
    halo: int  # cells


def _tiles(height: int, width: int, halo: int, max_cells: int) -> list[tuple[int, int, int, int]]:
    """Tiles (r0, r1, c0, c1) whose windows (tile + halo, clipped to the grid) hold ≲ max_cells cells.

    A tile is at least 2 halos wide (else the halos would be searched over and over: ≤ 4 × the work);
    when a window would still hold half the grid or more, the grid is searched whole, in one window.
    """
    if height * width <= max_cells:
        return [(0, height, 0, width)]
    side = max(64, 2 * halo, int(math.sqrt(max_cells)) - 2 * halo)
    n_rows = max(1, math.ceil(height / side))
    tile_h = math.ceil(height / n_rows)
    win_h = min(height, tile_h + 2 * halo)
    tile_w_max = max(64, 2 * halo, max_cells // win_h - 2 * halo)
    n_cols = max(1, math.ceil(width / tile_w_max))
    tile_w = math.ceil(width / n_cols)
    if win_h * min(width, tile_w + 2 * halo) * 2 >= height * width:
        return [(0, height, 0, width)]
    return [
        (r, min(r + tile_h, height), c, min(c + tile_w, width))
        for r in range(0, height, tile_h)
        for c in range(0, width, tile_w)
    ]


def accumulated_time(
    grid: Grid,
    friction: np.ndarray,
    *,
    facilities_xy: np.ndarray,
    limit_s: float,
    src_crs: str = "EPSG:4326",
    max_window_cells: int = DEFAULT_MAX_WINDOW_CELLS,
) -> CostDistance:
    """Accumulated travel time (seconds) from the facilities (`facilities_xy`: (n, 2) lon/lat in
    `src_crs`) over `friction` (seconds per metre, `grid.shape`), exact up to `limit_s`, window by window."""
    if friction.shape != grid.shape:
        raise ValueError("friction must have the grid's shape")
    if not limit_s >= 0:
        raise ValueError("limit_s must be zero or more seconds")
    fxy = np.asarray(facilities_xy, dtype=np.float64).reshape(-1, 2)
    rows, cols = grid.cells_of(fxy[:, 0], fxy[:, 1], src_crs=src_crs)
    on_grid = rows >= 0
    placed = on_grid.copy()
    placed[on_grid] = np.isfinite(friction[rows[on_grid], cols[on_grid]]) & (
        friction[rows[on_grid], cols[on_grid]] >= 0
    )
    out = np.full(grid.shape, np.inf, dtype=np.float32)
    finite = friction[np.isfinite(friction) & (friction > 0)]
    dy, dx = grid.cell_size
    if not placed.any() or not finite.size:
        return CostDistance(out, np.column_stack([rows, cols]), placed, 0, 0)
    fastest = float(finite.min())
    halo = int(math.ceil(limit_s / fastest / min(dx, dy))) + 1
    fr, fc = rows[placed], cols[placed]
    windows = 0
    for r0, r1, c0, c1 in _tiles(grid.height, grid.width, halo, max_window_cells):
        wr0, wr1 = max(0, r0 - halo), min(grid.height, r1 + halo)
        wc0, wc1 = max(0, c0 - halo), min(grid.width, c1 + halo)
        inside = (fr >= wr0) & (fr < wr1) & (fc >= wc0) & (fc < wc1)
        if not inside.any():
            continue
        mcp = MCP_Geometric(friction[wr0:wr1, wc0:wc1].astype(np.float64), sampling=(dy, dx))
        starts = np.column_stack([fr[inside] - wr0, fc[inside] - wc0])
        cum, _traceback = mcp.find_costs(starts)
        del mcp, _traceback
        part = cum[r0 - wr0 : r1 - wr0, c0 - wc0 : c1 - wc0]
        # The limit is applied in float64, before the float32 store: a cell reached in exactly limit_s is kept.
        out[r0:r1, c0:c1] = np.where(part <= limit_s + TIME_TOLERANCE_S, part, np.inf)
        windows += 1
    return CostDistance(out, np.column_stack([rows, cols]), placed, windows, halo)


@dataclass(frozen=True)
class FacilityWindow:
    """One facility's search: `time_s` (float64 seconds from each cell to the facility alone, np.inf where not
    reached; finite values may exceed the limit) over the window whose top-left cell is (`row0`, `col0`)."""

    facility: int  # index into facilities_xy
    row0: int
    col0: int
    time_s: np.ndarray


def facility_windows(
    grid: Grid,
    friction: np.ndarray,
    *,
    facilities_xy: np.ndarray,
    limit_s: float,
    nearest_s: np.ndarray | None = None,
    src_crs: str = "EPSG:4326",
) -> Iterator[FacilityWindow]:
    """Each facility searched alone, in the window of `limit_s` / fastest friction metres around it (a path within
    the limit stays in that disc), one window at a time (memory ∝ one window); exact up to `limit_s`.

    `nearest_s`, the time to the nearest facility (`accumulated_time(...).time_s` with a limit ≥ `limit_s`), cuts
    the work down: every cell of a path within the limit from a facility is itself within the limit of it, so cells
    beyond `limit_s` of every facility are left out (impassable) and the window shrinks to the box of the cells
    kept — the same times up to the limit, found in the roads' corridors rather than in the whole disc. A facility
    off the grid or on an impassable cell yields no window.
    """
    if friction.shape != grid.shape:
        raise ValueError("friction must have the grid's shape")
    fxy = np.asarray(facilities_xy, dtype=np.float64).reshape(-1, 2)
    rows, cols = grid.cells_of(fxy[:, 0], fxy[:, 1], src_crs=src_crs)
    finite = friction[np.isfinite(friction) & (friction > 0)]
    if not finite.size:
        return
    dy, dx = grid.cell_size
    halo = int(math.ceil(limit_s / float(finite.min()) / min(dx, dy))) + 1
    for i, (r, c) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)):
        if r < 0 or not np.isfinite(friction[r, c]):
            continue
        wr0, wr1 = max(0, r - halo), min(grid.height, r + halo + 1)
        wc0, wc1 = max(0, c - halo), min(grid.width, c + halo + 1)
        costs = friction[wr0:wr1, wc0:wc1].astype(np.float64)
        if nearest_s is not None:
            # float32 times: a cell at exactly the limit may read up to half a float32 step above it.
            keep = nearest_s[wr0:wr1, wc0:wc1] <= np.nextafter(np.float32(limit_s + TIME_TOLERANCE_S), np.inf)
            rows_kept, cols_kept = np.nonzero(keep.any(axis=1))[0], np.nonzero(keep.any(axis=0))[0]
            costs[~keep] = np.inf
            # The box of the cells kept (the facility's own cell is among them when it is placed).
            b0, b1, a0, a1 = rows_kept[0], rows_kept[-1] + 1, cols_kept[0], cols_kept[-1] + 1
            costs = costs[b0:b1, a0:a1]
            wr0, wc0 = wr0 + b0, wc0 + a0
        mcp = MCP_Geometric(costs, sampling=(dy, dx))
        cum, _traceback = mcp.find_costs([(r - wr0, c - wc0)])
        del mcp, _traceback
        yield FacilityWindow(facility=i, row0=int(wr0), col0=int(wc0), time_s=cum)


class CatchmentTooLarge(ValueError):
    """The catchments of a search hold more (cell, facility) pairs than it was allowed (`max_pairs`)."""

    def __init__(self, *, limit: int, pairs: int, searched: int, facilities: int):
        self.limit, self.pairs, self.searched, self.facilities = limit, pairs, searched, facilities
        super().__init__(
            f"the catchments hold more than {limit} (cell, facility) pairs: {pairs} after {searched} of "
            f"{facilities} facilities searched"
        )


def catchment_cell_times(
    grid: Grid,
    friction: np.ndarray,
    *,
    facilities_xy: np.ndarray,
    limit_s: float,
    nearest_s: np.ndarray | None = None,
    keep: np.ndarray | None = None,
    max_pairs: int | None = None,
    src_crs: str = "EPSG:4326",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cell, facility, seconds) triples: every cell within `limit_s` seconds of each facility with its time from
    that facility alone (float64), one search per facility (`facility_windows`, `nearest_s` as there).

    `accumulated_time` gives each cell its nearest facility only; the served flow, 2SFCA and the candidates of best
    sites need every facility reaching a cell. The work is ∝ facilities × (2 halo)² cells (less with `nearest_s`)
    and memory ∝ the pairs (24 bytes each, ~40 at the peak of the sort): `keep`, a boolean mask of the grid's
    shape, keeps the cells where it is True only (e.g. the populated cells not covered yet), and more than
    `max_pairs` pairs raise CatchmentTooLarge (naming the count) as soon as the searches pass it. Cells are flat
    indices (row × width + col), sorted ascending (facility index ascending within a cell); a facility off the grid
    or on an impassable cell reaches nothing. The limit is inclusive (TIME_TOLERANCE_S), compared in float64.
    """
    cell, fac, seconds = _catchment(
        grid,
        friction,
        facilities_xy=facilities_xy,
        limit_s=limit_s,
        nearest_s=nearest_s,
        keep=keep,
        max_pairs=max_pairs,
        src_crs=src_crs,
        with_times=True,
    )
    return cell, fac, seconds


def catchment_cells(
    grid: Grid,
    friction: np.ndarray,
    *,
    facilities_xy: np.ndarray,
    limit_s: float,
    nearest_s: np.ndarray | None = None,
    keep: np.ndarray | None = None,
    max_pairs: int | None = None,
    src_crs: str = "EPSG:4326",
) -> tuple[np.ndarray, np.ndarray]:
    """(cell, facility) pairs of `catchment_cell_times`, without the times (16 bytes a pair, ~32 at the peak)."""
    cell, fac, _none = _catchment(
        grid,
        friction,
        facilities_xy=facilities_xy,
        limit_s=limit_s,
        nearest_s=nearest_s,
        keep=keep,
        max_pairs=max_pairs,
        src_crs=src_crs,
        with_times=False,
    )
    return cell, fac


def _catchment(
    grid: Grid,
    friction: np.ndarray,
    *,
    facilities_xy: np.ndarray,
    limit_s: float,
    nearest_s: np.ndarray | None,
    keep: np.ndarray | None,
    max_pairs: int | None,
    src_crs: str,
    with_times: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    if keep is not None and keep.shape != grid.shape:
        raise ValueError("keep must have the grid's shape")
    n_fac = np.asarray(facilities_xy).reshape(-1, 2).shape[0]
    cells: list[np.ndarray] = []
    facs: list[np.ndarray] = []
    times: list[np.ndarray] = []
    total = 0
    for win in facility_windows(
        grid, friction, facilities_xy=facilities_xy, limit_s=limit_s, nearest_s=nearest_s, src_crs=src_crs
    ):
        inside = win.time_s <= limit_s + TIME_TOLERANCE_S
        if keep is not None:
            h, w = win.time_s.shape
            inside &= keep[win.row0 : win.row0 + h, win.col0 : win.col0 + w]
        rr, cc = np.nonzero(inside)
        total += rr.size
        if max_pairs is not None and total > max_pairs:
            raise CatchmentTooLarge(limit=max_pairs, pairs=total, searched=win.facility + 1, facilities=n_fac)
        cells.append((rr + win.row0).astype(np.int64) * grid.width + (cc + win.col0))
        facs.append(np.full(rr.size, win.facility, dtype=np.int64))
        if with_times:
            times.append(win.time_s[rr, cc])
    if not cells:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy(), (np.empty(0, dtype=np.float64) if with_times else None)
    # One array at a time, each list freed once joined, to keep the peak low (memory ∝ pairs).
    cell = np.concatenate(cells)
    cells.clear()
    fac = np.concatenate(facs)
    facs.clear()
    order = np.lexsort((fac, cell))
    cell = cell[order]
    fac = fac[order]
    seconds = None
    if with_times:
        seconds = np.concatenate(times)
        times.clear()
        seconds = seconds[order]
    return cell, fac, seconds


def pair_positions(cell_sorted: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index into `cells`, position in `cell_sorted`) of every pair whose cell is one of `cells` (flat indices,
    −1: off the grid, no pair); `cell_sorted` the sorted cells of `catchment_cell_times`, whose facility and
    seconds at those positions belong to the pair."""
    cells = np.asarray(cells, dtype=np.int64)
    lo = np.searchsorted(cell_sorted, cells, side="left")
    hi = np.searchsorted(cell_sorted, cells, side="right")
    counts = np.where(cells >= 0, hi - lo, 0)
    point_idx = np.repeat(np.arange(cells.size, dtype=np.int64), counts)
    # Positions lo[i], lo[i] + 1, … hi[i] − 1 for each point, without a Python loop.
    starts = np.repeat(lo - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return point_idx, starts + np.arange(point_idx.size, dtype=np.int64)


def pairs_of_cells(catchment: tuple[np.ndarray, np.ndarray], cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index into `cells`, facility) pairs for flat cell indices `cells` (−1: off the grid, no pair), looked up
    in the sorted pairs of `catchment_cells`."""
    cell_sorted, fac = catchment
    point_idx, at = pair_positions(cell_sorted, cells)
    return point_idx, fac[at]
