"""The run form's data as a planner fills it for a distance coverage run: tests change what they test."""

RUN_FORM = {
    "kind": "coverage",
    "demand_source": "settlements",
    "indicator": "children_0_17",
    "as_of": "2025-12-31",
    "scope": "all",
    "purpose": "recreation",
    "health_urban_m": 5000,
    "health_rural_m": 30000,
    "creative_urban_m": 3000,
    "creative_rural_m": 15000,
    "k": 5,
    "candidates": "settlements",
    "site_kind": "health_centre",
    "method": "greedy",
    "hex_size_m": 5000,
}
