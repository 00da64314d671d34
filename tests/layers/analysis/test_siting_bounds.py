"""Best-sites selection reports what it proved: exact and optimal when the MILP's value equals the greedy one
(within the relative tolerance), and the greedy's certificate from the best bound at hand (hand-made instances)."""

import itertools
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import sparse

from layers.analysis import siting
from layers.analysis.siting import (
    REL_TOLERANCE,
    exact_max_cover,
    greedy_max_cover,
    greedy_max_cover_certified,
    lp_upper_bound,
    same_value,
)

# Candidates A = {1, 2, 3, 4}, B = {0, 1, 3}, C = {1}, D = {0, 2, 4}; k = 2.
# Greedy: A (2 + 2 + 1 + 5 = 10), then B or D (+1) = 11 = every child, so optimal. Its online bound is
# 10 + 1 + 1 = 12 (ratio 0.917); the LP relaxation's optimum is 11 (it cannot exceed the children).
LOOSE = np.array([[0, 1, 1, 1, 1], [1, 1, 0, 1, 0], [0, 1, 0, 0, 0], [1, 0, 1, 0, 1]], dtype=float)
LOOSE_W = np.array([1.0, 2.0, 2.0, 1.0, 5.0])


def _best(matrix: np.ndarray, w: np.ndarray, k: int) -> float:
    return max(float(w[matrix[list(c)].sum(axis=0) > 0].sum()) for c in itertools.combinations(range(len(matrix)), k))


def test_greedy_online_bound_alone_is_loose_on_the_instance():
    res = greedy_max_cover(sparse.csr_matrix(LOOSE), LOOSE_W, k=2)
    assert res.objective == 11.0 == _best(LOOSE, LOOSE_W, 2)
    assert res.upper_bound == 12.0 and not res.optimal


def test_lp_bound_certifies_an_optimal_greedy_answer_as_one():
    m = sparse.csr_matrix(LOOSE)
    assert lp_upper_bound(m, LOOSE_W, k=2) == pytest.approx(11.0, rel=1e-9)
    res = greedy_max_cover_certified(m, LOOSE_W, k=2)
    assert res.method == "greedy" and res.optimal
    assert res.objective == 11.0 and res.upper_bound == 11.0 and res.certified_ratio == 1.0


def test_certified_bound_never_falls_below_the_optimum():
    """A = {0, 1}, B = {1, 2}, C = {0, 2}, unit weights, k = 1: greedy covers 2; the LP relaxation takes
    x = 1/3 each and y = 2/3 each, worth 2 = the optimum as well; with k = 2 every child is covered (3)."""
    m = sparse.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=float))
    w = np.ones(3)
    one = greedy_max_cover_certified(m, w, k=1)
    assert one.objective == 2.0 and one.certified_ratio == 1.0 and one.optimal
    # A weighted instance where greedy is not optimal: the bound must stay at or above the optimum.
    dense = np.array([[1, 1, 1, 0, 0], [1, 1, 0, 1, 0], [0, 0, 1, 0, 1]], dtype=float)
    w2 = np.array([3.0, 3.0, 2.0, 2.5, 2.5])
    res = greedy_max_cover_certified(sparse.csr_matrix(dense), w2, k=2)
    best = _best(dense, w2, 2)
    assert res.upper_bound >= best - 1e-9
    assert res.optimal == same_value(res.objective, best)


def test_exact_reports_exact_and_optimal_when_values_differ_by_rounding_only(monkeypatch):
    """A = {0, 1} is worth 0.1 + 0.2 = 0.30000000000000004, B = {2} 0.3; k = 1. Greedy takes A. A solver that
    returns B (value 0.3, a hair below the greedy's) found an equal optimum: the method is exact and optimal."""
    m = sparse.csr_matrix(np.array([[1, 1, 0], [0, 0, 1]], dtype=float))
    w = np.array([0.1, 0.2, 0.3])
    assert greedy_max_cover(m, w, k=1).objective == 0.1 + 0.2 > 0.3

    def solver_choosing_b(cost, **_kwargs):
        x = np.zeros(cost.size)
        x[1] = 1.0  # candidate B
        x[2 + 1] = 1.0  # its group (the groups follow the 2 candidates; group 1 is point 2)
        return SimpleNamespace(x=x, fun=-0.3, status=0, mip_dual_bound=-0.3)

    monkeypatch.setattr(siting, "milp", solver_choosing_b)
    res = exact_max_cover(m, w, k=1)
    assert res.method == "exact" and res.optimal
    assert res.selected == [1] and res.objective == 0.3 and res.certified_ratio == 1.0


def test_exact_with_real_solver_on_the_rounding_instance():
    m = sparse.csr_matrix(np.array([[1, 1, 0], [0, 0, 1]], dtype=float))
    res = exact_max_cover(m, np.array([0.1, 0.2, 0.3]), k=1)
    assert res.method == "exact" and res.optimal and res.certified_ratio == 1.0
    assert res.objective == pytest.approx(0.3, rel=REL_TOLERANCE)


def test_exact_keeps_the_greedy_set_when_a_stopped_solver_found_worse(monkeypatch):
    """A time-limited solver whose incumbent is worse than the greedy: the greedy set is returned, labelled
    greedy, not optimal, with the solver's dual bound as certificate when it is the tighter bound."""
    m = sparse.csr_matrix(LOOSE)

    def stopped(cost, **_kwargs):
        x = np.zeros(cost.size)
        x[2] = 1.0  # C alone: worth 2
        return SimpleNamespace(x=x, fun=-2.0, status=1, mip_dual_bound=-11.5)

    monkeypatch.setattr(siting, "milp", stopped)
    res = exact_max_cover(m, LOOSE_W, k=2)
    assert res.method == "greedy" and not res.optimal
    assert res.objective == 11.0 and res.upper_bound == 11.5


def test_same_value_is_relative():
    assert same_value(1e6, 1e6 * (1 + 0.5 * REL_TOLERANCE))
    assert not same_value(1e6, 1e6 * (1 + 2 * REL_TOLERANCE))
    assert not same_value(10.0, 10.5)
