"""Travel time over a road network, in memory: catchments, reach pairs and coverage in seconds.

Inputs are EPSG:4326 longitude/latitude in degrees; road costs are seconds per edge direction
(as the road network's selector returns them: np.inf for a closed direction); outputs are
seconds (times) and metres (off-network stretches). Thresholds are seconds here; the API and the
pages speak minutes and convert once (`minutes_to_seconds`).

Direction. Time is measured from the child's home to the facility (the trip a family makes). The
searches run from the facilities over the reversed graph, which gives exactly the home → facility
times of every node in one search per facility (or one multi-source search for "the nearest").

Off the network. A point (settlement, demand cell or facility) joins the network at one of its
`snap_nodes` nearest network nodes (true metres through ECEF chords, layers.analysis.geodesy),
walking/driving the straight line at the off-network speed; the best of those candidates is
taken. A point and a facility may also reach each other directly over the straight line at the
off-network speed. No straight off-network stretch is longer than `max_snap_m`: a point farther
than that from every node (and every facility) is unreachable — counted as not covered, never
silently attached.

Error of joining at a node rather than at the nearest point of an edge (stated, not corrected).
Let P be the point of the nearest edge (length ℓ) nearest to the settlement X, and U that edge's
nearer end: |XU| ≤ |XP| + |PU| ≤ |XP| + ℓ/2, so going straight to U instead of to P and then along
the edge overstates the time by at most (ℓ/2) / v_off (e.g. a 500 m edge at 5 km/h: 3 min; a 2 km
rural edge at 15 km/h: 4 min). The bound holds whenever U is among the point's candidate nodes
(the `snap_nodes` nearest), the best candidate being no worse than U. The error vanishes where
the network has a node near every settlement, as OSM ways do in villages. Several candidates (not
only the nearest node) also avoid attaching a settlement to a dead end across a river when a
through road is nearly as close.

Boundary. A point reached in exactly the threshold is within it: t ≤ threshold + TIME_TOLERANCE_S
(a float sum of edge costs rounds by ~1e-13 s per edge on an hour's trip; 1e-6 s is far above that
and far below any meaningful time).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from layers.analysis.geodesy import chord_to_metres, lonlat_to_ecef, metres_to_chord

TIME_TOLERANCE_S = 1e-6
# A settlement farther than this from every road node is not attached to the road network: a
# straight line over more than 10 km says little about how a family actually travels.
DEFAULT_MAX_SNAP_M = 10_000.0
# Candidate nodes per point: the best of the few nearest (see the module docstring).
DEFAULT_SNAP_NODES = 4
# Facilities searched together in the per-facility pass: the dense result rows (batch × nodes × 8 bytes)
# stay ~100 MB for a 1 M-node network.
PAIR_BATCH = 16
# Virtual-source rows kept free after the reversed graph's arcs (see RoadGraph.joined): a run writes only its
# facilities' rows and arcs there; more facilities than that grow the room (twice what the run needs).
JOIN_SPARE_ROWS = 256
# A candidate column read for every point once more than this share of them may win (else for those only).
DENSE_COLUMN_SHARE = 0.5
# Points snapped in one thread: a k-d tree query from a few points costs less than starting worker threads.
SNAP_ONE_WORKER_BELOW = 2_000


def minutes_to_seconds(minutes: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """Seconds of thresholds given in minutes (the API's unit)."""
    return np.asarray(minutes, dtype=np.float64) * 60.0


@dataclass(frozen=True)
class Snap:
    """How points join the network: per point, `k` candidate node indices and the off-network seconds
    to each (−1 and np.inf where the node is farther than the maximum snap distance).

    `may_win[i, j]` is False where an earlier candidate of point i always reaches every facility strictly
    sooner than candidate j, whatever the facilities: an arc from the earlier node to node j is shorter than
    the difference of their off-network times (+ TIME_TOLERANCE_S, far above rounding), so going to node j
    never beats going to the earlier node and driving that arc (a search's time at the earlier node is at most
    its time at node j plus the arc). The coverage reads no time for those; None: every candidate may win.
    """

    node: np.ndarray  # (n, k) int64
    offset_s: np.ndarray  # (n, k) float64 seconds
    distance_m: np.ndarray  # (n,) metres to the nearest node (np.inf when none within max snap)
    xyz: np.ndarray  # (n, 3) ECEF metres of the points
    tree: cKDTree | None  # over xyz: facilities within a straight-line reach are found from the facility side
    may_win: np.ndarray | None = None  # (n, k) bool
    # Per candidate after the first: (points whose candidate may win or None for all, their nodes, their seconds).
    columns: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        # Column-major (the same values): each candidate's column is contiguous, and the coverage reads the
        # nodes' times one column at a time.
        node = np.asfortranarray(self.node)
        offset = np.asfortranarray(self.offset_s)
        object.__setattr__(self, "node", node)
        object.__setattr__(self, "offset_s", offset)
        columns = []
        for j in range(1, node.shape[1]):
            if self.may_win is None or self.may_win[:, j].sum() > DENSE_COLUMN_SHARE * len(node):
                columns.append((None, node[:, j], offset[:, j]))
            else:
                idx = np.flatnonzero(self.may_win[:, j])
                columns.append((idx, node[idx, j], offset[idx, j]))
        object.__setattr__(self, "columns", tuple(columns))

    @property
    def attached(self) -> np.ndarray:
        """True for the points with at least one node within the maximum snap distance."""
        return np.isfinite(self.distance_m)

    def take(self, idx: np.ndarray) -> Snap:
        """The snap of the points `idx` (indices into this one's points), as graph.snap of those points gives."""
        xyz = self.xyz[idx]
        return Snap(
            node=self.node[idx],
            offset_s=self.offset_s[idx],
            distance_m=self.distance_m[idx],
            xyz=xyz,
            tree=cKDTree(xyz) if len(xyz) else None,
            may_win=None if self.may_win is None else self.may_win[idx],
        )

    @staticmethod
    def concat(snaps: list[Snap]) -> Snap:
        """One snap of the points of `snaps` (at least one, all made by one graph), in order."""
        if len(snaps) == 1:
            return snaps[0]
        xyz = np.concatenate([s.xyz for s in snaps])
        return Snap(
            node=np.concatenate([s.node for s in snaps]),
            offset_s=np.concatenate([s.offset_s for s in snaps]),
            distance_m=np.concatenate([s.distance_m for s in snaps]),
            xyz=xyz,
            tree=cKDTree(xyz) if len(xyz) else None,
            may_win=None if any(s.may_win is None for s in snaps) else np.concatenate([s.may_win for s in snaps]),
        )


class RoadGraph:
    """A directed road network in memory: `forward[i, j]` is the seconds of travelling node i → node j.

    Nodes carry ECEF metres of their EPSG:4326 position (for snapping); parallel edges in one
    direction keep the cheaper; closed directions (np.inf) and self-loops are left out.
    """

    def __init__(
        self,
        *,
        node_id: np.ndarray,
        node_xyz: np.ndarray,
        forward: csr_matrix,
        off_network_kmh: float,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
        snap_nodes: int = DEFAULT_SNAP_NODES,
    ):
        if not off_network_kmh > 0:
            raise ValueError("off_network_kmh must be a positive speed")
        if not max_snap_m >= 0:
            raise ValueError("max_snap_m must be zero or more metres")
        self.node_id = node_id
        self.node_xyz = node_xyz
        self.forward = forward
        self.off_network_kmh = float(off_network_kmh)
        self.off_network_mps = self.off_network_kmh / 3.6
        self.max_snap_m = float(max_snap_m)
        self.snap_nodes = max(1, int(snap_nodes))
        self.tree = cKDTree(node_xyz) if len(node_xyz) else None
        self._reverse: csr_matrix | None = None
        self._join: _JoinRoom | None = None
        # One run at a time writes its facilities into the shared room; a concurrent one makes its own copy.
        self._join_lock = threading.Lock()

    @classmethod
    def from_arrays(
        cls,
        *,
        node_id: np.ndarray,
        node_lon: np.ndarray,
        node_lat: np.ndarray,
        edge_source: np.ndarray,
        edge_target: np.ndarray,
        edge_cost_s: np.ndarray,
        edge_reverse_cost_s: np.ndarray,
        off_network_kmh: float,
        max_snap_m: float = DEFAULT_MAX_SNAP_M,
        snap_nodes: int = DEFAULT_SNAP_NODES,
    ) -> RoadGraph:
        """Build the graph from vertex and edge arrays (int64 vertex ids, lon/lat degrees EPSG:4326,
        seconds per direction; np.inf closes a direction). Raises ValueError on an edge naming an
        unknown vertex or on a negative or NaN cost."""
        node_id = np.asarray(node_id, dtype=np.int64)
        order = np.argsort(node_id, kind="stable")
        sorted_ids = node_id[order]
        if sorted_ids.size > 1 and np.any(sorted_ids[1:] == sorted_ids[:-1]):
            raise ValueError("node_id must not repeat")
        src = _node_index(np.asarray(edge_source, dtype=np.int64), sorted_ids, order)
        tgt = _node_index(np.asarray(edge_target, dtype=np.int64), sorted_ids, order)
        cost = np.asarray(edge_cost_s, dtype=np.float64)
        rcost = np.asarray(edge_reverse_cost_s, dtype=np.float64)
        if not (cost.size == rcost.size == src.size == tgt.size):
            raise ValueError("edge arrays must have the same length")
        for name, c in (("edge_cost_s", cost), ("edge_reverse_cost_s", rcost)):
            if np.any(np.isnan(c)) or np.any(c < 0):
                raise ValueError(f"{name} must be seconds ≥ 0 (np.inf for a closed direction)")
        a = np.concatenate([src, tgt])
        b = np.concatenate([tgt, src])
        c = np.concatenate([cost, rcost])
        keep = np.isfinite(c) & (a != b)
        a, b, c = a[keep], b[keep], c[keep]
        # Parallel edges: sort by (a, b, cost) and keep the first of each (a, b), the cheapest.
        o = np.lexsort((c, b, a))
        a, b, c = a[o], b[o], c[o]
        first = np.ones(a.size, dtype=bool)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
        a, b, c = a[first], b[first], c[first]
        n = node_id.size
        # Built from sorted (row, col) directly: explicit zero costs stay edges (csgraph keeps them).
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(a, minlength=n), out=indptr[1:])
        itype = np.int32 if max(n, a.size) < np.iinfo(np.int32).max else np.int64  # csgraph's own index type
        forward = csr_matrix((c, b.astype(itype), indptr.astype(itype)), shape=(n, n))
        return cls(
            node_id=node_id,
            node_xyz=lonlat_to_ecef(node_lon, node_lat),
            forward=forward,
            off_network_kmh=off_network_kmh,
            max_snap_m=max_snap_m,
            snap_nodes=snap_nodes,
        )

    @property
    def n_nodes(self) -> int:
        return int(self.node_id.size)

    @property
    def n_edges(self) -> int:
        """Directed arcs (a two-way road counts twice)."""
        return int(self.forward.nnz)

    @property
    def reverse(self) -> csr_matrix:
        """`reverse[j, i]` = seconds of travelling i → j: searches from facilities over it give home → facility.

        Its arrays are the head of the room that `joined` writes facilities after (made once, with it).
        """
        if self._reverse is None:
            self._join = _JoinRoom(self.forward.T.tocsr(), rows=JOIN_SPARE_ROWS, k=self._snap_k)
            self._reverse = self._join.head()
        return self._reverse

    @property
    def _snap_k(self) -> int:
        """Columns of a snap by this graph (candidate nodes per point)."""
        return max(min(self.snap_nodes, self.n_nodes), 1)

    @contextmanager
    def joined(self, fac_snap: Snap) -> Iterator[csr_matrix]:
        """The reversed graph with one extra node per facility (index n + f) joined to its snap nodes, valid
        inside the `with` block only.

        The same arcs as `graph_with_facilities` in the same order (so the same search results), without
        copying the network: the reversed graph's arrays have free rows and arcs after them, a run writes its
        facilities' rows there and the matrix handed out is a view (scipy's csr_matrix takes an index pointer
        ending before the arrays' end and keeps views of them; csgraph's dijkstra takes float64 data and int32
        indices as they are). One `with` block at a time uses that room (a lock); a block entered while another
        holds it gets its own copy (graph_with_facilities), the same arcs.
        """
        if not self._join_lock.acquire(blocking=False):
            yield graph_with_facilities(self, fac_snap)
            return
        try:
            _ = self.reverse
            if not self._join.fits(fac_snap):
                self._join = self._join.grown(fac_snap)
                self._reverse = self._join.head()
            yield self._join.write(fac_snap)
        finally:
            self._join_lock.release()

    def snap(self, lon: np.ndarray, lat: np.ndarray, *, rank: bool = True) -> Snap:
        """Candidate nodes (the `snap_nodes` nearest within `max_snap_m`) of points in EPSG:4326 degrees;
        `rank`: work out which candidates may win (Snap.may_win, what the coverage of these points reads;
        a facilities' snap, only joined to the graph, needs none)."""
        xyz = lonlat_to_ecef(lon, lat)
        n = len(xyz)
        k = min(self.snap_nodes, self.n_nodes)
        if not n or not k:
            return Snap(
                node=np.full((n, max(k, 1)), -1, dtype=np.int64),
                offset_s=np.full((n, max(k, 1)), np.inf),
                distance_m=np.full(n, np.inf),
                xyz=xyz,
                tree=cKDTree(xyz) if n else None,
            )
        chord, idx = self.tree.query(
            xyz,
            k=k,
            distance_upper_bound=metres_to_chord(self.max_snap_m) * (1 + 1e-12) + 1e-6,
            workers=1 if n < SNAP_ONE_WORKER_BELOW else -1,
        )
        chord = np.asarray(chord, dtype=np.float64).reshape(n, k)
        idx = np.asarray(idx).reshape(n, k)
        metres = chord_to_metres(chord)
        ok = np.isfinite(metres) & (metres <= self.max_snap_m)
        node = np.where(ok, idx, -1).astype(np.int64)
        offset = np.where(ok, metres / self.off_network_mps, np.inf)
        return Snap(
            node=node,
            offset_s=offset,
            distance_m=np.where(ok[:, 0], metres[:, 0], np.inf),
            xyz=xyz,
            tree=cKDTree(xyz),
            may_win=self._may_win(node, offset) if rank else None,
        )

    def _may_win(self, node: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """Snap.may_win of candidates `node` (−1: none) at `offset` seconds: False where an earlier candidate's
        node has an arc to this one shorter than the difference of their seconds by TIME_TOLERANCE_S."""
        may_win = node >= 0
        pairs = [(i, j) for j in range(1, node.shape[1]) for i in range(j)]
        if not pairs or not node.shape[0]:
            return may_win
        # Every (earlier, later) pair of columns in one walk over the arcs.
        earlier = np.array([i for i, _ in pairs])
        later = np.array([j for _, j in pairs])
        arc = self.arc_seconds(node[:, earlier].T.ravel(), node[:, later].T.ravel()).reshape(len(pairs), -1).T
        beaten = offset[:, earlier] + arc + TIME_TOLERANCE_S <= offset[:, later]
        for col, j in enumerate(later):
            may_win[:, j] &= ~beaten[:, col]
        return may_win

    def arc_seconds(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Seconds of the arc u → v per pair of node indices (np.inf where there is none or an index is −1):
        a walk along row u of the forward graph, a few arcs per node."""
        fw = self.forward
        out = np.full(np.shape(u), np.inf)
        act = np.flatnonzero((u >= 0) & (v >= 0))
        pos = fw.indptr[u[act]].astype(np.int64)
        end = fw.indptr[u[act] + 1].astype(np.int64)
        target = v[act]
        while act.size:
            live = pos < end
            act, pos, end, target = act[live], pos[live], end[live], target[live]
            hit = fw.indices[pos] == target
            out[act[hit]] = fw.data[pos[hit]]
            miss = ~hit
            act, pos, end, target = act[miss], pos[miss] + 1, end[miss], target[miss]
        return out


def _node_index(ids: np.ndarray, sorted_ids: np.ndarray, order: np.ndarray) -> np.ndarray:
    pos = np.searchsorted(sorted_ids, ids)
    pos = np.minimum(pos, max(sorted_ids.size - 1, 0))
    if ids.size and (not sorted_ids.size or np.any(sorted_ids[pos] != ids)):
        raise ValueError("an edge names a vertex that is not in node_id")
    return order[pos].astype(np.int64)


class _JoinRoom:
    """The reversed graph's CSR arrays followed by free room: `rows` virtual-source rows and `rows × k` arcs.

    The head (the first n + 1 pointers, the first nnz arcs) is the reversed graph and is never written after
    it is made; `write` fills the room with one run's facilities (RoadGraph.joined holds the lock).
    """

    def __init__(self, rev: csr_matrix, *, rows: int, k: int):
        self.n = rev.shape[0]
        self.nnz = int(rev.indptr[-1])
        self.rows = rows
        self.k = k
        self.arcs = rows * k
        self.indptr = np.empty(self.n + rows + 1, dtype=rev.indptr.dtype)
        self.indptr[: self.n + 1] = rev.indptr
        self.indices = np.empty(self.nnz + self.arcs, dtype=rev.indices.dtype)
        self.indices[: self.nnz] = rev.indices[: self.nnz]
        self.data = np.empty(self.nnz + self.arcs, dtype=np.float64)
        self.data[: self.nnz] = rev.data[: self.nnz]

    def head(self) -> csr_matrix:
        """The reversed graph over the head of the arrays (views, no copy)."""
        return csr_matrix(
            (self.data[: self.nnz], self.indices[: self.nnz], self.indptr[: self.n + 1]), shape=(self.n, self.n)
        )

    def fits(self, fac_snap: Snap) -> bool:
        return fac_snap.node.shape[0] <= self.rows and fac_snap.node.size <= self.arcs

    def grown(self, fac_snap: Snap) -> _JoinRoom:
        """A room for twice the facilities of `fac_snap` (the network's arrays copied once)."""
        n_fac, k = fac_snap.node.shape
        return _JoinRoom(self.head(), rows=max(self.rows, 2 * n_fac), k=max(self.k, k))

    def write(self, fac_snap: Snap) -> csr_matrix:
        """The facilities' rows and arcs written in the room; the (n + facilities)² matrix over the arrays."""
        n, nnz = self.n, self.nnz
        n_fac = fac_snap.node.shape[0]
        ok = fac_snap.node >= 0
        counts = ok.sum(axis=1)
        arcs = int(counts.sum())
        self.indptr[n + 1 : n + 1 + n_fac] = nnz + np.cumsum(counts)
        self.indices[nnz : nnz + arcs] = fac_snap.node[ok]
        self.data[nnz : nnz + arcs] = fac_snap.offset_s[ok]
        m = n + n_fac
        # indptr[m] = nnz + arcs ≤ the arrays' length: csr_matrix keeps views of the first nnz + arcs (no copy
        # while the room is smaller than the network, scipy's _prune_array copying only a view of less than half).
        return csr_matrix((self.data, self.indices, self.indptr[: m + 1]), shape=(m, m))


def graph_with_facilities(graph: RoadGraph, fac_snap: Snap) -> csr_matrix:
    """The reversed graph with one extra node per facility (index n + f) joined to its snap nodes: a copy of
    the network's arrays (RoadGraph.joined gives the same matrix without it).

    Rows are appended to the CSR arrays directly (no re-sort of the network's million arcs).
    """
    rev = graph.reverse
    n = graph.n_nodes
    n_fac = fac_snap.node.shape[0]
    ok = fac_snap.node >= 0
    counts = ok.sum(axis=1)
    # Kept in the index dtype of the network's CSR (int32 below 2³¹ arcs), so csgraph does not copy it again.
    itype = rev.indices.dtype
    indptr = np.concatenate([rev.indptr, (rev.indptr[-1] + np.cumsum(counts)).astype(rev.indptr.dtype)])
    indices = np.concatenate([rev.indices, fac_snap.node[ok].astype(itype)])
    data = np.concatenate([rev.data, fac_snap.offset_s[ok]])
    return csr_matrix((data, indices, indptr), shape=(n + n_fac, n + n_fac))


@dataclass
class Catchments:
    """Time from every node to its nearest facility (home → facility), within `limit_s` seconds.

    `node_time_s` is np.inf beyond the limit or where no facility is reached; `node_source` is the
    search's source per node as csgraph gives it (n + the facility's index; meaningful where the time
    is finite); `node_facility` the index of that nearest facility (−1 where none).
    """

    limit_s: float
    node_time_s: np.ndarray
    node_source: np.ndarray
    fac_xyz: np.ndarray
    fac_snap: Snap

    @property
    def node_facility(self) -> np.ndarray:
        """Per node, the index of its nearest facility (−1 where none within the limit): made when asked, as
        the coverage reads it at the points' nodes only."""
        n = self.node_time_s.size
        return np.where(np.isfinite(self.node_time_s), self.node_source.astype(np.int64) - n, -1)


def catchment_times(graph: RoadGraph, facilities_xy: np.ndarray, *, limit_s: float) -> Catchments:
    """One multi-source Dijkstra (scipy csgraph, min_only) from all facilities over the reversed graph.

    `facilities_xy`: (n, 2) longitude, latitude in degrees (EPSG:4326); `limit_s`: seconds, the
    largest threshold any later question will ask (nodes beyond it stay np.inf).
    """
    fxy = np.asarray(facilities_xy, dtype=np.float64).reshape(-1, 2)
    if not limit_s >= 0:
        raise ValueError("limit_s must be zero or more seconds")
    n = graph.n_nodes
    fac_snap = graph.snap(fxy[:, 0], fxy[:, 1], rank=False)
    fac_xyz = fac_snap.xyz
    sources = n + np.nonzero(fac_snap.attached)[0]
    if not sources.size or not n:
        return Catchments(float(limit_s), np.full(n, np.inf), np.full(n, -1, dtype=np.int64), fac_xyz, fac_snap)
    with graph.joined(fac_snap) as g:
        dist, _pred, src = dijkstra(
            g, directed=True, indices=sources, limit=limit_s + TIME_TOLERANCE_S, min_only=True, return_predecessors=True
        )
    return Catchments(float(limit_s), dist[:n], src[:n], fac_xyz, fac_snap)


def _direct_pairs(snap: Snap, fac_xyz: np.ndarray, reach_m: float, mps: float) -> tuple[np.ndarray, ...]:
    """(point_idx, fac_idx, seconds) of every facility within `reach_m` of a point over the straight line
    at `mps`: one ball query per facility over the points' tree (facilities are few, points many)."""
    if not len(fac_xyz) or snap.tree is None:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
    lists = snap.tree.query_ball_point(fac_xyz, metres_to_chord(reach_m) + 1e-6)
    counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    if not counts.sum():
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
    f = np.repeat(np.arange(len(fac_xyz)), counts)
    p = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists if x])
    metres = chord_to_metres(np.linalg.norm(snap.xyz[p] - fac_xyz[f], axis=1))
    ok = metres <= reach_m
    return p[ok], f[ok], metres[ok] / mps


def _direct_nearest(catch: Catchments, snap: Snap, reach_m: float, mps: float) -> tuple[np.ndarray, ...]:
    """(point_idx, fac_idx, seconds) of each point with a facility within `reach_m` over the straight line at
    `mps`: its nearest one (ties: the lower facility index). Points without one are left out."""
    p, f, t = _direct_pairs(snap, catch.fac_xyz, reach_m, mps)
    if not p.size:
        return p, f, t
    o = np.lexsort((t, p))
    p, f, t = p[o], f[o], t[o]
    first = np.ones(p.size, dtype=bool)
    first[1:] = p[1:] != p[:-1]  # per point, its shortest
    return p[first], f[first], t[first]


def _near_a_facility(catch: Catchments, xyz: np.ndarray, reach_m: float) -> np.ndarray:
    """True for the points `xyz` (ECEF metres) with a facility within `reach_m` over the straight line."""
    near = np.zeros(len(xyz), dtype=bool)
    if not len(xyz) or not len(catch.fac_xyz):
        return near
    lists = cKDTree(catch.fac_xyz).query_ball_point(xyz, metres_to_chord(reach_m) + 1e-6)
    counts = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    if not counts.sum():
        return near
    p = np.repeat(np.arange(len(xyz)), counts)
    f = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists if x])
    # The same metres as _direct_pairs gives the pair.
    ok = chord_to_metres(np.linalg.norm(xyz[p] - catch.fac_xyz[f], axis=1)) <= reach_m
    near[p[ok]] = True
    return near


def point_times(
    graph: RoadGraph, catch: Catchments, *, lon: np.ndarray, lat: np.ndarray, snap: Snap | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Seconds from each point (EPSG:4326) to its nearest facility and that facility's index (np.inf, −1
    where none within the catchments' limit): the best of the point's snap nodes and the direct line."""
    time, fac, _attached = _point_times(graph, catch, _snap_of(graph, lon, lat, snap))
    return time, fac


def _snap_of(graph: RoadGraph, lon: np.ndarray, lat: np.ndarray, snap: Snap | None) -> Snap:
    if snap is None:
        return graph.snap(lon, lat)
    if snap.node.shape[0] != np.asarray(lon).size:
        raise ValueError("snap must be graph.snap(lon, lat) of the same points")
    return snap


def _point_times(graph: RoadGraph, catch: Catchments, snap: Snap) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(seconds, facility index, attached) per point; attached: some node or facility within max_snap_m."""
    node, offset, node_time = snap.node, snap.offset_s, catch.node_time_s
    # The best of the k candidates column by column (Snap keeps its columns contiguous): one gather of the
    # nodes' times per column, the first of equal times kept. A missing candidate has node −1 and offset
    # np.inf: it reads the last node's time and its sum stays np.inf.
    time = offset[:, 0] + node_time.take(node[:, 0])
    best_node = node[:, 0].copy()
    # Later candidates: only those that may win (Snap.may_win; the others are never strictly sooner).
    for idx, node_j, offset_j in snap.columns:
        t_j = offset_j + node_time.take(node_j)
        if idx is None:
            better = t_j < time
            np.copyto(time, t_j, where=better)
            np.copyto(best_node, node_j, where=better)
        else:
            better = t_j < time[idx]
            won = idx[better]
            time[won] = t_j[better]
            best_node[won] = node_j[better]
    # The direct line, where some facility is within max_snap_m (few points): it wins when strictly shorter.
    # Looked for within the limit's reach only (a longer line ends beyond the limit: the point is not within
    # it either way); the reach widened by far more than rounding so that no line within the limit is missed.
    limit = catch.limit_s + TIME_TOLERANCE_S
    reach_m = min(graph.max_snap_m, limit * graph.off_network_mps * (1 + 1e-9) + 1e-6)
    near, f, t = _direct_nearest(catch, snap, reach_m, graph.off_network_mps)
    direct = t < time[near]
    p, f = near[direct], f[direct]
    time[p] = t[direct]
    over = time > limit
    time[over] = np.inf
    # The facility read at the chosen node of the points within the limit only (a reached node's source is
    # n + its facility's index), then the direct line's where it won.
    fac = np.full(time.size, -1, dtype=np.int64)
    within = np.flatnonzero(~over)
    fac[within] = catch.node_source.take(best_node[within]) - node_time.size
    keep = ~over[p]
    fac[p[keep]] = f[keep]
    attached = snap.attached.copy()
    attached[near] = True
    if reach_m < graph.max_snap_m:
        # The points with no node within max_snap_m (few) may still have a facility within it, beyond the limit.
        lost = np.flatnonzero(~attached)
        attached[lost] = _near_a_facility(catch, snap.xyz[lost], graph.max_snap_m)
    return time, fac, attached


def catchment_pairs_time(
    graph: RoadGraph,
    facilities_xy: np.ndarray,
    *,
    lon: np.ndarray,
    lat: np.ndarray,
    limit_s: float,
    batch: int = PAIR_BATCH,
    snap: Snap | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (point, facility) pairs with the facility reached within `limit_s` seconds from the point:
    (point_idx, fac_idx, seconds) — what the capacity flow (layers.analysis.capacity) takes as reach.

    One limited Dijkstra per facility over the reversed graph (facilities in batches of `batch`),
    then each point's best snap node; plus the direct off-network line (within max_snap_m).
    """
    fxy = np.asarray(facilities_xy, dtype=np.float64).reshape(-1, 2)
    n = graph.n_nodes
    n_fac = len(fxy)
    snap = _snap_of(graph, lon, lat, snap)
    fac_snap = graph.snap(fxy[:, 0], fxy[:, 1], rank=False)
    out_p, out_f, out_t = [], [], []
    pts = np.nonzero(snap.attached)[0]
    live = np.nonzero(fac_snap.attached)[0]
    if pts.size and live.size and n:
        node = snap.node[pts]
        has = node >= 0
        node0 = np.where(has, node, 0)
        offset = snap.offset_s[pts]
        with graph.joined(fac_snap) as g:
            for start in range(0, live.size, max(1, batch)):
                facs = live[start : start + batch]
                dist = dijkstra(g, directed=True, indices=n + facs, limit=limit_s + TIME_TOLERANCE_S)
                # (batch, points, k) → best over the point's candidate nodes.
                t = np.where(has[None], dist[:, node0] + offset[None], np.inf).min(axis=2)
                fi, pi = np.nonzero(t <= limit_s + TIME_TOLERANCE_S)
                out_p.append(pts[pi])
                out_f.append(facs[fi])
                out_t.append(t[fi, pi])
    if n_fac and len(snap.xyz):
        # Direct off-network line: every facility within min(max_snap_m, limit × off-network speed).
        reach_m = min(graph.max_snap_m, (limit_s + TIME_TOLERANCE_S) * graph.off_network_mps)
        p, f, t = _direct_pairs(snap, lonlat_to_ecef(fxy[:, 0], fxy[:, 1]), reach_m, graph.off_network_mps)
        ok = t <= limit_s + TIME_TOLERANCE_S
        out_p.append(p[ok])
        out_f.append(f[ok])
        out_t.append(t[ok])
    if not out_p:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0)
    p, f, t = np.concatenate(out_p), np.concatenate(out_f), np.concatenate(out_t)
    # A pair found both ways keeps its shorter time.
    o = np.lexsort((t, f, p))
    p, f, t = p[o], f[o], t[o]
    first = np.ones(p.size, dtype=bool)
    first[1:] = (p[1:] != p[:-1]) | (f[1:] != f[:-1])
    return p[first].astype(np.int64), f[first].astype(np.int64), t[first]


@dataclass
class TravelCoverage:
    """Children within each travel-time threshold, per zone slot: `within[i, s]` for threshold i
    (minutes, ascending as given in `thresholds_min`) and slot s; per point its seconds to the
    nearest facility (np.inf when beyond the largest threshold or unreachable)."""

    thresholds_min: np.ndarray
    children: np.ndarray  # per slot
    within: np.ndarray  # (thresholds, slots)
    unattached: np.ndarray  # per slot: children farther than max_snap_m from the network and every facility
    time_s: np.ndarray  # per point
    facility: np.ndarray  # per point: nearest facility index (−1)
    attached: np.ndarray  # per point: some node or facility within max_snap_m (False: not reachable at all)


def travel_time_coverage(
    graph: RoadGraph,
    catch: Catchments,
    *,
    lon: np.ndarray,
    lat: np.ndarray,
    children: np.ndarray,
    thresholds_min: Sequence[float],
    slot: np.ndarray | None = None,
    n_slots: int = 1,
    snap: Snap | None = None,
) -> TravelCoverage:
    """Children within each of `thresholds_min` (any list, minutes) of a facility, in one pass over the points.

    Points are EPSG:4326 degrees; `children` their weights; `slot` an optional zone slot per point
    (0..n_slots−1); `snap`: graph.snap(lon, lat) when already made (it depends on the network and the
    points only, so one snap serves every set of facilities and thresholds). Each threshold must be
    ≤ the catchments' limit (the search stopped there).
    """
    thr_min = np.asarray(thresholds_min, dtype=np.float64).ravel()
    thr_s = minutes_to_seconds(thr_min)
    if not thr_s.size or np.any(~np.isfinite(thr_s)) or np.any(thr_s < 0):
        raise ValueError("thresholds_min must be a non-empty list of minutes ≥ 0")
    if np.any(thr_s > catch.limit_s + TIME_TOLERANCE_S):
        raise ValueError("a threshold exceeds the catchments' limit_s: search with the largest threshold")
    children = np.asarray(children, dtype=np.float64)
    by_slot = slot is not None
    slot = np.asarray(slot, dtype=np.int64) if by_slot else np.zeros(children.size, dtype=np.intp)
    time, fac, attached = _point_times(graph, catch, _snap_of(graph, lon, lat, snap))
    # Smallest threshold each point is within (position in the sorted list; len = none), then a cumulative sum.
    # The position is the count of thresholds below the point's time (a pass per threshold: they are few).
    order = np.argsort(thr_s, kind="stable")
    sorted_thr = thr_s[order] + TIME_TOLERANCE_S
    first = (time > sorted_thr[0]).astype(np.intp)
    for t in sorted_thr[1:]:
        first += time > t
    n_t = thr_s.size
    hist = np.bincount(
        first * n_slots + slot if by_slot else first, weights=children, minlength=(n_t + 1) * n_slots
    ).reshape(n_t + 1, n_slots)
    cum = np.cumsum(hist[:n_t], axis=0)
    within = np.empty_like(cum)
    within[order] = cum
    # Unattached: no node and no facility within max_snap_m (reported apart from "too far").
    unattached = ~attached
    return TravelCoverage(
        thresholds_min=thr_min,
        children=np.bincount(slot, weights=children, minlength=n_slots),
        within=within,
        unattached=np.bincount(slot[unattached], weights=children[unattached], minlength=n_slots),
        time_s=time,
        facility=fac,
        attached=attached,
    )
