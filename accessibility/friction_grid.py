"""The friction grid of a travel-time run with a population raster (issue 18 item 2, AccessMod's method).

Where roads are sparse a family walks (or drives off-road) to the nearest road: rather than a straight
stretch to a road node, time is accumulated over a friction raster — the run's road network burned in at
the speeds its edges were loaded with, the network's off-network speed everywhere else, the network's barriers
(roads.models.RoadBarrier: water, borders...) impassable in every cell they touch unless a road crosses them
there (a bridge or a ferry) — from the
facilities (layers.analysis.friction). Each populated cell of the population raster takes the time of
the friction cell under its centre. Every analysis reads it (accessibility.travel_passes): coverage, the roadmap
effect and underserved areas the nearest-facility time of each cell and, for the served flow, every facility
within the first threshold of it; 2SFCA every facility within the catchment with its time (one windowed search
per facility); best sites the candidates searched as the facilities are, over the cells not covered yet.

Grid. KAZAKHSTAN_LCC (conformal: times within 0.5 % of times over true distances), covering the run's
zones where the population raster has data, grown by a margin of the largest threshold at the fastest
speed (the fastest road of the network, or the off-network speed if faster), so that a facility just
outside still reaches in. Cell size: the population raster's cell, as the side of the square of the
same area (√(width × height) in metres; for a raster in degrees, its cell's sides in metres at the
middle latitude of the grid), so that there is about one friction cell per populated cell: finer would
cost memory without finer demand, coarser would merge neighbouring cells' times (and narrow roads'
effect). Memory: the whole grid costs 8 bytes a cell (float32 friction and time); the windowed search
~66 bytes a cell of its window, ~4 M cells when the halo (the largest threshold at the fastest speed, in
cells) is short, more when it is long, since a tile is never narrower than two halos: at 100 m with 60 min
at 90 km/h a window holds up to ~13 M cells (scripts/bench/travel_time.py part (d): 11.5 M cells searched
whole peaked at 0.96 GiB). A grid above MAX_FRICTION_CELLS (25 M cells: 0.2 GiB of grid and at most
~0.9 GiB of search, besides the catchments' (cell, facility) pairs: 16 bytes each for the served flow and best
sites, whose candidates may reach at most travel_passes.MAX_SITE_PAIRS of the cells not covered, 24 with their times
for 2SFCA) is refused with its size rather than risking the worker's memory: a national run needs a raster of
~1 km cells (Kazakhstan's box holds 6.3 M of them before the margin), a 100 m raster a region or two.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from pyproj import CRS, Geod

from accessibility.models import PopulationRaster
from layers.analysis.friction import KAZAKHSTAN_LCC, Grid, friction_surface
from roads.models import RoadNetwork
from roads.selectors import road_barriers_in, road_edge_speeds, road_fastest_kmh

MAX_FRICTION_CELLS = 25_000_000
GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class FrictionGrid:
    """A run's friction raster: `friction` in seconds per metre over `grid`; speeds km/h; metres."""

    grid: Grid
    friction: np.ndarray
    cell_m: float
    off_network_kmh: float
    fastest_kmh: float
    margin_m: float
    roads: int  # edges burned in
    barriers: dict[str, int] = field(default_factory=dict)  # barrier features made impassable, per kind


def raster_cell_m(*, raster: PopulationRaster, lat: float) -> float:
    """The side in metres (rounded to the metre, at least 1) of the square of the area of one raster cell."""
    crs = CRS.from_wkt(raster.crs_wkt)
    dx, dy = abs(raster.pixel_size_x), abs(raster.pixel_size_y)
    if crs.is_geographic:
        ew = GEOD.inv(0.0, lat, dx, lat)[2]
        ns = GEOD.inv(0.0, lat - dy / 2, 0.0, lat + dy / 2)[2]
    else:
        unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
        ew, ns = dx * unit, dy * unit
    return float(max(1, round(math.sqrt(ew * ns))))


def friction_grid_build(
    *,
    network: RoadNetwork,
    raster: PopulationRaster,
    zone_geoms: list,
    thresholds_min: list[float],
    off_network_kmh: float,
) -> FrictionGrid:
    """Build the friction grid (see the module's docstring); ValueError naming the size when it is too large."""
    if zone_geoms:
        b = np.array([g.bounds for g in zone_geoms])
        west, south, east, north = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    else:  # no district at all: the raster's extent (there is no demand to time anyway)
        west, south, east, north = raster.extent.extent
    rw, rs, re_, rn = raster.extent.extent
    if rw < east and re_ > west and rs < north and rn > south:  # only where the raster has cells
        west, south, east, north = max(west, rw), max(south, rs), min(east, re_), min(north, rn)
    fastest = max(float(road_fastest_kmh(network=network) or 0.0), off_network_kmh)
    margin_m = max(thresholds_min) / 60.0 * fastest * 1000.0
    dlat = margin_m / 110_000.0  # a degree of latitude is ≥ 110.5 km: the margin is at least margin_m
    far_lat = min(89.0, max(abs(south), abs(north)) + dlat)
    dlon = margin_m / (111_320.0 * math.cos(math.radians(far_lat)))
    bounds = (west - dlon, max(-89.0, south - dlat), east + dlon, min(89.0, north + dlat))
    cell_m = raster_cell_m(raster=raster, lat=(south + north) / 2)
    grid = Grid.covering(crs=KAZAKHSTAN_LCC, bounds=bounds, cell_m=cell_m)
    cells = grid.width * grid.height
    if cells > MAX_FRICTION_CELLS:
        raise ValueError(
            f"travel time with a population raster: the friction grid over the run's zones (plus {margin_m / 1000:.0f}"
            f" km, the largest threshold at {fastest:g} km/h) would be {grid.width} × {grid.height} cells of "
            f"{cell_m:.0f} m = {cells / 1e6:.1f} M cells, more than {MAX_FRICTION_CELLS / 1e6:.0f} M: choose fewer "
            "regions, smaller thresholds or a coarser raster"
        )
    roads = road_edge_speeds(network=network, bounds=bounds)
    barriers = road_barriers_in(network=network, bounds=bounds)
    friction = friction_surface(
        grid, off_road_kmh=off_network_kmh, roads=roads, barriers=[geom for geom, _kind in barriers]
    )
    return FrictionGrid(
        grid=grid,
        friction=friction,
        cell_m=cell_m,
        off_network_kmh=off_network_kmh,
        fastest_kmh=fastest,
        margin_m=margin_m,
        roads=len(roads),
        barriers=dict(sorted(Counter(kind for _geom, kind in barriers).items())),
    )
