"""Isochrones: per facility and threshold, the area from which the facility is reached in time.

Input and output coordinates are EPSG:4326 degrees; thresholds and times seconds; distances metres.

What the polygon covers. Times are the travel engine's (layers.analysis.travel): home → facility
over the road graph, the facility joined to the network at its snap nodes. A place X is inside the
isochrone of threshold T when some point P of the network (a node, or any point of a road edge) has
time t(P) ≤ T and |XP| ≤ min((T − t(P)) × v_off, max_snap_m): the family walks (or drives off-road)
the straight stretch to the road at the off-network speed v_off, never longer than max_snap_m (as
the engine's snapping). Also every X within min(T × v_off, max_snap_m) of the facility itself (the
direct line). A point P inside an edge a → b (the edge drives a → b) at fraction s from b towards
a has t(P) = t(b) + s × cost(a → b): partial edges are interpolated by the remaining time. This
lets a family join a road between two nodes, where the engine joins at a node: the isochrone is
the upper envelope of what the engine counts (the difference is bounded as travel.py states).

Geometry. Over an edge with the remaining time falling linearly, the union of the reach discs is
the convex hull of the end discs (a convex combination of two discs is the disc of the combined
centre and radius); where the max_snap_m cap cuts in, the edge is split at that point so each piece
is linear. Discs are drawn as circumscribed 64-gons (overstating the radius by at most
1/cos(π/64) − 1 ≈ 0.12 %), hulls are made and unioned with shapely 2's array functions, in a metric
CRS: the UTM zone of the facility's longitude (WGS 84, EPSG:326xx north / 327xx south) unless `crs`
is given. UTM's scale error is ≤ 0.04 % in the zone and ~0.1 % 3° beyond its edge (an hour of road
reaches ~1°), small beside the tolerance. Each radius is padded by `tolerance_m` and the union then
simplified (Douglas–Peucker, topology kept) with the same tolerance, so the polygon contains the
whole area defined above and overstates it by at most 2 × tolerance_m (+ the 0.12 %). Polygons of
one facility are nested: each is unioned with the one of the next smaller threshold.
A place reached in exactly T is inside (times compared with TIME_TOLERANCE_S, as the engine).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra

from layers.analysis.travel import _PAIR_BATCH, TIME_TOLERANCE_S, RoadGraph, _with_facilities

DEFAULT_TOLERANCE_M = 25.0
_CIRCLE_VERTICES = 64
_ANGLES = np.linspace(0.0, 2.0 * np.pi, _CIRCLE_VERTICES, endpoint=False)
# Vertices at r / cos(π/n): the polygon's edges touch the circle, so it contains the disc.
_UNIT_CIRCLE = np.column_stack([np.cos(_ANGLES), np.sin(_ANGLES)]) / np.cos(np.pi / _CIRCLE_VERTICES)


def utm_crs(lon: float, lat: float) -> str:
    """The WGS 84 UTM zone (EPSG code) of a point given in degrees."""
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def _hulls(c1: np.ndarray, r1: np.ndarray, c2: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """Convex hulls of pairs of discs (centres (m, 2) metres, radii (m,) metres > 0), as shapely polygons."""
    ring1 = c1[:, None, :] + r1[:, None, None] * _UNIT_CIRCLE[None]
    ring2 = c2[:, None, :] + r2[:, None, None] * _UNIT_CIRCLE[None]
    return shapely.convex_hull(shapely.multipoints(np.concatenate([ring1, ring2], axis=1)))


def _csr_rows(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row of each entry, position in the CSR arrays) of all entries of `rows`, without a Python loop."""
    start = indptr[rows].astype(np.int64)
    count = indptr[rows + 1].astype(np.int64) - start
    row = np.repeat(rows, count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    return row, np.repeat(start, count) + offset


def isochrone_polygons(
    graph: RoadGraph,
    facilities_xy: np.ndarray,
    thresholds_s: Sequence[float] | np.ndarray,
    *,
    off_network_kmh: float | None = None,
    max_snap_m: float | None = None,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    crs: str | None = None,
    batch: int = _PAIR_BATCH,
) -> np.ndarray:
    """Isochrone (Multi)Polygons in EPSG:4326, an object array (facilities × thresholds) in the given order.

    `facilities_xy`: (n, 2) longitude, latitude in degrees; `thresholds_s`: seconds ≥ 0, any order;
    `off_network_kmh` / `max_snap_m`: the speed and the longest straight stretch from a place to the
    road (default: the graph's own, as the engine snaps); `tolerance_m` > 0: the padding and the
    simplification tolerance (metres); `crs`: a metric CRS for the buffers (default the UTM zone of each
    facility). One limited Dijkstra per facility (in batches of `batch`) over the reversed graph.
    """
    fxy = np.asarray(facilities_xy, dtype=np.float64).reshape(-1, 2)
    thr = np.asarray(thresholds_s, dtype=np.float64).ravel()
    if not thr.size or np.any(~np.isfinite(thr)) or np.any(thr < 0):
        raise ValueError("thresholds_s must be a non-empty list of seconds ≥ 0")
    if not tolerance_m > 0:
        raise ValueError("tolerance_m must be a positive number of metres")
    mps = (graph.off_network_kmh if off_network_kmh is None else float(off_network_kmh)) / 3.6
    if not mps > 0:
        raise ValueError("off_network_kmh must be a positive speed")
    cap_m = graph.max_snap_m if max_snap_m is None else float(max_snap_m)
    if not cap_m >= 0:
        raise ValueError("max_snap_m must be zero or more metres")
    n, n_fac = graph.n_nodes, len(fxy)
    out = np.empty((n_fac, thr.size), dtype=object)
    if not n_fac:
        return out
    limit = float(thr.max()) + TIME_TOLERANCE_S
    fac_snap = graph.snap(fxy[:, 0], fxy[:, 1])
    g = _with_facilities(graph, fac_snap) if n else None
    rev = graph.reverse  # rev[b, a] = seconds of the road a → b: the edges ending at a reached node b
    transformers: dict[str, tuple[Transformer, Transformer, Transformer]] = {}
    # Facilities in batches: the dense rows of one search (batch × nodes) are all that is held at once.
    for start in range(0, n_fac, max(1, batch)):
        facs = np.arange(start, min(start + max(1, batch), n_fac))
        times = np.full((facs.size, n), np.inf)
        live = fac_snap.attached[facs]
        if live.any() and n:
            times[live] = dijkstra(g, directed=True, indices=n + facs[live], limit=limit)[:, :n]
        for row, i in enumerate(facs):
            metric = crs or utm_crs(fxy[i, 0], fxy[i, 1])
            if metric not in transformers:
                transformers[metric] = (
                    Transformer.from_crs("EPSG:4978", metric, always_xy=True),
                    Transformer.from_crs("EPSG:4326", metric, always_xy=True),
                    Transformer.from_crs(metric, "EPSG:4326", always_xy=True),
                )
            out[i] = _facility_isochrones(
                times[row], rev, graph.node_xyz, fxy[i], thr, mps, cap_m, tolerance_m, *transformers[metric]
            )
    return out


def _facility_isochrones(
    t: np.ndarray,
    rev,
    node_xyz: np.ndarray,
    fac: np.ndarray,
    thr: np.ndarray,
    mps: float,
    cap_m: float,
    pad_m: float,
    from_ecef: Transformer,
    from_lonlat: Transformer,
    to_lonlat: Transformer,
) -> list:
    reached = np.nonzero(t <= thr.max() + TIME_TOLERANCE_S)[0]
    b, pos = _csr_rows(rev.indptr, reached)  # edges a → b into reached nodes b
    a = rev.indices[pos].astype(np.int64)
    cost = rev.data[pos]
    # Metric coordinates of the reached nodes and of the far ends of their edges.
    nodes = np.unique(np.concatenate([reached, a]))
    xyz = node_xyz[nodes]
    x, y, _h = from_ecef.transform(xyz[:, 0], xyz[:, 1], xyz[:, 2])
    xy = np.column_stack([x, y])
    at = np.searchsorted(nodes, reached)
    ea, eb = xy[np.searchsorted(nodes, a)], xy[np.searchsorted(nodes, b)]
    fx, fy = from_lonlat.transform(fac[0], fac[1])
    fac_xy = np.array([[fx, fy]])

    def radius(remaining_s: np.ndarray) -> np.ndarray:
        return np.minimum(np.maximum(remaining_s, 0.0) * mps, cap_m) + pad_m

    polygons = []
    previous = None
    for k in np.argsort(thr, kind="stable"):
        T = thr[k]
        pieces = [_hulls(fac_xy, radius(np.array([T])), fac_xy, radius(np.array([T])))]
        node_ok = t[reached] <= T + TIME_TOLERANCE_S
        if node_ok.any():
            c = xy[at[node_ok]]
            r = radius(T - t[reached[node_ok]])
            pieces.append(_hulls(c, r, c, r))
        edge_ok = t[b] <= T + TIME_TOLERANCE_S
        if edge_ok.any():
            rem = np.maximum(T - t[b[edge_ok]], 0.0)
            c_e = cost[edge_ok]
            pb, pa = eb[edge_ok], ea[edge_ok]
            with np.errstate(divide="ignore", invalid="ignore"):
                # Fraction of the edge (from b towards a) reached, and where the reach reaches the cap.
                frac = np.where(c_e > 0, np.minimum(1.0, rem / c_e), 1.0)
                s_cap = np.where(c_e > 0, (rem - cap_m / mps) / c_e, 0.0)
            s_cap = np.clip(s_cap, 0.0, frac)
            p_cap = pb + s_cap[:, None] * (pa - pb)
            p_tip = pb + frac[:, None] * (pa - pb)
            r_b, r_cap, r_tip = radius(rem), radius(rem - s_cap * c_e), radius(rem - frac * c_e)
            pieces.append(_hulls(pb, r_b, p_cap, r_cap))
            pieces.append(_hulls(p_cap, r_cap, p_tip, r_tip))
        area = shapely.union_all(np.concatenate(pieces))
        area = shapely.simplify(area, pad_m, preserve_topology=True)
        if previous is not None:
            area = shapely.union(area, previous)  # nested: the larger threshold covers the smaller one's polygon
        previous = area
        polygons.append((k, area))
    result = [None] * thr.size
    for k, area in polygons:
        result[k] = shapely.transform(area, lambda pts: np.column_stack(to_lonlat.transform(pts[:, 0], pts[:, 1])))
    return result
