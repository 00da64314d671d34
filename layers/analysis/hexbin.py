"""Hexagon binning of weighted points in an equal-area projection (underserved-area layers).

Points (EPSG:4326) are projected to a Lambert azimuthal equal-area projection
centred on Kazakhstan (48° N, 68° E), where every hexagon has the same true
area; pointy-top hexagons with circumradius `size_m` metres are indexed by
axial (q, r) coordinates with cube rounding. Hexagon outlines are returned in
EPSG:4326 for GeoJSON.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from pyproj import CRS, Transformer

KZ_LAEA = CRS.from_proj4("+proj=laea +lat_0=48 +lon_0=68 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs")
_FWD = Transformer.from_crs(4326, KZ_LAEA, always_xy=True)
_INV = Transformer.from_crs(KZ_LAEA, 4326, always_xy=True)
_KEY_OFFSET = 1 << 20  # axial coordinates fit in ±1e6 hexagons


def hex_area_km2(size_m: float) -> float:
    return 3 * math.sqrt(3) / 2 * size_m**2 / 1e6


def hex_keys(lon: np.ndarray, lat: np.ndarray, *, size_m: float) -> np.ndarray:
    """int64 key of the hexagon containing each point."""
    x, y = _FWD.transform(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    q = (math.sqrt(3) / 3 * x - y / 3) / size_m
    r = (2 / 3 * y) / size_m
    s = -q - r
    rq, rr, rs = np.round(q), np.round(r), np.round(s)
    dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    rq = np.where(fix_q, -rr - rs, rq)
    rr = np.where(fix_r, -rq - rs, rr)
    return (rq.astype(np.int64) + _KEY_OFFSET) * (2 * _KEY_OFFSET) + (rr.astype(np.int64) + _KEY_OFFSET)


def key_polygon(key: int, *, size_m: float) -> shapely.Polygon:
    """Outline (EPSG:4326) of the hexagon with `key`."""
    q = key // (2 * _KEY_OFFSET) - _KEY_OFFSET
    r = key % (2 * _KEY_OFFSET) - _KEY_OFFSET
    cx = size_m * math.sqrt(3) * (q + r / 2)
    cy = size_m * 1.5 * r
    angles = np.radians(30 + 60 * np.arange(6))
    xs = cx + size_m * np.cos(angles)
    ys = cy + size_m * np.sin(angles)
    lon, lat = _INV.transform(xs, ys)
    return shapely.Polygon(np.column_stack([lon, lat]))


class HexAccumulator:
    """Sums of several weights per hexagon, fed chunk by chunk (memory ∝ occupied hexagons)."""

    def __init__(self, *, size_m: float, names: tuple[str, ...]):
        self.size_m = size_m
        self.names = names
        self._keys: list[np.ndarray] = []
        self._sums: list[np.ndarray] = []

    def add(self, lon: np.ndarray, lat: np.ndarray, **weights: np.ndarray) -> None:
        if not np.asarray(lon).size:
            return
        keys = hex_keys(lon, lat, size_m=self.size_m)
        uniq, inv = np.unique(keys, return_inverse=True)
        sums = np.column_stack([np.bincount(inv, weights=weights[n], minlength=uniq.size) for n in self.names])
        self._keys.append(uniq)
        self._sums.append(sums)
        if len(self._keys) > 64:
            self._compact()

    def _compact(self) -> None:
        if len(self._keys) <= 1:
            return
        keys = np.concatenate(self._keys)
        sums = np.concatenate(self._sums)
        uniq, inv = np.unique(keys, return_inverse=True)
        out = np.zeros((uniq.size, len(self.names)))
        np.add.at(out, inv, sums)
        self._keys, self._sums = [uniq], [out]

    def totals(self) -> tuple[np.ndarray, np.ndarray]:
        """(keys, sums[n_hex, len(names)])."""
        self._compact()
        if not self._keys:
            return np.empty(0, dtype=np.int64), np.empty((0, len(self.names)))
        return self._keys[0], self._sums[0]
