"""Best new sites: the maximal covering location problem (Church & ReVelle 1974).

Choose k candidate sites that together cover the most (so far uncovered) children.
The greedy algorithm reaches at least (1 − 1/e) ≈ 63.2 % of the optimum for this
monotone submodular objective (Nemhauser, Wolsey & Fisher 1978); we also report
the instance's own certificate: OPT ≤ f(S_i) + sum of the k largest marginal
gains after any greedy step i (the "online bound", Leskovec et al. 2007), which is
usually far tighter, and the LP relaxation's optimum, whichever is lower. An exact
MILP (scipy.optimize.milp, HiGHS) is optional.
Distances are true metres (ECEF chords, see geodesy).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.spatial import cKDTree

from layers.analysis.geodesy import BOUNDARY_TOLERANCE_M, chord_to_metres, lonlat_to_ecef, metres_to_chord

GREEDY_BOUND = 1 - 1 / np.e
# Two coverage values closer than this (relative) are the same value: the solver's sums of float children
# and the greedy's differ only by the order of addition. Also HiGHS's relative MIP gap for "optimal".
REL_TOLERANCE = 1e-9


@dataclass
class SitingResult:
    selected: list[int]  # candidate indices in the order chosen
    marginal_gain: list[float]  # children added by each chosen site, in order
    objective: float  # children covered by the chosen set
    upper_bound: float  # proven upper bound on the optimum for this instance
    solo_gain: np.ndarray  # children each candidate would cover on its own (ranking)
    method: str
    optimal: bool = False

    @property
    def certified_ratio(self) -> float:
        """objective / upper bound: the share of the optimum the answer is proven to reach."""
        return 1.0 if self.upper_bound <= 0 else self.objective / self.upper_bound


def coverage_matrix(
    *,
    cand_lon: np.ndarray,
    cand_lat: np.ndarray,
    cand_radius_urban: np.ndarray,
    cand_radius_rural: np.ndarray,
    dem_lon: np.ndarray,
    dem_lat: np.ndarray,
    dem_urban: np.ndarray,
) -> sparse.csr_matrix:
    """Boolean (candidates × demand points) matrix: candidate j covers point i when d ≤ r_j(urban_i)."""
    n_c, n_d = len(cand_lon), len(dem_lon)
    if not n_c or not n_d:
        return sparse.csr_matrix((n_c, n_d), dtype=np.float64)
    cxyz = lonlat_to_ecef(cand_lon, cand_lat)
    dxyz = lonlat_to_ecef(dem_lon, dem_lat)
    rmax = float(max(np.max(cand_radius_urban), np.max(cand_radius_rural)))
    pairs = cKDTree(cxyz).sparse_distance_matrix(cKDTree(dxyz), metres_to_chord(rmax + 1.0), output_type="ndarray")
    c = pairs["i"].astype(np.int64)
    d = pairs["j"].astype(np.int64)
    radius = np.where(dem_urban[d], cand_radius_urban[c], cand_radius_rural[c])
    ok = chord_to_metres(pairs["v"]) <= radius + BOUNDARY_TOLERANCE_M
    m = sparse.csr_matrix((np.ones(int(ok.sum())), (c[ok], d[ok])), shape=(n_c, n_d))
    return m


def greedy_max_cover(matrix: sparse.csr_matrix, weights: np.ndarray, *, k: int) -> SitingResult:
    """Greedy maximal covering: repeatedly add the site covering the most still-uncovered weight."""
    w = np.asarray(weights, dtype=np.float64).copy()
    solo = matrix @ w
    selected: list[int] = []
    gains: list[float] = []
    objective = 0.0
    upper = float(np.sort(solo)[::-1][:k].sum())
    for _ in range(min(k, matrix.shape[0])):
        g = matrix @ w
        if selected:
            g[selected] = -1.0
        upper = min(upper, objective + float(np.sort(np.maximum(g, 0))[::-1][:k].sum()))
        j = int(np.argmax(g))
        if g[j] <= 0:
            break
        selected.append(j)
        gains.append(float(g[j]))
        objective += float(g[j])
        w[matrix.indices[matrix.indptr[j] : matrix.indptr[j + 1]]] = 0.0
    upper = max(upper, objective)
    return SitingResult(
        selected=selected, marginal_gain=gains, objective=objective, upper_bound=upper, solo_gain=solo, method="greedy"
    )


def _formulation(matrix: sparse.csr_matrix, weights: np.ndarray, *, k: int) -> tuple:
    """The MCLP over demand groups (points with the same set of covering candidates merged).

    Variables [x_j (candidates), y_g (groups)]; maximise Σ w_g y_g, i.e. minimise `cost` @ v, under
    `constraints`: y_g − Σ_{j covers g} x_j ≤ 0 for each group and Σ x_j = k. Returns (cost, constraints,
    number of candidates, number of groups).
    """
    n_c = matrix.shape[0]
    k = min(k, n_c)
    csc = matrix.tocsc()
    w = np.asarray(weights, dtype=np.float64)
    covered_any = np.diff(csc.indptr) > 0
    cols = np.nonzero(covered_any & (w > 0))[0]
    groups: dict[tuple, float] = {}
    for i in cols:
        key = tuple(csc.indices[csc.indptr[i] : csc.indptr[i + 1]])
        groups[key] = groups.get(key, 0.0) + w[i]
    keys = list(groups)
    n_y = len(keys)
    gw = np.array([groups[key] for key in keys])
    # Rows: y_g − Σ x_j ≤ 0 for each group g; last row: Σ x_j = k.
    r_idx = np.concatenate([np.repeat(np.arange(n_y), [len(key) for key in keys]), np.arange(n_y)]).astype(np.int64)
    c_idx = np.concatenate([np.fromiter((j for key in keys for j in key), dtype=np.int64), n_c + np.arange(n_y)])
    vals = np.concatenate([-np.ones(r_idx.size - n_y), np.ones(n_y)])
    a_cover = sparse.csr_matrix((vals, (r_idx, c_idx)), shape=(n_y, n_c + n_y))
    a_card = sparse.csr_matrix(np.concatenate([np.ones(n_c), np.zeros(n_y)])[None, :])
    cost = np.concatenate([np.zeros(n_c), -gw])
    constraints = [LinearConstraint(a_cover, -np.inf, 0.0), LinearConstraint(a_card, k, k)]
    return cost, constraints, n_c, n_y


def same_value(a: float, b: float) -> bool:
    """Equal within REL_TOLERANCE of the larger (children are float sums: the order of addition differs)."""
    return abs(a - b) <= REL_TOLERANCE * max(abs(a), abs(b), 1.0)


def lp_upper_bound(matrix: sparse.csr_matrix, weights: np.ndarray, *, k: int, time_limit_s: float = 60.0) -> float:
    """The LP relaxation's optimum (0 ≤ x ≤ 1), an upper bound on the best k sites' coverage (children).

    Solved by HiGHS (scipy.optimize.milp with no integer variables); inf when it did not finish.
    """
    cost, constraints, n_c, n_y = _formulation(matrix, weights, k=k)
    if not n_y:
        return 0.0
    result = milp(cost, constraints=constraints, bounds=Bounds(0, 1), options={"time_limit": time_limit_s})
    return float(-result.fun) if result.status == 0 and result.fun is not None else np.inf


def _with_bound(result: SitingResult, bound: float) -> SitingResult:
    """`result` with the tighter of its own and `bound` as upper bound; optimal when they meet (within tolerance)."""
    upper = max(min(result.upper_bound, bound), result.objective)
    if same_value(result.objective, upper):
        return replace(result, upper_bound=result.objective, optimal=True)
    return replace(result, upper_bound=upper)


def greedy_max_cover_certified(
    matrix: sparse.csr_matrix, weights: np.ndarray, *, k: int, time_limit_s: float = 60.0
) -> SitingResult:
    """Greedy maximal covering, certified by the best bound at hand: the greedy's online bound or the LP
    relaxation's optimum, whichever is lower. A greedy answer the bound proves optimal says so (ratio 1)."""
    greedy = greedy_max_cover(matrix, weights, k=k)
    return _with_bound(greedy, lp_upper_bound(matrix, weights, k=k, time_limit_s=time_limit_s))


def _in_gain_order(matrix: sparse.csr_matrix, weights: np.ndarray, chosen: np.ndarray) -> tuple[list, list]:
    """The chosen sites ordered by marginal gain (so the listing reads like the greedy one), and the gains."""
    w_left = np.asarray(weights, dtype=np.float64).copy()
    order: list[int] = []
    gains: list[float] = []
    remaining = [int(j) for j in chosen]
    while remaining:
        g = matrix[remaining] @ w_left
        pick = int(np.argmax(g))
        j = remaining.pop(pick)
        order.append(j)
        gains.append(float(g[pick]))
        w_left[matrix.indices[matrix.indptr[j] : matrix.indptr[j + 1]]] = 0.0
    return order, gains


def exact_max_cover(
    matrix: sparse.csr_matrix, weights: np.ndarray, *, k: int, time_limit_s: float = 60.0
) -> SitingResult:
    """Exact MCLP as a MILP solved by HiGHS (scipy.optimize.milp), to a relative gap of REL_TOLERANCE.

    max Σ w_i y_i  s.t.  y_i ≤ Σ_{j covers i} x_j,  Σ x_j = k,  x ∈ {0,1}, 0 ≤ y ≤ 1.
    Demand points with the same set of covering candidates are merged first. The value of the chosen
    set is recomputed as the greedy's is; when it equals the greedy's within REL_TOLERANCE the two are
    the same answer, and the method stays "exact". Only when the time limit stops HiGHS with a set worse
    than the greedy's is the greedy set returned (method "greedy"), certified by HiGHS's dual bound.
    """
    greedy = greedy_max_cover(matrix, weights, k=k)
    cost, constraints, n_c, n_y = _formulation(matrix, weights, k=k)
    if not n_y:  # nothing left to cover: the empty gain is the optimum
        return replace(greedy, method="exact", optimal=True, upper_bound=greedy.objective)
    result = milp(
        cost,
        constraints=constraints,
        integrality=np.concatenate([np.ones(n_c), np.zeros(n_y)]),
        bounds=Bounds(0, 1),
        options={"time_limit": time_limit_s, "mip_rel_gap": REL_TOLERANCE},
    )
    dual = getattr(result, "mip_dual_bound", None)
    bound = float(-dual) if dual is not None and np.isfinite(dual) else np.inf
    if result.x is None:
        return _with_bound(greedy, bound)
    order, gains = _in_gain_order(matrix, weights, np.nonzero(result.x[:n_c] > 0.5)[0])
    objective = float(sum(gains))
    if objective < greedy.objective and not same_value(objective, greedy.objective):
        return _with_bound(greedy, bound)
    exact = SitingResult(
        selected=order,
        marginal_gain=gains,
        objective=objective,
        upper_bound=max(min(bound, greedy.upper_bound), objective),
        solo_gain=greedy.solo_gain,
        method="exact",
    )
    if result.status == 0:  # proven optimal (within the relative gap REL_TOLERANCE)
        return replace(exact, upper_bound=objective, optimal=True)
    return _with_bound(exact, bound)
