"""Best sites by travel time (layers.analysis.travel_siting): the candidate × point matrix against brute
force (Floyd–Warshall and the snapping written out) on random small graphs, and the siting functions on a
hand-built network with the best sites computed by hand. No database needed."""

import numpy as np
import pytest

from layers.analysis.geodesy import chord_to_metres, lonlat_to_ecef
from layers.analysis.siting import exact_max_cover, greedy_max_cover, greedy_max_cover_certified
from layers.analysis.travel import RoadGraph
from layers.analysis.travel_siting import travel_coverage_matrix
from tests.layers.analysis.brute_force import all_pairs_seconds

INF = np.inf


def _metres(lon1, lat1, lon2, lat2):
    """(len1, len2) surface metres between two point sets."""
    a, b = lonlat_to_ecef(lon1, lat1), lonlat_to_ecef(lon2, lat2)
    return chord_to_metres(np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2))


@pytest.mark.parametrize("seed", range(5))
def test_matrix_agrees_with_brute_force_on_random_graphs(seed):
    rng = np.random.default_rng(100 + seed)
    n, m = 30, 70
    side = 6
    lon = 60.0 + (np.arange(n) % side) * 0.01 + rng.uniform(0, 0.003, n)
    lat = 45.0 + (np.arange(n) // side) * 0.01 + rng.uniform(0, 0.003, n)
    src, tgt = rng.integers(0, n, m), rng.integers(0, n, m)
    cost = rng.uniform(5, 120, m)
    rcost = np.where(rng.random(m) < 0.3, INF, rng.uniform(5, 120, m))
    off_kmh, max_snap, k_snap = 5.0, 800.0, 3
    g = RoadGraph.from_arrays(
        node_id=np.arange(n) * 3 + 5,
        node_lon=lon,
        node_lat=lat,
        edge_source=src * 3 + 5,
        edge_target=tgt * 3 + 5,
        edge_cost_s=cost,
        edge_reverse_cost_s=rcost,
        off_network_kmh=off_kmh,
        max_snap_m=max_snap,
        snap_nodes=k_snap,
    )
    # Demand points and candidates off the network, some beyond max_snap_m of every node.
    n_pts, n_cand = 50, 8
    plon, plat = rng.uniform(59.99, 60.07, n_pts), rng.uniform(44.99, 45.06, n_pts)
    clon, clat = rng.uniform(60.0, 60.05, n_cand), rng.uniform(45.0, 45.05, n_cand)
    limit = 300.0
    got = travel_coverage_matrix(g, cand_lon=clon, cand_lat=clat, lon=plon, lat=plat, limit_s=limit)

    # Brute force: best of the point's k nearest nodes (within max_snap) × the candidate's, plus the direct line.
    mps = off_kmh / 3.6
    d = all_pairs_seconds(n, src, tgt, cost, rcost)

    def offsets(qlon, qlat):
        metres = _metres(qlon, qlat, lon, lat)
        off = np.full_like(metres, INF)
        nearest = np.argsort(metres, axis=1)[:, :k_snap]
        rows = np.arange(len(qlon))[:, None]
        near_m = metres[rows, nearest]
        off[rows, nearest] = np.where(near_m <= max_snap, near_m / mps, INF)
        return off  # (points, nodes) seconds of the off-network stretch, inf when not a candidate node

    op, oc = offsets(plon, plat), offsets(clon, clat)
    via = (op[:, :, None] + d[None, :, :]).min(axis=1)  # (points, nodes): point → node b
    t = (via[:, None, :] + oc[None, :, :]).min(axis=2)  # (points, candidates)
    direct = _metres(plon, plat, clon, clat)
    t = np.minimum(t, np.where(direct <= max_snap, direct / mps, INF))
    want = (t <= limit + 1e-6).T
    assert want.any() and not want.all()  # the instance discriminates
    np.testing.assert_array_equal(got.toarray() > 0, want)
    assert set(np.unique(got.data)) == {1.0}
    # A snap made once serves the same matrix.
    again = travel_coverage_matrix(
        g, cand_lon=clon, cand_lat=clat, lon=plon, lat=plat, limit_s=limit, snap=g.snap(plon, plat)
    )
    assert (again != got).nnz == 0


# Hand-built road along 45° N: nodes 1–5 at 70.00 … 70.04° E, 300 s per stretch both ways, except 4–5:
# one-way, 5 → 4 only. Demand points and candidates stand on the nodes (max_snap_m = 1 m: no walking).
NODE_LON = np.array([70.00, 70.01, 70.02, 70.03, 70.04])
NODE_LAT = np.full(5, 45.0)


def _line_graph():
    return RoadGraph.from_arrays(
        node_id=np.arange(1, 6),
        node_lon=NODE_LON,
        node_lat=NODE_LAT,
        edge_source=np.array([1, 2, 3, 4]),
        edge_target=np.array([2, 3, 4, 5]),
        edge_cost_s=np.array([300.0, 300.0, 300.0, INF]),
        edge_reverse_cost_s=np.array([300.0, 300.0, 300.0, 300.0]),
        off_network_kmh=5.0,
        max_snap_m=1.0,
    )


def test_siting_picks_the_hand_computed_best_sites():
    g = _line_graph()
    # Candidates at nodes 1, 3, 4, 5; demand at every node with children 5, 2, 1, 1, 20.
    cand = np.array([0, 2, 3, 4])
    children = np.array([5.0, 2.0, 1.0, 1.0, 20.0])
    m = travel_coverage_matrix(
        g, cand_lon=NODE_LON[cand], cand_lat=NODE_LAT[cand], lon=NODE_LON, lat=NODE_LAT, limit_s=300.0
    )
    # Within 300 s of the site (the family's trip to it): site 1 ← homes 1, 2; site 3 ← 2, 3, 4; site 4 ← 3, 4
    # and 5 (5 → 4 in exactly 300 s: the boundary counts); site 5 ← home 5 only (4 cannot drive to 5).
    expect = np.array(
        [
            [1, 1, 0, 0, 0],
            [0, 1, 1, 1, 0],
            [0, 0, 1, 1, 1],
            [0, 0, 0, 0, 1],
        ]
    )
    np.testing.assert_array_equal(m.toarray(), expect)
    # One site: node 4 covers 1 + 1 + 20 = 22 (site 5 covers 20, site 3 covers 4, site 1 covers 7).
    best1 = greedy_max_cover(m, children, k=1)
    assert [cand[j] + 1 for j in best1.selected] == [4] and best1.objective == 22.0
    # Two sites: {4, 1} covers everyone (29); the next best, {1, 5} or {3, 5}, 27 and 24.
    for result in (
        greedy_max_cover_certified(m, children, k=2),
        exact_max_cover(m, children, k=2),
    ):
        assert sorted(cand[j] + 1 for j in result.selected) == [1, 4]
        assert result.objective == 29.0 and result.optimal


def test_bad_input_is_refused():
    g = _line_graph()
    with pytest.raises(ValueError, match="same length"):
        travel_coverage_matrix(g, cand_lon=[70.0, 70.01], cand_lat=[45.0], lon=NODE_LON, lat=NODE_LAT, limit_s=60)
    with pytest.raises(ValueError, match="limit_s"):
        travel_coverage_matrix(g, cand_lon=[70.0], cand_lat=[45.0], lon=NODE_LON, lat=NODE_LAT, limit_s=-1)
