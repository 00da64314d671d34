"""The capacity-first headline of a coverage-type run, read from its stored summary (no ORM, no maths).

Three numbers of children lead every coverage-type run: served within a facility's capacity, within reach
but over capacity, and not covered (no facility in reach); they add up to the children counted. Beside
them stands the within-reach share (served + over capacity), which is what older pages called "covered".
Runs stored before capacity was computed carry only children and covered: their headline says so and
shows no served figure at all, never a 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Kinds whose result is "is a child covered": the capacity headline applies to them (2SFCA is a ratio).
COVERAGE_KINDS = ("coverage", "roadmap", "sites", "underserved")


@dataclass(frozen=True)
class Headline:
    """Children (counts, not people-years) of one scenario; shares in % of `total`; None = not computed."""

    scenario: str
    total: float
    served: float | None
    over_capacity: float | None
    not_covered: float | None
    within_reach_pct: float | None
    capacity_total: float | None = None
    reaching_nobody: list[dict] = field(default_factory=list)

    @property
    def computed(self) -> bool:
        """Whether the run stored the capacity-constrained figure (children served)."""
        return self.served is not None

    def _pct(self, value: float | None) -> float | None:
        return None if value is None or self.total <= 0 else 100.0 * value / self.total

    @property
    def served_pct(self) -> float | None:
        return self._pct(self.served)

    @property
    def over_capacity_pct(self) -> float | None:
        return self._pct(self.over_capacity)

    @property
    def not_covered_pct(self) -> float | None:
        return self._pct(self.not_covered)

    @property
    def places_reaching_nobody(self) -> float:
        return float(sum(f.get("places") or 0 for f in self.reaching_nobody))


def _scenario_headline(*, summary: dict, scenario: str) -> Headline | None:
    if "children_total" in summary:
        total = float(summary["children_total"])
        served = summary.get("children_served")
        over = summary.get("children_over_capacity")
        not_covered = summary.get("children_not_covered")
        within = summary.get("covered_within_reach_pct")
        if within is None and served is not None and over is not None and total > 0:
            within = 100.0 * (served + over) / total
        return Headline(
            scenario=scenario,
            total=total,
            served=served,
            over_capacity=over,
            not_covered=not_covered,
            within_reach_pct=within,
            capacity_total=summary.get("capacity_total"),
            reaching_nobody=list(summary.get("facilities_reaching_nobody") or []),
        )
    if summary.get("children") is None or summary.get("covered") is None:
        return None
    # A run stored before the capacity figures: children within reach are known, served are not.
    total, covered = float(summary["children"]), float(summary["covered"])
    return Headline(
        scenario=scenario,
        total=total,
        served=None,
        over_capacity=None,
        not_covered=max(total - covered, 0.0),
        within_reach_pct=100.0 * covered / total if total > 0 else None,
    )


def capacity_headlines(*, kind: str, summary: dict) -> list[Headline]:
    """The headline of each scenario of a run (before and after for the roadmap effect, else one);
    empty for a run that is not coverage-type or whose summary counts no children."""
    if kind not in COVERAGE_KINDS or not summary:
        return []
    if set(summary) >= {"before", "after"} and isinstance(summary.get("before"), dict):
        parts = [("before", summary["before"]), ("after", summary["after"])]
    else:
        parts = [("current", summary)]
    headlines = [_scenario_headline(summary=part, scenario=scenario) for scenario, part in parts]
    return [h for h in headlines if h is not None]


def travel_thresholds(*, summary: dict) -> list[dict]:
    """Children within each travel-time threshold, per scenario: [{"minutes", "values": [(children, pct), …]}]
    in the run's order of thresholds (the first is the headline's catchment); empty for a distance run."""
    if set(summary) >= {"before", "after"} and isinstance(summary.get("before"), dict):
        parts = [summary["before"], summary["after"]]
    else:
        parts = [summary]
    lists = [part.get("within_minutes") or [] for part in parts]
    if not lists[0]:
        return []
    return [
        {"minutes": row["minutes"], "values": [(x[i]["children"], x[i]["pct"]) for x in lists if i < len(x)]}
        for i, row in enumerate(lists[0])
    ]
