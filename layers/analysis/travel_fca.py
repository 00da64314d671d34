"""Two-step floating catchment area (2SFCA) by travel time, with an optional Gaussian distance decay.

Pure code over reach pairs (point i, facility j, seconds t_ij) as layers.analysis.travel.catchment_pairs_time
returns them: home → facility times in seconds, every pair with t_ij ≤ T (the catchment, seconds; a pair at
exactly T is inside). Children and places are plain numbers; no coordinates are read here.

    Step 1  R_j = S_j / Σ_{i: t_ij ≤ T} G(t_ij) · P_i        (places per child of facility j; 0 when nobody reaches it)
    Step 2  A_i = 1000 · Σ_{j: t_ij ≤ T} G(t_ij) · R_j        (places per 1 000 children of point i)

S_j: places of facility j; P_i: children of point i. The weight G is the run's distance decay:

- "none" (the original 2SFCA, Luo & Wang 2003): G(t) = 1 inside the catchment;
- "gaussian" (Gaussian 2SFCA, Dai 2010, Health & Place 16(5), 1038–1052; the kernel of Wang's 2012 review of
  the 2SFCA family): G(t) = (exp(−½ (t/T)²) − exp(−½)) / (1 − exp(−½)) for t ≤ T: 1 at the door, falling
  smoothly to 0 at the catchment's edge (the normalisation makes the kernel meet zero there instead of jumping).

With the same G in both steps the places are conserved: Σ_i P_i · A_i = 1000 · Σ_j S_j over the facilities that
some child reaches with a weight above zero. A point with no facility within T has no access ("without access");
with the Gaussian decay a point reached only at exactly T is within the catchment but its weight is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layers.analysis.travel import TIME_TOLERANCE_S

DECAYS = ("none", "gaussian")
_E_HALF = float(np.exp(-0.5))


def decay_weight(seconds: np.ndarray, *, limit_s: float, decay: str) -> np.ndarray:
    """G(t) of the module docstring for times in seconds within the catchment `limit_s` (0 beyond it)."""
    t = np.asarray(seconds, dtype=np.float64)
    if decay not in DECAYS:
        raise ValueError(f"decay must be one of {', '.join(DECAYS)}")
    if not limit_s > 0:
        raise ValueError("limit_s must be a positive number of seconds")
    inside = t <= limit_s + TIME_TOLERANCE_S
    if decay == "none":
        return inside.astype(np.float64)
    x = np.minimum(t, limit_s) / limit_s  # a time within the boundary tolerance counts as exactly T
    return np.where(inside, (np.exp(-0.5 * x * x) - _E_HALF) / (1.0 - _E_HALF), 0.0)


@dataclass
class TravelFcaResult:
    """Per point: access A_i (places per 1 000 children) and whether some facility lies within the catchment;
    per facility: weighted demand Σ G·P and the ratio R_j (places per child)."""

    access: np.ndarray
    reached: np.ndarray
    facility_demand: np.ndarray
    facility_ratio: np.ndarray


def travel_fca(
    *,
    point_idx: np.ndarray,
    fac_idx: np.ndarray,
    seconds: np.ndarray,
    children: np.ndarray,
    places: np.ndarray,
    limit_s: float,
    decay: str = "none",
) -> TravelFcaResult:
    """2SFCA of the module docstring over the pairs (point_idx[k], fac_idx[k], seconds[k]); pairs beyond
    `limit_s` are ignored. `children` per point (already scaled), `places` per facility; one pair per
    point and facility (as catchment_pairs_time returns them)."""
    p = np.asarray(point_idx, dtype=np.int64)
    f = np.asarray(fac_idx, dtype=np.int64)
    t = np.asarray(seconds, dtype=np.float64)
    children = np.asarray(children, dtype=np.float64)
    places = np.asarray(places, dtype=np.float64)
    if not (p.size == f.size == t.size):
        raise ValueError("point_idx, fac_idx and seconds must have the same length")
    g = decay_weight(t, limit_s=limit_s, decay=decay)
    keep = t <= limit_s + TIME_TOLERANCE_S
    p, f, g = p[keep], f[keep], g[keep]
    demand = np.bincount(f, weights=g * children[p], minlength=places.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(demand > 0, places / demand, 0.0)
    access = 1000.0 * np.bincount(p, weights=g * ratio[f], minlength=children.size)
    reached = np.bincount(p, minlength=children.size) > 0
    return TravelFcaResult(access=access, reached=reached, facility_demand=demand, facility_ratio=ratio)
