"""Distance coverage and the two-step floating catchment area (2SFCA), in true metres.

Facilities and demand points are given in EPSG:4326; distances are measured on
the WGS 84 ellipsoid through ECEF chords (layers.analysis.geodesy). A child is
covered when some facility in scope lies within the radius for that facility's
kind and for the child's place (urban or rural): d ≤ r (boundary included).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from layers.analysis.demand import NO_ZONE, DemandChunk
from layers.analysis.geodesy import BOUNDARY_TOLERANCE_M, chord_to_metres, lonlat_to_ecef, metres_to_chord

# Distance-to-nearest distribution: bin edges in metres (the last bin is open-ended).
DISTANCE_BINS_M = (0, 1_000, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 20_000, 30_000, 50_000, 100_000, 200_000)


@dataclass(frozen=True)
class Radius:
    """Catchment radius in metres for children in urban and in rural places."""

    urban_m: float
    rural_m: float

    def __post_init__(self):
        if not (self.urban_m > 0 and self.rural_m > 0):
            raise ValueError("radii must be positive metres")


class Facilities:
    """Facility points (EPSG:4326) with kind, capacity (places), children a year and a radius per kind."""

    def __init__(
        self,
        *,
        lon: np.ndarray,
        lat: np.ndarray,
        kinds: Iterable[str],
        radii: dict[str, Radius],
        capacity: np.ndarray | None = None,
        ids: np.ndarray | None = None,
        yearly_capacity: np.ndarray | None = None,
    ):
        self.lon = np.asarray(lon, dtype=np.float64)
        self.lat = np.asarray(lat, dtype=np.float64)
        kinds = list(kinds)
        missing = sorted(set(kinds) - set(radii))
        if missing:
            raise ValueError(f"no radius given for facility kinds {missing}")
        self.kind_names = sorted(radii)
        self.kind = np.array([self.kind_names.index(k) for k in kinds], dtype=np.int32)
        self.radius_urban = np.array([radii[k].urban_m for k in self.kind_names], dtype=np.float64)
        self.radius_rural = np.array([radii[k].rural_m for k in self.kind_names], dtype=np.float64)
        self.capacity = np.ones(self.lon.size) if capacity is None else np.asarray(capacity, dtype=np.float64)
        self.ids = np.arange(self.lon.size) if ids is None else np.asarray(ids)
        # Children a year the places serve (places × shifts per year): the capacity of the served flow;
        # `capacity` (places) stays what 2SFCA pools.
        self.yearly_capacity = (
            self.capacity.copy() if yearly_capacity is None else np.asarray(yearly_capacity, dtype=np.float64)
        )
        self.xyz = lonlat_to_ecef(self.lon, self.lat)
        self.tree = cKDTree(self.xyz) if self.lon.size else None
        self._kind_trees: dict[int, tuple[cKDTree, np.ndarray]] = {}

    def __len__(self) -> int:
        return int(self.lon.size)

    @property
    def max_radius_m(self) -> float:
        return float(max(self.radius_urban.max(initial=0), self.radius_rural.max(initial=0)))

    @property
    def uniform_radius(self) -> bool:
        """True when every kind in use has the same urban and the same rural radius."""
        used = np.unique(self.kind)
        return np.unique(self.radius_urban[used]).size <= 1 and np.unique(self.radius_rural[used]).size <= 1

    def class_radius_m(self) -> tuple[float, float] | None:
        """(urban, rural) radius in metres a demand point of each class is reached over: the largest of the
        kinds present (when the kinds' radii differ, a point is reached over each kind's own); None if empty."""
        if not len(self):
            return None
        used = np.unique(self.kind)
        return float(self.radius_urban[used].max()), float(self.radius_rural[used].max())

    def kind_tree(self, k: int) -> tuple[cKDTree, np.ndarray]:
        if k not in self._kind_trees:
            idx = np.nonzero(self.kind == k)[0]
            self._kind_trees[k] = (cKDTree(self.xyz[idx]), idx)
        return self._kind_trees[k]


THREADS = max(1, min(8, os.cpu_count() or 1))
# Below this many points the thread hand-off costs more than it saves.
_PARALLEL_MIN = 8_192


def _in_parallel(fn: Callable[[slice], tuple], n: int) -> tuple:
    """Run fn over `THREADS` contiguous slices of range(n) in threads and concatenate the results.

    numpy ufuncs and cKDTree.query release the GIL, so the ECEF conversion and the tree
    queries of the slices run on all cores.
    """
    if n < _PARALLEL_MIN or THREADS == 1:
        return fn(slice(0, n))
    bounds = np.linspace(0, n, THREADS + 1).astype(int)
    parts = [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(fn, parts))
    return tuple(np.concatenate(arrays) for arrays in zip(*results, strict=True))


def nearest_m(facilities: Facilities, xyz: np.ndarray, *, workers: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Distance (metres) to and index of the nearest facility for ECEF points; inf/-1 when none."""
    if not len(facilities):
        return np.full(len(xyz), np.inf), np.full(len(xyz), -1)
    chord, idx = facilities.tree.query(xyz, k=1, workers=workers)
    return chord_to_metres(chord), idx


def nearest_lonlat_m(facilities: Facilities, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance (metres) to and index of the nearest facility for points in EPSG:4326, on all cores."""

    def part(sl: slice) -> tuple:
        return nearest_m(facilities, lonlat_to_ecef(lon[sl], lat[sl]))

    return _in_parallel(part, len(lon))


def covered_mask(
    facilities: Facilities, xyz: np.ndarray, urban: np.ndarray, *, nearest: tuple | None = None, workers: int = 1
) -> np.ndarray:
    """True where some facility lies within its kind's radius (urban/rural of the point), boundary included.

    The nearest facility settles most points; only points that it does not cover but that lie
    within the largest radius are checked against the nearest facility of every kind.
    """
    out = np.zeros(len(xyz), dtype=bool)
    if not len(facilities) or not len(xyz):
        return out
    dist, idx = nearest if nearest is not None else nearest_m(facilities, xyz, workers=workers)
    kind = facilities.kind[np.maximum(idx, 0)]
    radius = np.where(urban, facilities.radius_urban[kind], facilities.radius_rural[kind])
    out = dist <= radius + BOUNDARY_TOLERANCE_M
    if facilities.uniform_radius:
        return out
    reach = np.where(urban, facilities.radius_urban.max(), facilities.radius_rural.max())
    maybe = np.nonzero(~out & (dist <= reach + BOUNDARY_TOLERANCE_M))[0]
    if not maybe.size:
        return out
    for k in np.unique(facilities.kind):
        # Kind k can only help where its radius reaches past the nearest facility, and not where the
        # nearest facility is itself of kind k (then it was the nearest of its kind, already checked).
        r_all = np.where(urban[maybe], facilities.radius_urban[k], facilities.radius_rural[k])
        sub = (r_all + BOUNDARY_TOLERANCE_M >= dist[maybe]) & (kind[maybe] != k)
        if not sub.any():
            continue
        rows = maybe[sub]
        tree, _idx = facilities.kind_tree(int(k))
        bound = metres_to_chord(max(facilities.radius_urban[k], facilities.radius_rural[k]) + 1.0)
        chord, _ = tree.query(xyz[rows], k=1, distance_upper_bound=bound, workers=workers)
        out[rows] |= chord_to_metres(chord) <= r_all[sub] + BOUNDARY_TOLERANCE_M
    return out


@dataclass
class CoverageResult:
    """Children per zone (index = zone id; the last slot is "outside every zone"), raw raster units."""

    children: np.ndarray
    covered: np.ndarray
    distance_sum: np.ndarray  # Σ children × distance to nearest (metres), for a weighted mean
    histogram: np.ndarray  # [zone slot, bin]: children per DISTANCE_BINS_M bin (+ open-ended bin, + "no facility")
    locations: int = 0
    point_results: dict = field(default_factory=dict)  # per point source: ids → (distance, covered)

    @property
    def uncovered(self) -> np.ndarray:
        return self.children - self.covered


def _zone_slot(zone: np.ndarray, n_zones: int) -> np.ndarray:
    return np.where(zone == NO_ZONE, n_zones, zone)


N_DISTANCE_BINS = len(DISTANCE_BINS_M) + 1


def _histogram(dist: np.ndarray, weights: np.ndarray, zone_slot: np.ndarray, slots: int) -> np.ndarray:
    edges = np.array(DISTANCE_BINS_M[1:], dtype=np.float64)
    b = np.searchsorted(edges, dist, side="right")  # 0..len(edges)
    b = np.where(np.isinf(dist), len(edges) + 1, b)
    flat = np.bincount(zone_slot * N_DISTANCE_BINS + b, weights=weights, minlength=slots * N_DISTANCE_BINS)
    return flat.reshape(slots, N_DISTANCE_BINS)


def distance_coverage(
    chunks: Iterable[DemandChunk],
    facilities: Facilities,
    *,
    n_zones: int,
    on_chunk: Callable[[DemandChunk, np.ndarray, np.ndarray], None] | None = None,
) -> CoverageResult:
    """Children covered by any facility, per zone, plus the distance-to-nearest distribution.

    `on_chunk(chunk, distance_m, covered)` lets callers keep per-location results
    (write a GeoTIFF, collect uncovered points) without holding the raster in memory.
    """
    slots = n_zones + 1
    res = CoverageResult(
        children=np.zeros(slots),
        covered=np.zeros(slots),
        distance_sum=np.zeros(slots),
        histogram=np.zeros((slots, N_DISTANCE_BINS)),
    )
    for chunk in chunks:
        if not len(chunk):
            continue

        def part(sl: slice, chunk=chunk) -> tuple:
            xyz = chunk.xyz[sl] if chunk.xyz is not None else lonlat_to_ecef(chunk.lon[sl], chunk.lat[sl])
            near = nearest_m(facilities, xyz)
            return near[0], near[1], covered_mask(facilities, xyz, chunk.urban[sl], nearest=near)

        dist, idx, covered = _in_parallel(part, len(chunk))
        nearest = (dist, idx)
        slot = _zone_slot(chunk.zone, n_zones)
        w = chunk.children
        res.children += np.bincount(slot, weights=w, minlength=slots)
        res.covered += np.bincount(slot, weights=np.where(covered, w, 0.0), minlength=slots)
        finite = np.isfinite(nearest[0])
        res.distance_sum += np.bincount(slot, weights=np.where(finite, w * nearest[0], 0.0), minlength=slots)
        res.histogram += _histogram(nearest[0], w, slot, slots)
        res.locations += len(chunk)
        if on_chunk is not None:
            on_chunk(chunk, nearest[0], covered)
    return res


def catchment_pairs(
    facilities: Facilities, xyz: np.ndarray, urban: np.ndarray, *, k_start: int = 16, workers: int = -1
) -> tuple[np.ndarray, np.ndarray]:
    """All (point, facility) pairs with the facility inside its radius for the point: (point_idx, fac_idx).

    k nearest with an upper bound, widened (×4) for the rows where all k were in reach,
    so no pair is lost however dense the facilities are.
    """
    n_fac = len(facilities)
    if not n_fac or not len(xyz):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    bound = metres_to_chord(facilities.max_radius_m + 1.0)
    rows = np.arange(len(xyz))
    k = min(k_start, n_fac)
    out_p, out_f = [], []
    while rows.size:
        chord, idx = facilities.tree.query(xyz[rows], k=k, distance_upper_bound=bound, workers=workers)
        chord = chord.reshape(rows.size, k)
        idx = idx.reshape(rows.size, k)
        saturated = np.isfinite(chord[:, -1]) if k < n_fac else np.zeros(rows.size, dtype=bool)
        done = ~saturated
        c, i = chord[done], idx[done]
        p = np.broadcast_to(rows[done][:, None], c.shape)
        hit = np.isfinite(c)
        fac = np.where(hit, i, 0)
        kind = facilities.kind[fac]
        radius = np.where(urban[p], facilities.radius_urban[kind], facilities.radius_rural[kind])
        ok = hit & (chord_to_metres(c) <= radius + BOUNDARY_TOLERANCE_M)
        out_p.append(p[ok])
        out_f.append(i[ok])
        rows = rows[saturated]
        k = min(k * 4, n_fac)
    return np.concatenate(out_p).astype(np.int64), np.concatenate(out_f).astype(np.int64)


@dataclass
class FcaResult:
    """2SFCA: places per 1 000 children reachable. Per zone: Σ children×A and Σ children (scaled)."""

    facility_demand: np.ndarray  # children in each facility's catchment (scaled)
    facility_ratio: np.ndarray  # places per child of each facility (R_j)
    weighted_access: np.ndarray  # per zone slot: Σ P_i × A_i (A in places per 1 000 children)
    children: np.ndarray  # per zone slot: Σ P_i
    without_access: np.ndarray  # per zone slot: children with no facility in reach
    point_access: dict = field(default_factory=dict)  # ids → A_i for point sources


def two_step_fca(
    make_chunks: Callable[[], Iterable[DemandChunk]],
    facilities: Facilities,
    *,
    n_zones: int,
    zone_factor: Callable[[np.ndarray], np.ndarray] | None = None,
    on_chunk: Callable[[DemandChunk, np.ndarray], None] | None = None,
    workers: int = -1,
) -> FcaResult:
    """Two-step floating catchment area (Luo & Wang 2003) with the coverage radii as catchments.

    Step 1: R_j = S_j / Σ_{i in catchment j} P_i. Step 2: A_i = 1000 × Σ_{j reachable from i} R_j.
    The demand is read twice (`make_chunks` is called twice). `zone_factor(raw children per
    zone slot)` may return a multiplier per slot (rescaling a raster to official totals);
    demand per facility is kept per zone so the factors apply exactly after the first pass.
    """
    slots = n_zones + 1
    n_fac = len(facilities)
    demand_by_zone = np.zeros((max(n_fac, 1), slots))
    raw_children = np.zeros(slots)
    for chunk in make_chunks():
        if not len(chunk):
            continue
        xyz = chunk.xyz if chunk.xyz is not None else lonlat_to_ecef(chunk.lon, chunk.lat)
        slot = _zone_slot(chunk.zone, n_zones)
        raw_children += np.bincount(slot, weights=chunk.children, minlength=slots)
        p, f = catchment_pairs(facilities, xyz, chunk.urban, workers=workers)
        if p.size:
            np.add.at(demand_by_zone, (f, slot[p]), chunk.children[p])
    factor = np.ones(slots) if zone_factor is None else np.asarray(zone_factor(raw_children), dtype=np.float64)
    demand = (demand_by_zone * factor).sum(axis=1)[:n_fac]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(demand > 0, facilities.capacity / demand, 0.0)
    res = FcaResult(
        facility_demand=demand,
        facility_ratio=ratio,
        weighted_access=np.zeros(slots),
        children=np.zeros(slots),
        without_access=np.zeros(slots),
    )
    for chunk in make_chunks():
        if not len(chunk):
            continue
        xyz = chunk.xyz if chunk.xyz is not None else lonlat_to_ecef(chunk.lon, chunk.lat)
        slot = _zone_slot(chunk.zone, n_zones)
        p, f = catchment_pairs(facilities, xyz, chunk.urban, workers=workers)
        access = 1000.0 * np.bincount(p, weights=ratio[f], minlength=len(chunk))
        reach = np.bincount(p, minlength=len(chunk)) > 0
        w = chunk.children * factor[slot]
        res.children += np.bincount(slot, weights=w, minlength=slots)
        res.weighted_access += np.bincount(slot, weights=w * access, minlength=slots)
        res.without_access += np.bincount(slot, weights=np.where(reach, 0.0, w), minlength=slots)
        if chunk.ids is not None:
            res.point_access.update(zip(chunk.ids.tolist(), access.tolist(), strict=True))
        if on_chunk is not None:
            on_chunk(chunk, access)
    return res
