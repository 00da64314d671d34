"""Brute-force references for the travel-time engine's tests: all-pairs shortest times by Floyd–Warshall."""

from __future__ import annotations

import numpy as np


def all_pairs_seconds(n: int, src, tgt, cost, rcost) -> np.ndarray:
    """d[i, j]: least seconds from node i to node j over edges src → tgt (cost) and tgt → src (rcost; inf: closed)."""
    d = np.full((n, n), np.inf)
    np.fill_diagonal(d, 0)
    for a, b, c, r in zip(src, tgt, cost, rcost, strict=True):
        d[a, b] = min(d[a, b], c)
        d[b, a] = min(d[b, a], r)
    for k in range(n):
        d = np.minimum(d, d[:, k, None] + d[None, k, :])
    return d
