"""Capacity-constrained coverage (maximum flow over groups of interchangeable points), answers by hand."""

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

from layers.analysis.capacity import CapacityFlow


def _pairs(reach: dict[int, list[int]]) -> tuple[np.ndarray, np.ndarray]:
    p = [i for i, fs in reach.items() for _ in fs]
    f = [j for fs in reach.values() for j in fs]
    return np.array(p, dtype=np.int64), np.array(f, dtype=np.int64)


def test_greedy_nearest_would_serve_less_than_the_maximum_flow():
    # Point 0 (10 children) reaches facilities A=0 and B=1 (A nearest); point 1 (10 children) reaches only A.
    # Capacities A=10, B=10. Nearest-first sends point 0 to A, leaving point 1 unserved: 10 served.
    # The maximum flow sends point 0 to B and point 1 to A: 20 served.
    flow = CapacityFlow(n_facilities=2, n_slots=3)
    p, f = _pairs({0: [0, 1], 1: [0]})
    flow.add(children=np.array([10.0, 10.0]), slot=np.array([0, 1]), point_idx=p, fac_idx=f)
    res = flow.solve(capacity=np.array([10.0, 10.0]))
    assert res.served.tolist() == pytest.approx([10.0, 10.0, 0.0], abs=1e-7)
    assert res.within_reach.tolist() == [10.0, 10.0, 0.0]
    assert res.facility_assigned.tolist() == pytest.approx([10.0, 10.0], abs=1e-7)
    assert res.reaching_nobody.tolist() == []


def test_capacity_short_served_split_in_proportion_within_a_group_and_unreached_points_not_served():
    # Points 0 (30) and 1 (10) in different zones both reach only facility 0 (capacity 20): one group of 40
    # children, 20 served, split 15/5. Point 2 (7) reaches nothing. Facility 1 reaches nobody.
    flow = CapacityFlow(n_facilities=2, n_slots=3)
    p, f = _pairs({0: [0], 1: [0]})
    sig = flow.add(children=np.array([30.0, 10.0, 7.0]), slot=np.array([0, 1, 2]), point_idx=p, fac_idx=f)
    assert sig[0] == sig[1] and sig[2] == -1
    res = flow.solve(capacity=np.array([20.0, 99.0]))
    assert res.children.tolist() == [30.0, 10.0, 7.0]
    assert res.within_reach.tolist() == [30.0, 10.0, 0.0]
    assert res.served.tolist() == pytest.approx([15.0, 5.0, 0.0], abs=1e-7)
    assert res.group_ratio[sig[0]] == pytest.approx(0.5)
    assert res.reaching_nobody.tolist() == [1]
    assert res.facility_assigned.tolist() == pytest.approx([20.0, 0.0], abs=1e-7)


def test_groups_accumulate_across_chunks_and_slot_factors_scale_demand_before_the_flow():
    # Two chunks; the same set {0, 1} appears in both, in slot 0; a point reaching {1} in slot 1.
    flow = CapacityFlow(n_facilities=2, n_slots=3)
    p, f = _pairs({0: [1, 0], 1: [1]})
    s1 = flow.add(children=np.array([4.0, 6.0]), slot=np.array([0, 1]), point_idx=p, fac_idx=f)
    p, f = _pairs({0: [0, 1]})
    s2 = flow.add(children=np.array([2.0]), slot=np.array([0]), point_idx=p, fac_idx=f)
    assert s1[0] == s2[0] and s1[1] != s1[0]
    # Factors: slot 0 ×2 (12 children), slot 1 ×1 (6). Capacity 0: 5, 1: 5 → at most 10 served.
    res = flow.solve(capacity=np.array([5.0, 5.0]), slot_factor=np.array([2.0, 1.0, 1.0]))
    assert res.children.tolist() == [12.0, 6.0, 0.0]
    assert res.served.sum() == pytest.approx(10.0, abs=1e-7)
    # Slot 1 can use only facility 1; slot 0 can use both: 10 in total whatever the split, slot 0 ≥ 5.
    assert res.served[0] >= 5.0 - 1e-7
    assert (res.served <= res.within_reach + 1e-9).all()


def test_repeated_pairs_and_unsorted_input_give_the_same_groups():
    flow = CapacityFlow(n_facilities=3, n_slots=2)
    p = np.array([1, 0, 0, 1, 0, 2], dtype=np.int64)
    f = np.array([2, 2, 0, 0, 0, 1], dtype=np.int64)
    sig = flow.add(children=np.ones(3), slot=np.zeros(3, dtype=np.int64), point_idx=p, fac_idx=f)
    assert sig[0] == sig[1] != sig[2]
    res = flow.solve(capacity=np.array([1.0, 0.5, 0.0]))
    # {0, 2} has 2 children but facility 2 has no capacity: 1 served; {1}: 0.5 served.
    assert res.served.sum() == pytest.approx(1.5, abs=1e-7)


def test_a_hash_collision_cannot_merge_different_sets():
    # Sets of different sizes are kept apart by their count; force two sets of two with equal hashes.
    flow = CapacityFlow(n_facilities=4, n_slots=1)
    flow._keys = np.array([1, 4, 2, 3], dtype=np.uint64)  # {0,1} and {2,3} both hash to 5
    p, f = _pairs({0: [0, 1], 1: [2, 3]})
    sig = flow.add(children=np.array([1.0, 1.0]), slot=np.zeros(2, dtype=np.int64), point_idx=p, fac_idx=f)
    assert sig[0] != sig[1]
    res = flow.solve(capacity=np.array([1.0, 0.0, 0.0, 1.0]))
    assert res.served.sum() == pytest.approx(2.0, abs=1e-7)


def test_bad_capacity_is_refused():
    flow = CapacityFlow(n_facilities=2, n_slots=1)
    with pytest.raises(ValueError, match="one value per facility"):
        flow.solve(capacity=np.array([1.0]))
    with pytest.raises(ValueError, match="not negative"):
        flow.solve(capacity=np.array([1.0, -1.0]))


def test_matches_a_brute_force_maximum_flow_on_random_instances():
    rng = np.random.default_rng(7)
    for _ in range(20):
        n_pts, n_fac = 40, 6
        children = rng.integers(0, 20, n_pts)
        capacity = rng.integers(0, 60, n_fac)
        reach = {i: sorted(set(rng.integers(0, n_fac, rng.integers(0, 4)).tolist())) for i in range(n_pts)}
        p, f = _pairs(reach)
        flow = CapacityFlow(n_facilities=n_fac, n_slots=2)
        flow.add(children=children.astype(float), slot=np.zeros(n_pts, dtype=np.int64), point_idx=p, fac_idx=f)
        res = flow.solve(capacity=capacity.astype(float))
        # Integer max flow on the full (ungrouped) network: source 0, points 1.., facilities, sink.
        src, sink = 0, 1 + n_pts + n_fac
        rows = [src] * n_pts + (1 + p).tolist() + (1 + n_pts + np.arange(n_fac)).tolist()
        cols = (1 + np.arange(n_pts)).tolist() + (1 + n_pts + f).tolist() + [sink] * n_fac
        caps = children.tolist() + [10**6] * p.size + capacity.tolist()
        graph = csr_matrix((np.array(caps, dtype=np.int32), (rows, cols)), shape=(sink + 1, sink + 1))
        assert res.served.sum() == pytest.approx(maximum_flow(graph, src, sink).flow_value, abs=1e-6)
