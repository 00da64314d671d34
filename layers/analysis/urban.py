"""One rule for "urban", whatever the demand source: a place is urban when it lies in a town.

A town is a settlement of at least `min_population` inhabitants (10 000 by default: the population a
settlement needs to be a city of district significance under the Law of the Republic of Kazakhstan of
8 December 1993 No. 2572-XII "On the administrative-territorial structure", article 3, and cities are
urban settlements under its article 2). A settlement point is a location, a raster cell an area: so that
both sources class the same children alike, each town is given an extent — a disc around its point whose
area holds its population at 1 500 inhabitants/km², the density of an "urban centre" in the Degree of
Urbanisation (UN Statistical Commission, 51st session, 2020). Its radius is sqrt(P / (π · 1 500)) km:
1.46 km for 10 000 inhabitants, 21.6 km for 2.2 million. A demand point (settlement or cell centre) is
urban when it lies within some town's disc (boundary included); a town's own point always does.

Coordinates are EPSG:4326 degrees; distances are true metres through WGS 84 ECEF chords (layers.analysis.geodesy).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

from layers.analysis.geodesy import BOUNDARY_TOLERANCE_M, lonlat_to_ecef, metres_to_chord

DEFAULT_URBAN_MIN_POPULATION = 10_000
URBAN_CENTRE_DENSITY_PER_KM2 = 1_500.0


def town_radius_m(population: np.ndarray | float) -> np.ndarray | float:
    """Radius (metres) of the disc that holds `population` inhabitants at the urban-centre density."""
    pop = np.asarray(population, dtype=np.float64)
    out = 1_000.0 * np.sqrt(np.maximum(pop, 0.0) / (math.pi * URBAN_CENTRE_DENSITY_PER_KM2))
    return out if out.ndim else float(out)


class UrbanExtents:
    """The towns (settlements of ≥ `min_population` inhabitants) as discs; `contains` classes demand points."""

    def __init__(self, *, lon: np.ndarray, lat: np.ndarray, population: np.ndarray, min_population: float):
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        population = np.asarray(population, dtype=np.float64)
        if not (lon.size == lat.size == population.size):
            raise ValueError("lon, lat and population must have the same length")
        town = population >= min_population
        self.min_population = min_population
        self.count = int(town.sum())
        self.radius_m = np.asarray(town_radius_m(population[town]), dtype=np.float64).reshape(-1)
        self.xyz = lonlat_to_ecef(lon[town], lat[town])
        self.tree = cKDTree(self.xyz) if self.count else None
        # Chords of the radii (plus the float tolerance the coverage test allows at a boundary).
        self.chord = np.asarray(metres_to_chord(self.radius_m + BOUNDARY_TOLERANCE_M), dtype=np.float64).reshape(-1)
        self.max_chord = float(self.chord.max(initial=0.0))

    def __len__(self) -> int:
        return self.count

    def contains(self, *, lon: np.ndarray, lat: np.ndarray, xyz: np.ndarray | None = None) -> np.ndarray:
        """True for each point (EPSG:4326, or its ECEF metres `xyz`) inside some town's disc."""
        n = int(np.asarray(lon).size) if xyz is None else len(xyz)
        out = np.zeros(n, dtype=bool)
        if self.tree is None or not n:
            return out
        if xyz is None:
            xyz = lonlat_to_ecef(lon, lat)
        # Only points within the largest disc's reach of some town can be urban; the rest are never examined.
        near, _ = self.tree.query(xyz, k=1, distance_upper_bound=self.max_chord, workers=-1)
        cand = np.flatnonzero(np.isfinite(near))
        if not cand.size:
            return out
        # Each town asks the candidates' tree for the points within its own radius: a loop over towns only.
        cand_tree = cKDTree(xyz[cand])
        hits = cand_tree.query_ball_point(self.xyz, r=self.chord, workers=-1)
        inside = [np.asarray(h, dtype=np.int64) for h in hits if h]
        if inside:
            out[cand[np.unique(np.concatenate(inside))]] = True
        return out
