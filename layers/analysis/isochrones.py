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
lets a family join a road between two nodes and at any node within reach, where the engine joins at
one of its `snap_nodes` nearest nodes: the isochrone is the upper envelope of what the engine counts
(the difference of joining at a node is bounded as travel.py states).

Geometry. Over an edge with the remaining time falling linearly, the union of the reach discs is
the convex hull of the end discs (a convex combination of two discs is the disc of the combined
centre and radius); where the max_snap_m cap cuts in, the edge is split at that point so each piece
is linear. Each hull is written out directly as a ring (two arcs and the outer common tangents),
the arcs' vertices placed so that the polygon contains the hull and overstates it by at most
tolerance_m / 2 (64 vertices per arc at most: beyond a ~10 km radius at the default tolerance, by
at most 0.13 % of the radius); the rings are built for all pieces at once with numpy and shapely 2's
array constructors, then unioned (shapely.union_all). All of it in a metric CRS: the UTM zone of
the facility's longitude (WGS 84, EPSG:326xx north / 327xx south) unless `crs` is given. UTM's scale
error is ≤ 0.1 % inside the zone (≤ 0.04 % at Kazakhstan's latitudes, 40–56° N) and ~0.25 % 3° beyond
its edge at 45° N (an hour of road reaches ~1°). Each radius is padded by `tolerance_m` and the union then simplified
(Douglas–Peucker, topology kept) with the same tolerance, so the polygon contains the whole area
defined above and overstates it by at most 2.5 × tolerance_m (+ the 0.13 % beyond ~10 km). Polygons
of one facility are nested: each is unioned with the one of the next smaller threshold.
A place reached in exactly T is inside (times compared with TIME_TOLERANCE_S, as the engine).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from pyproj import Transformer
from scipy.sparse.csgraph import dijkstra

from layers.analysis.travel import PAIR_BATCH, TIME_TOLERANCE_S, RoadGraph

DEFAULT_TOLERANCE_M = 25.0
# Vertices per arc of a hull: enough that the polygon overstates a disc by at most half the tolerance,
# in steps (pieces of one step share an array), at most 64 (then ≤ 0.13 % of the radius).
_ARC_VERTICES = (8, 16, 32, 64)


def utm_crs(lon: float, lat: float) -> str:
    """The WGS 84 UTM zone (EPSG code) of a point given in degrees."""
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def _hull_rings(c1: np.ndarray, r1: np.ndarray, c2: np.ndarray, r2: np.ndarray, n: int) -> np.ndarray:
    """Closed rings (m, 2n + 1, 2) around the convex hulls of pairs of discs (r1 ≥ r2 > 0, metres).

    The hull is an arc of the larger disc (the side away from the smaller), the outer common tangent,
    an arc of the smaller disc and the other tangent; the tangent points sit at ±φ from the centre
    line, cos φ = (r1 − r2) / d. Each arc gets n vertices at r / cos(δ/2) (δ the angular step), so every
    polygon edge lies outside its circle: the ring contains the hull. A disc inside the other
    (d ≤ r1 − r2) leaves the larger disc alone.
    """
    dx, dy = (c2 - c1).T
    d = np.hypot(dx, dy)
    inside = d <= r1 - r2
    with np.errstate(divide="ignore", invalid="ignore"):
        phi = np.where(inside, 0.0, np.arccos(np.clip((r1 - r2) / d, -1.0, 1.0)))
    theta0 = np.arctan2(dy, dx)
    u = np.linspace(0.0, 1.0, n)[None, :]
    a1 = theta0[:, None] + phi[:, None] + u * (2.0 * np.pi - 2.0 * phi)[:, None]  # the far side of disc 1
    a2 = theta0[:, None] - phi[:, None] + u * (2.0 * phi)[:, None]  # the near side of disc 2
    big1 = r1 / np.cos((np.pi - phi) / (n - 1))
    big2 = r2 / np.cos(phi / (n - 1))
    x = np.concatenate([c1[:, :1] + big1[:, None] * np.cos(a1), c2[:, :1] + big2[:, None] * np.cos(a2)], axis=1)
    y = np.concatenate([c1[:, 1:] + big1[:, None] * np.sin(a1), c2[:, 1:] + big2[:, None] * np.sin(a2)], axis=1)
    ring = np.concatenate([np.stack([x, y], axis=2), np.stack([x[:, :1], y[:, :1]], axis=2)], axis=1)
    # Disc 2 inside disc 1: disc 1 alone, its arc closing at 2π exactly on its first vertex (repeated points,
    # a valid ring; the rounding of cos(θ + 2π) would leave a sliver crossing itself).
    ring[inside, n - 1 :] = ring[inside, :1]
    return ring


def _hulls(c1: np.ndarray, r1: np.ndarray, c2: np.ndarray, r2: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Polygons containing the convex hulls of pairs of discs (centres (m, 2), radii (m,) metres > 0),
    overstating by at most tolerance_m / 2 (or 0.13 % of the radius beyond ~10 km at the default tolerance)."""
    swap = r2 > r1
    c1, c2 = np.where(swap[:, None], c2, c1), np.where(swap[:, None], c1, c2)
    r1, r2 = np.maximum(r1, r2), np.minimum(r1, r2)
    # The step δ with r (1 / cos(δ/2) − 1) ≤ tolerance / 2, over an arc of up to 2π.
    step = 2.0 * np.arccos(r1 / (r1 + tolerance_m / 2.0))
    need = np.ceil(2.0 * np.pi / step) + 1
    which = np.minimum(np.searchsorted(_ARC_VERTICES, need), len(_ARC_VERTICES) - 1)
    out = np.empty(r1.size, dtype=object)
    for b, n in enumerate(_ARC_VERTICES):
        sel = which == b
        if sel.any():
            out[sel] = shapely.polygons(_hull_rings(c1[sel], r1[sel], c2[sel], r2[sel], n))
    return out


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
    batch: int = PAIR_BATCH,
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
    fac_snap = graph.snap(fxy[:, 0], fxy[:, 1], rank=False)
    rev = graph.reverse  # rev[b, a] = seconds of the road a → b: the edges ending at a reached node b
    transformers: dict[str, tuple[Transformer, Transformer, Transformer]] = {}
    # Facilities in batches: the dense rows of one search (batch × nodes) are all that is held at once.
    for start in range(0, n_fac, max(1, batch)):
        facs = np.arange(start, min(start + max(1, batch), n_fac))
        times = np.full((facs.size, n), np.inf)
        live = fac_snap.attached[facs]
        if live.any() and n:
            # The joined graph is held for the search only (the polygons below take long; other runs may join).
            with graph.joined(fac_snap) as g:
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
    lonely = np.diff(rev.indptr)[reached] == 0  # reached nodes with no edge into them
    ea, eb = xy[np.searchsorted(nodes, a)], xy[np.searchsorted(nodes, b)]
    fx, fy = from_lonlat.transform(fac[0], fac[1])
    fac_xy = np.array([[fx, fy]])

    def radius(remaining_s: np.ndarray) -> np.ndarray:
        return np.minimum(np.maximum(remaining_s, 0.0) * mps, cap_m) + pad_m

    polygons = []
    previous = None
    for k in np.argsort(thr, kind="stable"):
        T = thr[k]
        r_fac = radius(np.array([T]))
        pieces = [_hulls(fac_xy, r_fac, fac_xy, r_fac, pad_m)]
        # A node's own disc is the first end of the pieces of the edges into it: drawn apart only for a node
        # with none (its reach is then only its disc).
        node_ok = lonely & (t[reached] <= T + TIME_TOLERANCE_S)
        if node_ok.any():
            c = xy[at[node_ok]]
            r = radius(T - t[reached[node_ok]])
            pieces.append(_hulls(c, r, c, r, pad_m))
        edge_ok = t[b] <= T + TIME_TOLERANCE_S
        if edge_ok.any():
            rem = np.maximum(T - t[b[edge_ok]], 0.0)
            c_e = cost[edge_ok]
            pb, pa = eb[edge_ok], ea[edge_ok]
            with np.errstate(divide="ignore", invalid="ignore"):
                # Fraction of the edge (from b towards a) reached, and where the walk falls below the cap.
                frac = np.where(c_e > 0, np.minimum(1.0, rem / c_e), 1.0)
                s_cap = np.where(c_e > 0, (rem - cap_m / mps) / c_e, 0.0)
            s_cap = np.clip(s_cap, 0.0, frac)
            p_cap = pb + s_cap[:, None] * (pa - pb)
            p_tip = pb + frac[:, None] * (pa - pb)
            r_b, r_cap, r_tip = radius(rem), radius(rem - s_cap * c_e), radius(rem - frac * c_e)
            capped = s_cap > 0  # the stretch from b where the walk is capped: equal discs at both ends
            pieces.append(_hulls(pb[capped], r_b[capped], p_cap[capped], r_cap[capped], pad_m))
            pieces.append(_hulls(p_cap, r_cap, p_tip, r_tip, pad_m))
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
