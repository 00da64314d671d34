"""Travel time over a road network (layers.analysis.travel): a hand-built network with times by hand,
and a brute-force cross-check (Floyd–Warshall) on random small graphs. No database needed."""

import numpy as np
import pytest
from pyproj import Geod

from layers.analysis.capacity import CapacityFlow
from layers.analysis.travel import (
    RoadGraph,
    Snap,
    catchment_pairs_time,
    catchment_times,
    point_times,
    travel_time_coverage,
)
from tests.layers.analysis.brute_force import all_pairs_seconds

INF = np.inf
# Hand-built network (ids deliberately not 0..n−1). Road 1–2–3 runs west → east along 45° N;
# 2 → 1 also has a cheaper one-way parallel edge; 3 → 8 is one-way (east only); the bridge 6–7 runs
# north–south over the road 2–3 at 70.015° E without a node there (it does not connect to it) and
# joins node 1 only by the long road 7–1; 10–11 is an island with no link to the rest.
NODES = {
    1: (70.000, 45.000),
    2: (70.010, 45.000),
    3: (70.020, 45.000),
    8: (70.030, 45.000),
    6: (70.015, 44.990),
    7: (70.015, 45.010),
    10: (71.000, 45.000),
    11: (71.010, 45.000),
}
EDGES = [  # source, target, seconds source → target, seconds target → source
    (1, 2, 100.0, 100.0),
    (2, 1, 80.0, INF),  # parallel one-way: 2 → 1 in 80 s; the cheaper is kept
    (2, 3, 100.0, 100.0),
    (3, 8, 40.0, INF),  # one-way east: from 8 one cannot drive back to 3
    (6, 7, 50.0, 50.0),  # the bridge
    (7, 1, 1000.0, 1000.0),
    (10, 11, 60.0, 60.0),  # the island
]
OFF_KMH = 5.0


def _graph(**kw) -> RoadGraph:
    ids = np.array(list(NODES), dtype=np.int64)
    lon = np.array([NODES[i][0] for i in ids])
    lat = np.array([NODES[i][1] for i in ids])
    e = np.array(EDGES, dtype=np.float64)
    return RoadGraph.from_arrays(
        node_id=ids,
        node_lon=lon,
        node_lat=lat,
        edge_source=e[:, 0].astype(np.int64),
        edge_target=e[:, 1].astype(np.int64),
        edge_cost_s=e[:, 2],
        edge_reverse_cost_s=e[:, 3],
        off_network_kmh=OFF_KMH,
        **kw,
    )


def _at(*node_ids):
    return np.array([NODES[i][0] for i in node_ids]), np.array([NODES[i][1] for i in node_ids])


def test_hand_built_network_times_from_home_to_the_facility():
    g = _graph(max_snap_m=500.0)
    catch = catchment_times(g, np.array([NODES[1]]), limit_s=3600)
    by_id = dict(zip(g.node_id.tolist(), catch.node_time_s.tolist(), strict=True))
    assert by_id[1] == 0
    assert by_id[2] == 80  # the cheaper parallel edge 2 → 1, not 100
    assert by_id[3] == 180  # 3 → 2 → 1
    assert by_id[8] == INF  # one-way 3 → 8: no way from 8 back (searching the wrong direction would give 220)
    assert by_id[7] == 1000  # the long road
    assert by_id[6] == 1050  # over the bridge: it does not touch road 2–3 where it crosses it
    assert by_id[10] == INF and by_id[11] == INF  # the island
    assert set(catch.node_facility[np.isfinite(catch.node_time_s)].tolist()) == {0}


def test_settlement_off_the_network_pays_the_off_network_speed_over_the_true_distance():
    g = _graph(max_snap_m=5_000.0)
    # 0.02° north of node 2; node 7 is nearer (1.2 km) but only joins the facility (at node 1) by the
    # 1 000 s road: the best of the nearest nodes is node 2 (2.2 km, then 80 s).
    lon, lat = np.array([70.010]), np.array([45.020])
    catch = catchment_times(g, np.array([NODES[1]]), limit_s=3600)
    t, f = point_times(g, catch, lon=lon, lat=lat)
    d2 = Geod(ellps="WGS84").inv(70.010, 45.020, *NODES[2])[2]  # ≈ 2 223 m to node 2
    d7 = Geod(ellps="WGS84").inv(70.010, 45.020, *NODES[7])[2]  # ≈ 1 234 m to node 7 (then 1 000 s)
    by_node2 = d2 / (OFF_KMH / 3.6) + 80
    by_node7 = d7 / (OFF_KMH / 3.6) + 1000
    assert 2_200 < d2 < 2_250
    assert by_node2 < by_node7
    assert t[0] == pytest.approx(by_node2, abs=0.01)  # chords vs geodesic: < 1 mm at 2 km
    assert f[0] == 0
    # With the nearest node only, node 7 would cost more than walking the straight line to the facility.
    g1 = _graph(max_snap_m=5_000.0, snap_nodes=1)
    t1, _ = point_times(g1, catchment_times(g1, np.array([NODES[1]]), limit_s=3600), lon=lon, lat=lat)
    direct = Geod(ellps="WGS84").inv(70.010, 45.020, *NODES[1])[2] / (OFF_KMH / 3.6)
    assert direct < by_node7
    assert t1[0] == pytest.approx(direct, abs=0.01)


def test_point_beyond_the_maximum_snap_distance_is_unreachable_not_attached():
    g = _graph(max_snap_m=1_000.0)
    catch = catchment_times(g, np.array([NODES[1]]), limit_s=3600)
    lon, lat = np.array([70.010, 70.010]), np.array([45.020, 45.0005])  # ~1.2 km from node 7; ~56 m from node 2
    cov = travel_time_coverage(g, catch, lon=lon, lat=lat, children=np.array([7.0, 3.0]), thresholds_min=[60])
    assert cov.time_s[0] == INF and cov.facility[0] == -1
    assert cov.unattached[0] == 7.0
    assert cov.within[0, 0] == 3.0


def test_exact_threshold_is_within_and_a_hair_less_is_not():
    g = _graph(max_snap_m=500.0)
    catch = catchment_times(g, np.array([NODES[1]]), limit_s=3600)
    lon, lat = _at(3)  # 180 s exactly, offset 0
    cov = travel_time_coverage(
        g, catch, lon=lon, lat=lat, children=np.array([5.0]), thresholds_min=[3.0, 3.0 - 1e-6, 2.0]
    )
    assert cov.within[:, 0].tolist() == [5.0, 0.0, 0.0]
    # Float sums that round above the threshold (0.1 + 0.2 = 0.30000000000000004) still count.
    g2 = RoadGraph.from_arrays(
        node_id=np.array([0, 1, 2]),
        node_lon=np.array([70.0, 70.1, 70.2]),
        node_lat=np.array([45.0, 45.0, 45.0]),
        edge_source=np.array([0, 1]),
        edge_target=np.array([1, 2]),
        edge_cost_s=np.array([INF, INF]),
        edge_reverse_cost_s=np.array([0.1, 0.2]),
        off_network_kmh=5,
        max_snap_m=10,
    )
    c2 = catchment_times(g2, np.array([[70.0, 45.0]]), limit_s=0.3)
    t, _f = point_times(g2, c2, lon=np.array([70.2]), lat=np.array([45.0]))
    assert t[0] == pytest.approx(0.3)
    cov2 = travel_time_coverage(
        g2, c2, lon=np.array([70.2]), lat=np.array([45.0]), children=np.array([1.0]), thresholds_min=[0.3 / 60]
    )
    assert cov2.within[0, 0] == 1.0


def test_threshold_beyond_the_search_limit_is_refused():
    g = _graph()
    catch = catchment_times(g, np.array([NODES[1]]), limit_s=600)
    with pytest.raises(ValueError, match="limit"):
        travel_time_coverage(g, catch, lon=np.array([70.0]), lat=np.array([45.0]), children=[1.0], thresholds_min=[15])


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="vertex"):
        RoadGraph.from_arrays(
            node_id=np.array([1, 2]),
            node_lon=np.zeros(2),
            node_lat=np.zeros(2),
            edge_source=np.array([1]),
            edge_target=np.array([3]),
            edge_cost_s=np.array([1.0]),
            edge_reverse_cost_s=np.array([1.0]),
            off_network_kmh=5,
        )
    with pytest.raises(ValueError, match="edge_cost_s"):
        RoadGraph.from_arrays(
            node_id=np.array([1, 2]),
            node_lon=np.zeros(2),
            node_lat=np.zeros(2),
            edge_source=np.array([1]),
            edge_target=np.array([2]),
            edge_cost_s=np.array([-1.0]),
            edge_reverse_cost_s=np.array([1.0]),
            off_network_kmh=5,
        )


def test_pairs_list_every_facility_within_the_limit_with_its_time():
    g = _graph(max_snap_m=500.0)
    fac = np.array([NODES[1], NODES[3], NODES[10]])
    lon, lat = _at(2, 8, 6, 11)
    p, f, t = catchment_pairs_time(g, fac, lon=lon, lat=lat, limit_s=1050)
    got = {(int(a), int(b)): float(c) for a, b, c in zip(p, f, t, strict=True)}
    # Home 2: to 1 in 80 s, to 3 in 100 s. Home 8: nowhere (one-way). Home 6: to 1 in 1050 s (exactly the
    # limit), to 3 in 1050 + 180 (beyond). Home 11: to the island facility at 10 in 60 s.
    assert got == {(0, 0): 80.0, (0, 1): 100.0, (2, 0): 1050.0, (3, 2): 60.0}


def _random_graph(rng, n, m):
    # Nodes ≥ 100 m apart on a jittered grid (snapping with max_snap_m = 1 m only attaches exact positions).
    side = int(np.ceil(np.sqrt(n)))
    lon = 60.0 + (np.arange(n) % side) * 0.01 + rng.uniform(0, 0.003, n)
    lat = 45.0 + (np.arange(n) // side) * 0.01 + rng.uniform(0, 0.003, n)
    src = rng.integers(0, n, m)
    tgt = rng.integers(0, n, m)
    cost = rng.uniform(1, 100, m).round(1)
    rcost = np.where(rng.random(m) < 0.3, INF, rng.uniform(1, 100, m).round(1))
    cost = np.where(rng.random(m) < 0.05, 0.0, cost)  # a few zero-cost edges (explicit zeros must stay edges)
    return lon, lat, src, tgt, cost, rcost


@pytest.mark.parametrize("seed", range(6))
def test_random_graphs_agree_with_brute_force(seed):
    rng = np.random.default_rng(seed)
    n, m = 40, 90
    lon, lat, src, tgt, cost, rcost = _random_graph(rng, n, m)
    ids = rng.permutation(np.arange(1000, 1000 + n))
    g = RoadGraph.from_arrays(
        node_id=ids,
        node_lon=lon,
        node_lat=lat,
        edge_source=ids[src],
        edge_target=ids[tgt],
        edge_cost_s=cost,
        edge_reverse_cost_s=rcost,
        off_network_kmh=5,
        max_snap_m=1.0,
    )
    d = all_pairs_seconds(n, src, tgt, cost, rcost)
    fac_nodes = rng.choice(n, 4, replace=False)
    limit = 150.0
    catch = catchment_times(g, np.column_stack([lon[fac_nodes], lat[fac_nodes]]), limit_s=limit)
    best = d[:, fac_nodes].min(axis=1)
    expect = np.where(best <= limit + 1e-6, best, INF)
    np.testing.assert_allclose(catch.node_time_s, expect, rtol=0, atol=1e-9)
    reached = np.isfinite(expect)
    np.testing.assert_allclose(d[reached, fac_nodes[catch.node_facility[reached]]], expect[reached], atol=1e-9)
    # Demand points at every node: pairs and per-threshold coverage.
    p, f, t = catchment_pairs_time(
        g, np.column_stack([lon[fac_nodes], lat[fac_nodes]]), lon=lon, lat=lat, limit_s=limit
    )
    want = {(i, j): d[i, fac_nodes[j]] for i in range(n) for j in range(4) if d[i, fac_nodes[j]] <= limit + 1e-6}
    got = {(int(a), int(b)): float(c) for a, b, c in zip(p, f, t, strict=True)}
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-9)
    w = rng.integers(1, 20, n).astype(float)
    slot = rng.integers(0, 3, n)
    thresholds = [2.5, 0.5, 1.0, 1.7]  # minutes, any order
    cov = travel_time_coverage(g, catch, lon=lon, lat=lat, children=w, thresholds_min=thresholds, slot=slot, n_slots=3)
    for i, th in enumerate(thresholds):
        for s in range(3):
            assert cov.within[i, s] == pytest.approx(w[(best <= th * 60 + 1e-6) & (slot == s)].sum())
    assert cov.children.sum() == w.sum()
    # The points' snap made once (network × points) gives the same answer for any facilities.
    snap = g.snap(lon, lat)
    again = travel_time_coverage(
        g, catch, lon=lon, lat=lat, children=w, thresholds_min=thresholds, slot=slot, n_slots=3, snap=snap
    )
    np.testing.assert_array_equal(again.within, cov.within)
    with pytest.raises(ValueError, match="snap"):
        travel_time_coverage(g, catch, lon=lon[:3], lat=lat[:3], children=w[:3], thresholds_min=[1], snap=snap)


def test_a_snap_taken_and_concatenated_equals_the_snap_of_those_points():
    rng = np.random.default_rng(7)
    lon, lat, src, tgt, cost, rcost = _random_graph(rng, 30, 60)
    g = RoadGraph.from_arrays(
        node_id=np.arange(30),
        node_lon=lon,
        node_lat=lat,
        edge_source=src,
        edge_target=tgt,
        edge_cost_s=cost,
        edge_reverse_cost_s=rcost,
        off_network_kmh=5,
        max_snap_m=800.0,
    )
    # Points near the nodes and some far from all of them (not attached).
    p_lon = np.concatenate([lon + rng.uniform(-0.004, 0.004, 30), [70.0, 71.0]])
    p_lat = np.concatenate([lat + rng.uniform(-0.004, 0.004, 30), [50.0, 51.0]])
    whole = g.snap(p_lon, p_lat)
    idx = np.array([31, 2, 5, 30, 17])
    parts = [whole.take(idx[:2]), whole.take(idx[2:])]
    for got in (whole.take(idx), Snap.concat(parts)):
        want = g.snap(p_lon[idx], p_lat[idx])
        np.testing.assert_array_equal(got.node, want.node)
        np.testing.assert_array_equal(got.offset_s, want.offset_s)
        np.testing.assert_array_equal(got.distance_m, want.distance_m)
        np.testing.assert_array_equal(got.xyz, want.xyz)
        np.testing.assert_array_equal(got.attached, [False, True, True, False, True])
        assert got.tree.n == len(idx)
    assert Snap.concat([whole]) is whole


def test_pairs_feed_the_capacity_flow():
    # Two homes reach both facilities; the capacity flow takes the pairs as reach.
    g = _graph(max_snap_m=500.0)
    fac = np.array([NODES[1], NODES[3]])
    lon, lat = _at(2, 2)
    p, f, _t = catchment_pairs_time(g, fac, lon=lon, lat=lat, limit_s=600)
    flow = CapacityFlow(n_facilities=2, n_slots=1)
    flow.add(children=np.array([10.0, 10.0]), slot=np.zeros(2, dtype=np.int64), point_idx=p, fac_idx=f)
    res = flow.solve(capacity=np.array([10.0, 10.0]))
    assert res.served.sum() == pytest.approx(20.0)
