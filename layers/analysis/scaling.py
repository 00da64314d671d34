"""Rescaling a population raster to official totals per region.

Raster-derived children are multiplied, region by region, by
official_total / raster_total, so that each region adds up to its official
figure while the raster still decides where inside the region children live.
Zones (districts) inherit their region's factor; children outside every zone
and regions without an official figure keep factor 1.
"""

from __future__ import annotations

import numpy as np


def zone_factors(
    *, raw_by_slot: np.ndarray, zone_region: np.ndarray, official_by_region: dict[int, float]
) -> tuple[np.ndarray, dict[int, dict]]:
    """Factor per zone slot (last slot = outside zones) and a report per region.

    `zone_region[i]` is the region key of zone i; `official_by_region` maps region
    keys to official child totals. Report: {region: {"raster": x, "official": y, "factor": f}}.
    """
    raw_by_slot = np.asarray(raw_by_slot, dtype=np.float64)
    zone_region = np.asarray(zone_region)
    factors = np.ones(raw_by_slot.size)
    report: dict[int, dict] = {}
    for region, official in official_by_region.items():
        zones = np.nonzero(zone_region == region)[0]
        raster_total = float(raw_by_slot[zones].sum())
        if raster_total <= 0:
            report[region] = {"raster": raster_total, "official": float(official), "factor": None}
            continue
        factor = float(official) / raster_total
        factors[zones] = factor
        report[region] = {"raster": raster_total, "official": float(official), "factor": factor}
    return factors, report
