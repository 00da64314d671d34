"""Population estimates for places without a figure: pure maths, no database (layers.settlement_services
gathers the inputs and stores the results).

Method (also in the README, "Settlements and their population"):

1. The unit is the place's district when the district has an official total population figure, else its
   region (the region's total less the totals of its districts that have their own figure).
2. The remainder R = unit total − Σ population of the unit's places that have a figure (official, or an
   OpenStreetMap `population` tag), never below zero.
3. R is spread over the unit's places without a figure in proportion to a weight per settlement class:
   the median population of the tagged places of that class in the same region when at least
   MIN_SAMPLES are tagged there, else the median of that class in the whole country, else
   DEFAULT_WEIGHTS. A median rather than a mean, because a few large tagged places (a district centre
   tagged "village") would otherwise make every hamlet look like a town.
4. Whole persons by the largest-remainder method, so that the estimates of a unit add up to R exactly.

Children are not estimated here: a place with an estimated total has no child count, and the analyses
take its children as the official child share of its district or region, like any place without one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from statistics import median

# Tagged places of a class needed in a region before the region's own median is trusted.
MIN_SAMPLES = 5

# Fallback weights (persons) when neither the region nor the country has MIN_SAMPLES tagged places of the
# class: the middle of OpenStreetMap's definitions of the classes (wiki "Key:place": city > 100,000; town
# 10,000–100,000; village up to ~10,000, typically hundreds; hamlet < ~200; isolated dwelling 1–2
# households), close to the national medians of the bundled layer (271,006; 11,112; 816; 126; 10).
DEFAULT_WEIGHTS: dict[str, float] = {
    "city": 250_000.0,
    "town": 12_000.0,
    "village": 800.0,
    "hamlet": 120.0,
    "isolated_dwelling": 8.0,
    "": 120.0,  # a place without a class is taken as a hamlet: the commonest small place
}


def class_medians(samples: Iterable[tuple[str, int]]) -> dict[str, tuple[float, int]]:
    """{class: (median population, number of samples)} of (class, population) pairs."""
    by_class: dict[str, list[int]] = {}
    for place_class, population in samples:
        by_class.setdefault(place_class, []).append(population)
    return {c: (float(median(v)), len(v)) for c, v in by_class.items()}


def class_weights(
    *, regional: dict[str, tuple[float, int]], national: dict[str, tuple[float, int]]
) -> dict[str, tuple[float, str]]:
    """{class: (weight, where it comes from: "region" | "country" | "default")} for every known class."""
    out: dict[str, tuple[float, str]] = {}
    for place_class, default in DEFAULT_WEIGHTS.items():
        reg, nat = regional.get(place_class), national.get(place_class)
        if reg and reg[1] >= MIN_SAMPLES and reg[0] > 0:
            out[place_class] = (reg[0], "region")
        elif nat and nat[1] >= MIN_SAMPLES and nat[0] > 0:
            out[place_class] = (nat[0], "country")
        else:
            out[place_class] = (default, "default")
    return out


def apportion(*, total: int, weights: Sequence[float]) -> list[int]:
    """Whole shares of `total` in proportion to `weights` that add up to `total` exactly (largest remainder).

    Ties of the remainders go to the earlier item, so the result does not depend on anything but the order.
    """
    if total < 0:
        raise ValueError("total must be ≥ 0")
    if not weights:
        return []
    if any(w < 0 or not math.isfinite(w) for w in weights):
        raise ValueError("weights must be finite and ≥ 0")
    weight_sum = math.fsum(weights)
    if weight_sum == 0:
        weights, weight_sum = [1.0] * len(weights), float(len(weights))
    exact = [total * w / weight_sum for w in weights]
    shares = [math.floor(x) for x in exact]
    left = total - sum(shares)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - shares[i]), i))
    for i in order[:left]:
        shares[i] += 1
    return shares


def unit_remainder(*, total: int, figured: Iterable[int]) -> int:
    """The unit's official total less its places with a figure, never below zero (persons)."""
    return max(total - sum(figured), 0)
