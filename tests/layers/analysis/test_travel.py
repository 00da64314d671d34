"""Travel time over a road network (layers.analysis.travel): a hand-built network with times by hand,
and a brute-force cross-check (Floyd–Warshall) on random small graphs. No database needed."""

import dataclasses

import numpy as np
import pytest
from pyproj import Geod

from layers.analysis.capacity import CapacityFlow
from layers.analysis.travel import (
    JOIN_SPARE_ROWS,
    RoadGraph,
    Snap,
    catchment_pairs_time,
    catchment_times,
    graph_with_facilities,
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
        np.testing.assert_array_equal(got.may_win, want.may_win)
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


def _grid_graph(rng, *, side: int = 40, **kw) -> tuple[RoadGraph, np.ndarray, np.ndarray]:
    """A jittered side × side grid (~0.01° apart) with random one-way streets and costs: (graph, lon, lat)."""
    lon = (70 + np.arange(side)[None, :] * 0.01 + rng.normal(0, 0.002, (side, side))).ravel()
    lat = (45 + np.arange(side)[:, None] * 0.01 + rng.normal(0, 0.002, (side, side))).ravel()
    ids = np.arange(side * side).reshape(side, side)
    src = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    tgt = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    cost = rng.uniform(20, 200, src.size).round(1)
    rcost = np.where(rng.random(src.size) < 0.2, INF, rng.uniform(20, 200, src.size).round(1))
    g = RoadGraph.from_arrays(
        node_id=ids.ravel(),
        node_lon=lon,
        node_lat=lat,
        edge_source=src,
        edge_target=tgt,
        edge_cost_s=cost,
        edge_reverse_cost_s=rcost,
        off_network_kmh=kw.pop("off_network_kmh", 5.0),
        **kw,
    )
    return g, lon, lat


def test_joined_graph_is_the_copied_one_written_in_the_networks_spare_room():
    rng = np.random.default_rng(3)
    g, lon, lat = _grid_graph(rng)
    n = g.n_nodes
    for n_fac in (3, 7, JOIN_SPARE_ROWS + 50):  # the last one more than the room holds: the room grows
        fac = np.column_stack([rng.uniform(70, 70.4, n_fac), rng.uniform(45, 45.4, n_fac)])
        fac_snap = g.snap(fac[:, 0], fac[:, 1], rank=False)
        copied = graph_with_facilities(g, fac_snap)
        with g.joined(fac_snap) as joined:
            assert joined.shape == copied.shape == (n + n_fac, n + n_fac)
            np.testing.assert_array_equal(joined.indptr, copied.indptr)
            np.testing.assert_array_equal(joined.indices, copied.indices)
            np.testing.assert_array_equal(joined.data, copied.data)
            # No copy of the network: the arcs are the reversed graph's own arrays, followed by the facilities'.
            assert np.shares_memory(joined.data, g.reverse.data)
            assert np.shares_memory(joined.indices, g.reverse.indices)
        # The reversed graph itself is untouched by the facilities written after it.
        np.testing.assert_array_equal(g.reverse.toarray(), g.forward.T.toarray())


def test_catchments_of_runs_in_turn_and_nested_are_those_of_a_fresh_graph():
    rng = np.random.default_rng(4)
    g, lon, lat = _grid_graph(rng)
    runs = [np.column_stack([rng.uniform(70, 70.4, k), rng.uniform(45, 45.4, k)]) for k in (9, 2, 9)]
    for fac in runs:  # each run writes over the previous one's facilities
        fresh, _lon, _lat = _grid_graph(np.random.default_rng(4))
        got, want = catchment_times(g, fac, limit_s=1800), catchment_times(fresh, fac, limit_s=1800)
        np.testing.assert_array_equal(got.node_time_s, want.node_time_s)
        np.testing.assert_array_equal(got.node_facility, want.node_facility)
    # A run started while another holds the room (here the same thread; so another thread would) gets its own copy.
    outer = g.snap(runs[0][:, 0], runs[0][:, 1], rank=False)
    with g.joined(outer) as joined:
        inner = catchment_times(g, runs[1], limit_s=1800)
        np.testing.assert_array_equal(joined.data, graph_with_facilities(g, outer).data)
    want = catchment_times(g, runs[1], limit_s=1800)
    np.testing.assert_array_equal(inner.node_time_s, want.node_time_s)
    np.testing.assert_array_equal(inner.node_facility, want.node_facility)


def test_a_candidate_beaten_by_an_earlier_one_and_a_road_is_not_read():
    g = _graph(max_snap_m=2000.0, snap_nodes=2)
    i1, i2, i3, i8 = (int(np.nonzero(g.node_id == k)[0][0]) for k in (1, 2, 3, 8))
    # Nodes 1 and 2 are 787 m apart (1 → 2 takes 100 s, 2 → 1 80 s), 3 and 8 too (3 → 8 40 s, one-way);
    # off the network at 5 km/h.
    lon = np.array([70.002, 70.0049, 70.008, 70.021, 70.029])
    lat = np.full(lon.size, 45.0)
    snap = g.snap(lon, lat)
    np.testing.assert_array_equal(snap.node, [[i1, i2], [i1, i2], [i2, i1], [i3, i8], [i8, i3]])
    # 70.002: 157 m to node 1 (113 s) + 1 → 2 (100 s) ≤ 630 m to node 2 (453 s): node 2 never wins.
    # 70.0049: 386 m to node 1 (278 s) + 100 s > 401 m to node 2 (289 s): node 2 may win.
    # 70.008: 157 m to node 2 (113 s) + 2 → 1 (80 s) ≤ 630 m to node 1 (453 s): node 1 never wins.
    # 70.021: 79 m to node 3 (57 s) + 3 → 8 (40 s) ≤ 708 m to node 8 (510 s): node 8 never wins.
    # 70.029: near node 8, but no road 8 → 3 (one-way): node 3 may win.
    np.testing.assert_array_equal(
        snap.may_win, [[True, False], [True, True], [True, False], [True, False], [True, True]]
    )
    # Whatever the facilities, the times are those of every candidate read (may_win None reads them all).
    dense = dataclasses.replace(snap, may_win=None)
    for fac in (np.array([NODES[1]]), np.array([NODES[3]]), np.array([NODES[8], NODES[6]])):
        catch = catchment_times(g, fac, limit_s=3600)
        got = point_times(g, catch, lon=lon, lat=lat, snap=snap)
        want = point_times(g, catch, lon=lon, lat=lat, snap=dense)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", range(4))
def test_coverage_reading_only_the_candidates_that_may_win_is_exact(seed):
    rng = np.random.default_rng(seed)
    g, lon, lat = _grid_graph(rng, off_network_kmh=[5.0, 15.0, 2.0, 40.0][seed], max_snap_m=1500.0, snap_nodes=5)
    p_lon, p_lat = rng.uniform(69.99, 70.41, 3000), rng.uniform(44.99, 45.41, 3000)
    snap = g.snap(p_lon, p_lat)
    assert 0 < snap.may_win[:, 1:].mean() < 1  # some candidates are left out, not all
    dense = dataclasses.replace(snap, may_win=None)
    w = rng.uniform(0, 30, p_lon.size)
    for _ in range(3):
        fac = np.column_stack([rng.uniform(70, 70.4, 6), rng.uniform(45, 45.4, 6)])
        catch = catchment_times(g, fac, limit_s=3600)
        kw = dict(lon=p_lon, lat=p_lat, children=w, thresholds_min=[60, 15, 30])
        a = travel_time_coverage(g, catch, snap=snap, **kw)
        b = travel_time_coverage(g, catch, snap=dense, **kw)
        for name in ("time_s", "facility", "attached", "within", "children", "unattached"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert np.isfinite(a.time_s).mean() > 0.2
