"""pgRouting against scipy: least travel times on a random grid network loaded through load_roads.

The same graph twice: pgRouting's pgr_dijkstraCost in the database (roads.selectors.road_route_seconds)
and scipy.sparse.csgraph.dijkstra on a CSR matrix built from roads.selectors.road_graph_arrays.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from roads.models import RoadEdge
from roads.selectors import road_graph_arrays, road_route_seconds
from roads.services import road_network_load
from tests.roads.conftest import geojson_write, line

pytestmark = pytest.mark.django_db

SIZE = 36  # 36 × 36 vertices: 2 × 36 × 35 = 2 520 grid edges before random removal
CLASSES = ["primary", "secondary", "tertiary", "residential", "track"]


def random_grid(seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    lon0, lat0, step = 68.0, 43.0, 0.004
    features = []
    for i in range(SIZE):
        for j in range(SIZE):
            here = (lon0 + i * step, lat0 + j * step)
            for di, dj in ((1, 0), (0, 1)):
                if i + di >= SIZE or j + dj >= SIZE or rng.random() < 0.05:
                    continue
                there = (lon0 + (i + di) * step, lat0 + (j + dj) * step)
                # A bend in some edges (the length is then not the straight one); a few one-way either way.
                coords = [here, there]
                if rng.random() < 0.3:
                    coords = [here, ((here[0] + there[0]) / 2 + step / 7, (here[1] + there[1]) / 2 + step / 5), there]
                oneway = rng.choice(["no", "no", "no", "yes", "-1"])
                features.append(
                    line(
                        coords,
                        highway=str(rng.choice(CLASSES)),
                        oneway=str(oneway),
                        maxspeed=str(int(rng.integers(20, 100))) if rng.random() < 0.2 else None,
                    )
                )
    # Extra parallel edges between the same vertices (a slower and a faster copy): the minimum must win.
    for k in range(20):
        a = (lon0 + k * step, lat0)
        b = (lon0 + (k + 1) * step, lat0)
        features.append(line([a, b], highway="motorway_link", oneway="no", maxspeed=None))
    return features


def scipy_seconds(g: dict, source_vertex: int) -> dict[int, float]:
    index = {int(v): k for k, v in enumerate(g["node_id"])}
    src = np.array([index[int(v)] for v in g["edge_source"]])
    dst = np.array([index[int(v)] for v in g["edge_target"]])
    open_back = np.isfinite(g["edge_reverse_cost_s"])
    rows = np.concatenate([src, dst[open_back]])
    cols = np.concatenate([dst, src[open_back]])
    cost = np.concatenate([g["edge_cost_s"], g["edge_reverse_cost_s"][open_back]])
    # csr_matrix would sum parallel edges: keep the cheapest of each (row, col) pair instead.
    order = np.lexsort((cost, cols, rows))
    rows, cols, cost = rows[order], cols[order], cost[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    n = len(g["node_id"])
    matrix = csr_matrix((cost[first], (rows[first], cols[first])), shape=(n, n))
    times = dijkstra(matrix, directed=True, indices=index[source_vertex])
    return {int(g["node_id"][k]): float(t) for k, t in enumerate(times) if np.isfinite(t)}


@pytest.mark.parametrize("seed", [1, 2])
def test_pgrouting_equals_scipy_on_a_random_grid(tmp_path, seed):
    path = geojson_write(tmp_path / f"grid{seed}.geojson", random_grid(seed))
    network = road_network_load(path=path, name=f"grid {seed}")
    assert network.edge_count > 2000
    g = road_graph_arrays(network=network)
    assert len(g["edge_source"]) == network.edge_count == RoadEdge.objects.filter(network=network).count()
    assert np.isinf(g["edge_reverse_cost_s"]).sum() > 100  # one-way edges are in play
    source = int(g["node_id"][len(g["node_id"]) // 2])
    expected = scipy_seconds(g, source)
    got = road_route_seconds(network=network, source_vertex=source, target_vertices=[int(v) for v in g["node_id"]])
    assert set(got) == set(expected)
    assert len(got) > 0.8 * len(g["node_id"])
    worst = max(abs(got[v] - expected[v]) for v in expected)
    assert worst < 1e-6, worst
