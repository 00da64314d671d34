"""Urban and rural demand of a run: the radius each settlement got, and how many children each class held.

The rule itself (one for settlement points and raster cells) is layers.analysis.urban; this module only
shapes what a run reports about it. Radii are metres, children are the run's (scaled) counts.
"""

from __future__ import annotations

import numpy as np
from django.utils.translation import gettext_noop

from accessibility.notes import note
from layers.analysis.coverage import Facilities


def counting_urban(chunks, *, urban_by_slot: np.ndarray, n_zones: int):
    """Pass the demand chunks through, adding each one's urban children to `urban_by_slot` per zone slot
    (slot `n_zones`: outside every zone), so that zone factors can scale them afterwards."""
    for chunk in chunks:
        urban_by_slot += np.bincount(
            np.where(chunk.zone < 0, n_zones, chunk.zone),
            weights=np.where(chunk.urban, chunk.children, 0.0),
            minlength=n_zones + 1,
        )
        yield chunk


def point_class(*, radii: tuple[float, float] | None, urban: bool) -> dict:
    """A settlement's class and the radius it was reached over: of `radii` (Facilities.class_radius_m, the
    largest of the kinds counted, urban and rural), the one of its class; None without facilities."""
    return {"urban": bool(urban), "radius_m": None if radii is None else radii[0 if urban else 1]}


def _radius_text(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.0f}" if low == high else f"{low:.0f}–{high:.0f}"


def class_summary(
    *, fac: Facilities, urban_children: float, total_children: float, min_population: int, points: bool
) -> tuple[dict, list[dict]]:
    """What the run's inputs record about the two classes, and the notes the page shows.

    The note gives each class's radius, a range "low–high" when the facility kinds counted have different
    radii; every settlement's own row (`points`: a settlement run) then carries the largest, and a second
    note says so.
    """
    used = sorted({fac.kind_names[k] for k in np.unique(fac.kind).tolist()})
    idx = [fac.kind_names.index(k) for k in used]
    radii = {
        k: {"urban_m": float(fac.radius_urban[i]), "rural_m": float(fac.radius_rural[i])}
        for k, i in zip(used, idx, strict=True)
    }
    rural_children = max(total_children - urban_children, 0.0)
    inputs = {
        "urban_min_population": min_population,
        "urban_children": urban_children,
        "rural_children": rural_children,
        "radii_m": radii,
    }
    urban_r = _radius_text([r["urban_m"] for r in radii.values()]) if radii else "—"
    rural_r = _radius_text([r["rural_m"] for r in radii.values()]) if radii else "—"
    text = note(
        gettext_noop(
            "urban (in a town of at least %(min)s inhabitants): %(urban)s children, reached within %(urban_r)s m; "
            "rural: %(rural)s children, reached within %(rural_r)s m"
        ),
        min=f"{min_population:,}".replace(",", " "),
        urban=f"{urban_children:,.0f}".replace(",", " "),
        rural=f"{rural_children:,.0f}".replace(",", " "),
        urban_r=urban_r,
        rural_r=rural_r,
    )
    notes = [text]
    if points and len({(r["urban_m"], r["rural_m"]) for r in radii.values()}) > 1:
        notes.append(
            note(
                gettext_noop(
                    "the radius stored for each settlement is the largest of the facility kinds counted; a kind with "
                    "a shorter radius reaches it only within its own"
                )
            )
        )
    return inputs, notes
