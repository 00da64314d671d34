"""Rescaling a population raster to official totals per district and region.

Raster-derived children are multiplied so that each district with its own official figure adds up to
it, and the other districts of its region together add up to the rest of the region (the region's
official figure minus the districts' figures, never below 0), while the raster still decides where
inside them children live. Without district figures every district takes its region's factor
official_total / raster_total. Children outside every zone, and zones of a region without an official
figure (and no figure of their own), keep factor 1.
"""

from __future__ import annotations

import numpy as np


def zone_factors(
    *,
    raw_by_slot: np.ndarray,
    zone_region: np.ndarray,
    official_by_region: dict[int, float],
    official_by_zone: dict[int, float] | None = None,
) -> tuple[np.ndarray, dict[int, dict]]:
    """Factor per zone slot (last slot = outside zones) and a report per region.

    `zone_region[i]` is the region key of zone i; `official_by_region` maps region keys to official
    child totals, `official_by_zone` zone slots to their own official figure. Report:
    {region: {"raster": x, "official": y or None, "factor": overall factor or None}}, and where some of
    the region's zones have their own figure also "districts" (how many), "district_official" (their
    sum), "remainder" (the rest of the region, None without a region figure) and "exceeded" (the
    districts' figures exceed the region's).
    """
    raw_by_slot = np.asarray(raw_by_slot, dtype=np.float64)
    zone_region = np.asarray(zone_region)
    official_by_zone = official_by_zone or {}
    factors = np.ones(raw_by_slot.size)
    report: dict[int, dict] = {}
    regions = set(official_by_region) | {int(zone_region[i]) for i in official_by_zone}
    for region in regions:
        zones = np.nonzero(zone_region == region)[0]
        own = np.array([i for i in zones if i in official_by_zone], dtype=np.int64)
        rest = np.array([i for i in zones if i not in official_by_zone], dtype=np.int64)
        raster_total = float(raw_by_slot[zones].sum())
        for i in own:
            if raw_by_slot[i] > 0:
                factors[i] = float(official_by_zone[int(i)]) / float(raw_by_slot[i])
        own_sum = float(sum(official_by_zone[int(i)] for i in own))
        official = official_by_region.get(region)
        remainder = None
        if official is not None and rest.size:
            remainder = max(0.0, float(official) - own_sum)
            raw_rest = float(raw_by_slot[rest].sum())
            if raw_rest > 0:
                factors[rest] = remainder / raw_rest
        scaled = float((raw_by_slot[zones] * factors[zones]).sum())
        report[region] = {
            "raster": raster_total,
            "official": None if official is None else float(official),
            "factor": scaled / raster_total if raster_total > 0 else None,
        }
        if own.size:
            report[region].update(
                districts=int(own.size),
                district_official=own_sum,
                remainder=remainder,
                exceeded=official is not None and own_sum > float(official),
            )
    return factors, report
