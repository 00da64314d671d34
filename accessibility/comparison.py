"""Two runs side by side (a run and its repeat with one input changed): the parameters that differ, the
headline numbers of children of both and their difference, and the same numbers per region.

Numbers are children (floats: raster cells hold fractional people) and percentages of children; a number a
run did not compute (`served` of a run made before capacity was counted, say) is None, and so is any
difference with it. The difference is always second run − first run.
"""

from __future__ import annotations

from accessibility import selectors
from accessibility.models import AnalysisRun, ZoneResult

# The headline of a coverage-type run (the summary keys of issue 17), in the order the pages show them.
HEADLINE_KEYS = (
    "children_total",
    "children_served",
    "children_over_capacity",
    "children_not_covered",
    "children_within_reach",
    "covered_within_reach_pct",
    "served_pct",
)
ZONE_KEYS = ("children", "served", "over_capacity", "not_covered", "within_reach", "within_reach_pct")


def _scenarios(run: AnalysisRun) -> list[str]:
    return ["before", "after"] if run.kind == AnalysisRun.Kind.ROADMAP else ["current"]


def _number(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else b - a


def summary_headline(summary: dict) -> dict[str, float | None]:
    """The headline numbers of one scenario's summary. Runs without the capacity keys fall back to the old
    ones: `children` is the total, `covered` the children within reach whatever the capacity, `covered_pct`
    its share; served and over capacity are then not computed (None)."""
    total = _number(summary.get("children_total", summary.get("children")))
    served = _number(summary.get("children_served"))
    over = _number(summary.get("children_over_capacity"))
    if served is not None and over is not None:
        within = served + over
    else:
        within = _number(summary.get("covered"))
    not_covered = _number(summary.get("children_not_covered"))
    if not_covered is None and total is not None and within is not None:
        not_covered = max(total - within, 0.0)
    within_pct = _number(summary.get("covered_within_reach_pct", summary.get("covered_pct")))
    served_pct = _number(summary.get("served_pct"))
    if served_pct is None and served is not None and total:
        served_pct = 100.0 * served / total
    return {
        "children_total": total,
        "children_served": served,
        "children_over_capacity": over,
        "children_not_covered": not_covered,
        "children_within_reach": within,
        "covered_within_reach_pct": within_pct,
        "served_pct": served_pct,
    }


def zone_numbers(row: ZoneResult | None) -> dict[str, float | None]:
    """The numbers of one zone row (None for a zone the run has no row of)."""
    if row is None:
        return dict.fromkeys(ZONE_KEYS)
    return {
        "children": row.children,
        "served": row.served,
        "over_capacity": row.over_capacity,
        "not_covered": row.not_covered,
        "within_reach": row.covered,
        "within_reach_pct": row.covered_pct,
    }


def _flatten(value, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict) and value:
        out: dict[str, object] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def parameters_diff(a: dict, b: dict) -> list[dict]:
    """The parameters (dotted names, e.g. "radii.art_school.urban_m") whose values differ, sorted by name;
    a parameter one run lacks is None there."""
    flat_a, flat_b = _flatten(a), _flatten(b)
    names = sorted(set(flat_a) | set(flat_b))
    return [{"name": n, "a": flat_a.get(n), "b": flat_b.get(n)} for n in names if flat_a.get(n) != flat_b.get(n)]


def _zone_key(row: ZoneResult) -> tuple:
    """Regions first (by KATO code), then the outside-every-district row, then the national total."""
    if row.region_id is not None:
        return (0, row.region.kato)
    return (1, "") if row.outside else (2, "")


def _zones(*, user, run: AnalysisRun, scenario: str) -> dict[tuple, ZoneResult]:
    rows = selectors.zone_results(user=user, run=run, scenario=scenario, level="all").filter(district__isnull=True)
    return {_zone_key(r): r for r in rows}


def _pairs(keys, a: dict, b: dict) -> list[dict]:
    return [{"key": k, "a": a[k], "b": b[k], "difference": _difference(a[k], b[k])} for k in keys]


def run_comparison(*, user, a: AnalysisRun, b: AnalysisRun) -> dict:
    """Runs `a` and `b` side by side, their zone rows scoped to `user` (akimat users: their region's only).

    {"a": run, "b": run, "parameters": [{"name", "a", "b"}], "scenarios": [{"scenario", "headline":
    [{"key", "a", "b", "difference"}], "zones": [{"region", "outside", "national", "numbers":
    [{"key", "a", "b", "difference"}]}]}]}. Scenarios are those of `b` (roadmap: before and after).
    """
    differing = parameters_diff(a.parameters, b.parameters)
    if a.kind != b.kind:
        differing.insert(0, {"name": "analysis", "a": a.kind, "b": b.kind})
    scenarios = []
    for scenario in _scenarios(b):
        sum_a = a.summary.get(scenario, {}) if a.kind == AnalysisRun.Kind.ROADMAP else a.summary
        sum_b = b.summary.get(scenario, {}) if b.kind == AnalysisRun.Kind.ROADMAP else b.summary
        zones_a, zones_b = _zones(user=user, run=a, scenario=scenario), _zones(user=user, run=b, scenario=scenario)
        zones = []
        for key in sorted(set(zones_a) | set(zones_b)):
            row_a, row_b = zones_a.get(key), zones_b.get(key)
            any_row = row_a or row_b
            zones.append(
                {
                    "region": any_row.region,
                    "outside": key[0] == 1,
                    "national": key[0] == 2,
                    "numbers": _pairs(ZONE_KEYS, zone_numbers(row_a), zone_numbers(row_b)),
                }
            )
        scenarios.append(
            {
                "scenario": scenario,
                "headline": _pairs(HEADLINE_KEYS, summary_headline(sum_a or {}), summary_headline(sum_b or {})),
                "zones": zones,
            }
        )
    return {"a": a, "b": b, "parameters": differing, "scenarios": scenarios}
