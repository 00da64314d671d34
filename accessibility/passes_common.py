"""What the distance passes (accessibility.analyses) and the travel-time passes (accessibility.travel_passes) share.

A module of its own so that neither pass module imports the other (import-linter: no cycles between the
modules of an app).
"""

from __future__ import annotations

from accessibility.run_context import Outcome


def access_rows_merge(out: Outcome, rows: list) -> None:
    """Add a 2SFCA pass's zone rows, merged into the coverage rows of the same scenario and zone (a roadmap
    run has both) or appended."""
    existing = {(r.scenario, r.region_id, r.district_id, r.outside): r for r in out.zone_rows}
    for r in rows:
        key = (r.scenario, r.region_id, r.district_id, r.outside)
        if key in existing:
            existing[key].access_per_1000 = r.access_per_1000
            existing[key].without_access = r.without_access
        else:
            out.zone_rows.append(r)
