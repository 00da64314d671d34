"""Children served within capacity, computed alongside a distance-coverage pass (capacity first, issue 17).

Every coverage-type run (distance coverage, roadmap before/after, best sites, underserved areas)
feeds each demand chunk to `ServedPass.add`; once the pass is over and the raster's scaling
factors are known, `ServedPass.solve` runs the maximum flow of layers.analysis.capacity on the
scaled children. Children are people (raster units or settlement counts); capacity is children a
year (places × the kind's shifts per year); distances metres on the WGS 84 ellipsoid.
"""

from __future__ import annotations

import numpy as np
from django.utils.translation import gettext_noop

from accessibility import selectors
from accessibility.notes import note, plural_note
from layers.analysis.capacity import CapacityFlow, CapacityResult
from layers.analysis.coverage import Facilities, catchment_pairs
from layers.analysis.demand import NO_ZONE, DemandChunk
from layers.analysis.geodesy import lonlat_to_ecef


class ServedPass:
    """The capacity flow of one scenario, filled chunk by chunk."""

    def __init__(self, *, fac: Facilities, n_zones: int):
        self.fac = fac
        self.n_zones = n_zones
        self.flow = CapacityFlow(n_facilities=len(fac), n_slots=n_zones + 1)
        self._point_ids: list[np.ndarray] = []
        self._point_sig: list[np.ndarray] = []
        self.result: CapacityResult | None = None

    def add(self, chunk: DemandChunk, *, covered: np.ndarray) -> None:
        """Add a chunk of the coverage pass; `covered` is its within-reach mask (same rule as the reach pairs,
        d ≤ r boundary included), so only those points are searched for the facilities reaching them."""
        rows = np.nonzero(covered)[0]
        xyz = chunk.xyz[rows] if chunk.xyz is not None else lonlat_to_ecef(chunk.lon[rows], chunk.lat[rows])
        p, f = catchment_pairs(self.fac, xyz, chunk.urban[rows])
        self.add_pairs(chunk, point_idx=rows[p], fac_idx=f)

    def add_pairs(self, chunk: DemandChunk, *, point_idx: np.ndarray, fac_idx: np.ndarray) -> None:
        """Add a chunk with its reach pairs already found (point index in the chunk, facility index): a
        travel-time pass gives the pairs within its catchment time (layers.analysis.travel)."""
        p, f = np.asarray(point_idx, dtype=np.int64), np.asarray(fac_idx, dtype=np.int64)
        slot = np.where(chunk.zone == NO_ZONE, self.n_zones, chunk.zone)
        sig = self.flow.add(children=chunk.children, slot=slot, point_idx=p, fac_idx=f)
        if chunk.ids is not None:
            self._point_ids.append(np.asarray(chunk.ids))
            self._point_sig.append(sig)

    def solve(self, *, factors: np.ndarray, covered: np.ndarray) -> np.ndarray:
        """Served children per zone slot (scaled by `factors`), never above the slot's `covered` (scaled)."""
        self.result = self.flow.solve(capacity=self.fac.yearly_capacity, slot_factor=factors)
        return np.minimum(self.result.served, covered)

    def point_ratio(self) -> dict:
        """{settlement id: share of its children served} (0 where no facility reaches it)."""
        if not self._point_ids:
            return {}
        ids = np.concatenate(self._point_ids)
        sig = np.concatenate(self._point_sig)
        ratio = np.zeros(sig.size)
        reached = sig >= 0  # no group at all when no facility reaches any point
        ratio[reached] = self.result.group_ratio[sig[reached]]
        return dict(zip(ids.tolist(), ratio.tolist(), strict=True))

    def summary(self, *, total: float, covered: float, served: float) -> tuple[dict, list[dict]]:
        """The summary keys of a coverage-type run, and the notes that go with them."""
        served = min(served, covered)
        nobody = self.result.reaching_nobody
        labels = selectors.facility_labels(ids=[int(self.fac.ids[i]) for i in nobody])
        reaching_nobody = [
            {"id": int(self.fac.ids[i]), **labels.get(int(self.fac.ids[i]), {"name": "", "places": None})}
            for i in nobody
        ]
        counted = np.ones(len(self.fac), dtype=bool)
        counted[nobody] = False
        summary = {
            "children_total": total,
            "children_served": served,
            "children_over_capacity": max(covered - served, 0.0),
            "children_not_covered": max(total - covered, 0.0),
            "covered_within_reach_pct": (100 * covered / total) if total else None,
            "served_pct": (100 * served / total) if total else None,
            "capacity_total": float(self.fac.yearly_capacity[counted].sum()),
            "facilities_reaching_nobody": reaching_nobody,
        }
        notes = [
            note(
                gettext_noop(
                    "served = children given a place within reach and within the facilities' capacity (places × "
                    "shifts per year), by a maximum flow (linear programme, HiGHS): the total is the maximum; "
                    "among children who can use the same facilities it is split in proportion to their numbers"
                )
            )
        ]
        if reaching_nobody:
            notes.append(
                plural_note(
                    "facilities_reaching_nobody",
                    n=len(reaching_nobody),
                    places=f"{sum(r['places'] or 0 for r in reaching_nobody):.0f}",
                )
            )
        return summary, notes
