"""Candidate sites of a best-sites run: given points, parcels, settlements or a regular grid.

Coordinates are EPSG:4326 degrees; the grid is laid out in metres in an equal-area projection (KZ_LAEA).
"""

from __future__ import annotations

import numpy as np
import shapely
from django.utils.translation import gettext_noop
from pyproj import Transformer

from accessibility import selectors
from accessibility.notes import note
from layers.analysis.hexbin import KZ_LAEA


def site_candidates(
    *, sites: dict, region_ids: list[int] | None, settlements=None
) -> tuple[list[tuple[str, str, float, float]], dict]:
    """(reference, label, longitude, latitude) of each candidate (EPSG:4326) and a note naming the source.

    `sites` are the run's sites parameters; `settlements` the run's demand settlements when it has any
    (their places are the candidates), else the settlements are read here.
    """
    s = sites
    source = s["candidates"]
    if source == "points":
        return [
            (str(i + 1), s.get("labels", {}).get(str(i), f"point {i + 1}"), float(x), float(y))
            for i, (x, y) in enumerate(s["points"])
        ], note(gettext_noop("points given with the run"))
    if source == "parcels":
        rows = selectors.parcels_candidates(region_ids=region_ids)
        return [(r[0], r[1], r[2], r[3]) for r in rows], note(
            gettext_noop("candidate parcels (a point on each parcel) from the parcels app")
        )
    if source == "settlements":
        # Only their locations matter here: a raster run reads no settlement children (nor their parameters).
        st = settlements or selectors.settlement_points(region_ids=region_ids)
        names = selectors.settlement_names(ids=st.ids.tolist())
        return [
            (str(i), names.get(int(i), ""), float(x), float(y)) for i, x, y in zip(st.ids, st.lon, st.lat, strict=True)
        ], note(gettext_noop("settlements"))
    # A regular grid in the equal-area projection, kept where it falls inside the regions.
    spacing = float(s["grid_spacing_m"])
    regions = selectors.regions_wkb(region_ids=region_ids)
    fwd = Transformer.from_crs(4326, KZ_LAEA, always_xy=True)
    inv = Transformer.from_crs(KZ_LAEA, 4326, always_xy=True)
    out = []
    for _rid, geom in regions:
        g = shapely.transform(geom, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
        x0, y0, x1, y1 = g.bounds
        xs, ys = np.meshgrid(np.arange(x0 + spacing / 2, x1, spacing), np.arange(y0 + spacing / 2, y1, spacing))
        xs, ys = xs.ravel(), ys.ravel()
        inside = shapely.contains_xy(g, xs, ys)
        lon, lat = inv.transform(xs[inside], ys[inside])
        out += [
            (f"grid-{len(out) + i + 1}", "", float(a), float(b)) for i, (a, b) in enumerate(zip(lon, lat, strict=True))
        ]
    return out, note(
        gettext_noop("a %(spacing)s m grid (equal-area projection) inside the regions"), spacing=f"{spacing:.0f}"
    )
