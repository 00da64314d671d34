"""Capacity-constrained coverage: how many children can be given a place within reach (a maximum flow).

Demand points carry children (people, raster units or settlement counts) and a zone slot; a
facility reaches a point when it lies inside its radius (the pairs come from
layers.analysis.coverage.catchment_pairs, metres on the WGS 84 ellipsoid). Facility capacity is
children a year (places × shifts per year).

Method. The maximum number of children served is the maximum flow of the bipartite network
source → point (capacity: its children) → facility (if the facility reaches the point) → sink
(capacity: the facility's capacity). Points that reach exactly the same set of facilities are
interchangeable in that network, so they are merged into one group (the group's children = the
sum of its points' children) without changing the maximum. Groups are found chunk by chunk: a
64-bit random key per facility gives each point a hash of its set, points with the same hash are
then checked element by element (so a hash collision can never merge different sets), and the
set itself (its sorted facility indices) is the key across chunks. The maximum flow over groups ×
facilities is solved as a linear programme (scipy.optimize.linprog, HiGHS): its value is the exact
maximum up to the solver's tolerance (about 1e-7 relative). The served children of a group are
then split among its points (and hence zones) in proportion to their children: the children of a
group are interchangeable, so this is one of the maximum assignments, not the only one; the total
and each group's share are what the flow fixes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

# Seed of the per-facility hash keys: fixed, so a run is reproducible (grouping is exact whatever the keys).
_HASH_SEED = 20_170_017


@dataclass
class CapacityResult:
    """Per zone slot (the last slot is "outside every zone") and per facility, in the children's units."""

    children: np.ndarray  # per slot: all children
    within_reach: np.ndarray  # per slot: children some facility reaches
    served: np.ndarray  # per slot: children given a place within reach and within capacity
    facility_assigned: np.ndarray  # per facility: children assigned to it (≤ its capacity)
    facility_reached: np.ndarray  # per facility: children within its reach (bool: reaches any child)
    group_ratio: np.ndarray  # per group: served / children of the group (0 for a group without children)

    @property
    def reaching_nobody(self) -> np.ndarray:
        """Indices of the facilities that reach no child."""
        return np.nonzero(~self.facility_reached)[0]


class CapacityFlow:
    """Accumulates demand groups chunk by chunk, then solves the maximum flow once.

    `add` returns each point's group (−1: no facility reaches it), so callers holding points
    (settlements) can read each point's served children from `CapacityResult.group_ratio`.
    """

    def __init__(self, *, n_facilities: int, n_slots: int):
        self.n_facilities = int(n_facilities)
        self.n_slots = int(n_slots)
        rng = np.random.default_rng(_HASH_SEED)
        self._keys = rng.integers(0, np.iinfo(np.uint64).max, size=max(self.n_facilities, 1), dtype=np.uint64)
        self._sig_ids: dict[bytes, int] = {}
        self._sig_sets: list[np.ndarray] = []
        self._children = np.zeros(n_slots)
        self._group_rows: list[np.ndarray] = []  # per chunk: signature id per point group entry
        self._group_slots: list[np.ndarray] = []
        self._group_children: list[np.ndarray] = []

    def add(self, *, children: np.ndarray, slot: np.ndarray, point_idx: np.ndarray, fac_idx: np.ndarray) -> np.ndarray:
        """Add one chunk: children and zone slot per point, and its (point, facility) reach pairs.

        Returns the signature (group) id of each point, −1 where no facility reaches it.
        """
        children = np.asarray(children, dtype=np.float64)
        slot = np.asarray(slot, dtype=np.int64)
        n = children.size
        self._children += np.bincount(slot, weights=children, minlength=self.n_slots)
        sig = np.full(n, -1, dtype=np.int64)
        if not point_idx.size:
            return sig
        order = np.lexsort((fac_idx, point_idx))
        p, f = point_idx[order], fac_idx[order]
        # A pair may be listed once only; drop repeats so a set is a set.
        keep = np.ones(p.size, dtype=bool)
        keep[1:] = (p[1:] != p[:-1]) | (f[1:] != f[:-1])
        p, f = p[keep], f[keep]
        pts, start, count = np.unique(p, return_index=True, return_counts=True)
        h = np.add.reduceat(self._keys[f], start)  # uint64, wraps around: the set's hash
        # Points with the same (hash, count) share a representative; check them element by element.
        _u, first, inv = np.unique(
            np.column_stack([h.view(np.int64), count]), axis=0, return_index=True, return_inverse=True
        )
        inv = inv.ravel()
        rep = first[inv]
        offset = np.arange(p.size) - np.repeat(start, count)
        same = f == f[np.repeat(start[rep], count) + offset]
        point_ok = np.logical_and.reduceat(same, start)
        by_rep = np.array([self._signature(f[start[r] : start[r] + count[r]]) for r in first], dtype=np.int64)
        local = by_rep[inv]
        for i in np.nonzero(~point_ok)[0]:  # a hash collision: these points get their own exact key
            local[i] = self._signature(f[start[i] : start[i] + count[i]])
        sig[pts] = local
        reached = sig >= 0
        key = sig[reached] * self.n_slots + slot[reached]
        uk, ui = np.unique(key, return_inverse=True)
        self._group_rows.append(uk // self.n_slots)
        self._group_slots.append(uk % self.n_slots)
        self._group_children.append(np.bincount(ui.ravel(), weights=children[reached], minlength=uk.size))
        return sig

    def _signature(self, facilities: np.ndarray) -> int:
        key = facilities.astype(np.int64).tobytes()
        sid = self._sig_ids.get(key)
        if sid is None:
            sid = len(self._sig_sets)
            self._sig_ids[key] = sid
            self._sig_sets.append(facilities.astype(np.int64).copy())
        return sid

    def solve(self, *, capacity: np.ndarray, slot_factor: np.ndarray | None = None) -> CapacityResult:
        """Maximum flow with facility `capacity` (children a year); `slot_factor` scales each slot's children
        (a raster scaled to official totals) before the flow, so capacity meets the scaled demand."""
        capacity = np.asarray(capacity, dtype=np.float64)
        if capacity.size != self.n_facilities:
            raise ValueError("capacity must give one value per facility")
        if np.any(capacity < 0) or not np.all(np.isfinite(capacity)):
            raise ValueError("capacity must be finite and not negative")
        factor = np.ones(self.n_slots) if slot_factor is None else np.asarray(slot_factor, dtype=np.float64)
        n_sig = len(self._sig_sets)
        if self._group_rows:
            g_sig = np.concatenate(self._group_rows)
            g_slot = np.concatenate(self._group_slots)
            g_children = np.concatenate(self._group_children) * factor[g_slot]
        else:
            g_sig = g_slot = np.empty(0, dtype=np.int64)
            g_children = np.empty(0)
        sig_children = np.bincount(g_sig, weights=g_children, minlength=n_sig)
        within = np.bincount(g_slot, weights=g_children, minlength=self.n_slots)
        reached = np.zeros(self.n_facilities, dtype=bool)
        for s, members in enumerate(self._sig_sets):
            if sig_children[s] > 0:
                reached[members] = True
        sig_served, assigned = _max_flow(self._sig_sets, sig_children, capacity)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(sig_children > 0, np.clip(sig_served / sig_children, 0.0, 1.0), 0.0)
        served = np.bincount(g_slot, weights=g_children * ratio[g_sig], minlength=self.n_slots)
        return CapacityResult(
            children=self._children * factor,
            within_reach=within,
            served=np.minimum(served, within),
            facility_assigned=assigned,
            facility_reached=reached,
            group_ratio=ratio,
        )


def _max_flow(sets: list[np.ndarray], demand: np.ndarray, capacity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum flow groups → facilities: served per group and assigned per facility (a linear programme).

    Variables x_gf ≥ 0 for each facility f in group g's set; maximise Σ x subject to Σ_f x_gf ≤ demand_g
    and Σ_g x_gf ≤ capacity_f. Groups without children and facilities without capacity are left out.
    """
    n_fac = capacity.size
    served = np.zeros(len(sets))
    assigned = np.zeros(n_fac)
    live = [g for g in range(len(sets)) if demand[g] > 0]
    if not live or not n_fac:
        return served, assigned
    g_idx = np.concatenate([np.full(sets[g].size, g, dtype=np.int64) for g in live])
    f_idx = np.concatenate([sets[g] for g in live])
    use = capacity[f_idx] > 0
    g_idx, f_idx = g_idx[use], f_idx[use]
    if not g_idx.size:
        return served, assigned
    n_var = g_idx.size
    col = np.arange(n_var)
    # Rows 0..len(sets)-1: groups; then facilities.
    a = csr_matrix(
        (np.ones(2 * n_var), (np.concatenate([g_idx, len(sets) + f_idx]), np.concatenate([col, col]))),
        shape=(len(sets) + n_fac, n_var),
    )
    b = np.concatenate([demand, capacity])
    res = linprog(-np.ones(n_var), A_ub=a, b_ub=b, bounds=(0, None), method="highs")
    if res.status != 0:
        raise ValueError(f"the capacity flow could not be solved: {res.message}")
    x = np.maximum(res.x, 0.0)
    served = np.bincount(g_idx, weights=x, minlength=len(sets))
    assigned = np.bincount(f_idx, weights=x, minlength=n_fac)
    return served, assigned
