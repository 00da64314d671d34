"""Demand at the district boundaries: what a read of the demand met there, and the notes that say so.

Demand points (settlements, raster cell centres; EPSG:4326) outside every district outline are given
the nearest district within the zones' tolerance (metres, layers.analysis.demand.Zones); what lies
farther out is counted in the last zone slot and stored as the row "outside every district". A run
restricted to some regions drops the raster cells beyond their districts: they are not its demand.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
from django.utils.translation import gettext_noop

from accessibility.notes import note
from layers.analysis.demand import NO_ZONE, DemandChunk


@dataclass
class BoundaryTally:
    """Children per zone slot (the last slot: outside every district) of one read of the demand, raw units."""

    n_zones: int
    children: np.ndarray = field(init=False)
    snapped: np.ndarray = field(init=False)  # assigned to their district by the tolerance
    dropped: float = 0.0  # raster children beyond the chosen regions' districts, left out of the run

    def __post_init__(self):
        self.children = np.zeros(self.n_zones + 1)
        self.snapped = np.zeros(self.n_zones + 1)


def inside_zones(chunks: Iterable[DemandChunk], tally: BoundaryTally) -> Iterator[DemandChunk]:
    """Only the cells inside the chosen regions' districts (a raster usually extends beyond them); the
    children of the cells left out are added up in tally.dropped."""
    for chunk in chunks:
        keep = chunk.zone != NO_ZONE
        tally.dropped += float(chunk.children[~keep].sum())
        if keep.all():
            yield chunk
        elif keep.any():
            mask = np.zeros(chunk.mask.shape, dtype=bool)
            mask.ravel()[np.flatnonzero(chunk.mask)[keep]] = True
            yield DemandChunk(
                lon=chunk.lon[keep],
                lat=chunk.lat[keep],
                children=chunk.children[keep],
                urban=chunk.urban[keep],
                zone=chunk.zone[keep],
                window=chunk.window,
                mask=mask,
                xyz=None if chunk.xyz is None else chunk.xyz[keep],
                snapped=None if chunk.snapped is None else chunk.snapped[keep],
            )


def tallied(chunks: Iterable[DemandChunk], tally: BoundaryTally) -> Iterator[DemandChunk]:
    """Pass the chunks through, adding up per zone slot all children and those assigned by tolerance."""
    n = tally.n_zones
    for chunk in chunks:
        slot = np.where(chunk.zone == NO_ZONE, n, chunk.zone)
        tally.children += np.bincount(slot, weights=chunk.children, minlength=n + 1)
        if chunk.snapped is not None and chunk.snapped.any():
            tally.snapped += np.bincount(slot[chunk.snapped], weights=chunk.children[chunk.snapped], minlength=n + 1)
        yield chunk


def boundary_notes(*, tally: BoundaryTally, factors: np.ndarray, tolerance_m: float) -> list[dict]:
    """Notes: children assigned by tolerance and children outside every district (both scaled by the zone
    slot's factor, as the stored rows are), and raster children left out of a restricted run."""
    snapped = float((tally.snapped * factors).sum())
    outside = float(tally.children[-1] * factors[-1])
    notes = []
    if snapped > 0 or outside > 0:
        notes.append(
            note(
                gettext_noop(
                    "%(snapped)s children outside every district outline were assigned to the nearest district "
                    "within %(tolerance)s m (the outlines are generalised); %(outside)s children lie farther out "
                    "and are counted in the row “outside every district”, which the national total includes"
                ),
                snapped=f"{snapped:.0f}",
                tolerance=f"{tolerance_m:.0f}",
                outside=f"{outside:.0f}",
            )
        )
    if tally.dropped > 0:
        notes.append(
            note(
                gettext_noop(
                    "%(dropped)s children of the raster lie outside the chosen regions' districts (or nearer to a "
                    "district of another region): they are not demand of this run"
                ),
                dropped=f"{tally.dropped:.0f}",
            )
        )
    return notes
