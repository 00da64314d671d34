"""Best new sites by travel time: the candidate × demand-point coverage matrix over a road network.

The matrix feeds the siting functions of layers.analysis.siting unchanged (greedy_max_cover,
greedy_max_cover_certified, exact_max_cover): a candidate covers a demand point when the point
reaches the candidate within `limit_s` seconds, measured as the travel engine measures it
(layers.analysis.travel: from the point to the site, the family's trip, over the best of the
point's snap nodes or the straight off-network line; a point reached in exactly `limit_s` is
covered). Coordinates are EPSG:4326 degrees; times seconds.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from layers.analysis.travel import PAIR_BATCH, RoadGraph, Snap, catchment_pairs_time


def travel_coverage_matrix(
    graph: RoadGraph,
    *,
    cand_lon: np.ndarray,
    cand_lat: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    limit_s: float,
    snap: Snap | None = None,
    batch: int = PAIR_BATCH,
) -> sparse.csr_matrix:
    """Boolean (candidates × points) CSR matrix of float 1.0: row j, column i when point i reaches
    candidate j within `limit_s` seconds (the same direction and boundary as catchment_pairs_time).

    One limited Dijkstra per candidate over the reversed graph (candidates in batches of `batch`,
    see catchment_pairs_time), so the cost grows with the candidates' reach, not with candidates ×
    points. `snap`: graph.snap(lon, lat) when already made (it serves every set of candidates).
    """
    cand_lon = np.asarray(cand_lon, dtype=np.float64).ravel()
    cand_lat = np.asarray(cand_lat, dtype=np.float64).ravel()
    if cand_lon.size != cand_lat.size:
        raise ValueError("cand_lon and cand_lat must have the same length")
    if not limit_s >= 0:
        raise ValueError("limit_s must be zero or more seconds")
    n_points = np.asarray(lon).size
    p, f, _t = catchment_pairs_time(
        graph,
        np.column_stack([cand_lon, cand_lat]),
        lon=lon,
        lat=lat,
        limit_s=limit_s,
        batch=batch,
        snap=snap,
    )
    # Pairs are unique (catchment_pairs_time keeps one per point and candidate): no duplicate summing.
    return sparse.csr_matrix((np.ones(p.size), (f, p)), shape=(cand_lon.size, n_points))
