"""Where the children are: demand points from a population raster or from settlement points.

A source yields `DemandChunk`s: populated locations (longitude/latitude, EPSG:4326)
with a child count, an urban flag (one rule for both sources: layers.analysis.urban) and
the index of the zone (district) that contains them. Rasters are read window by window along their block rows, never
whole; each window's populated cells become one chunk.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import rasterio
import shapely
from pyproj import CRS, Transformer
from rasterio.features import rasterize
from rasterio.windows import Window
from rasterio.windows import transform as window_transform

from layers.analysis.geodesy import grid_ecef
from layers.analysis.hexbin import KZ_LAEA
from layers.analysis.urban import DEFAULT_URBAN_MIN_POPULATION, UrbanExtents

NO_ZONE = -1
# Demand just outside every district goes to the nearest district within this distance. The bundled
# district outlines (geokz, from OCHA COD-AB) are generalised: half their segments are longer than
# 0.3 km and one in ten longer than 6 km, so a coastal or border settlement (or a raster cell centre)
# can fall a few kilometres off the polygon it belongs to; 5 km takes those in without reaching far
# across a real border (a point nearer to a district of another run's region stays outside).
DISTRICT_TOLERANCE_M = 5_000.0
# About 4 M cells (16 MB of float32 per band) per window keeps memory flat for any raster size.
WINDOW_TARGET_CELLS = 1 << 22
GDAL_CACHE_BYTES = 64 * 2**20


class DemandError(ValueError):
    """A population input that cannot be used; the message names the file and the problem."""


@dataclass
class DemandChunk:
    """Populated places of one window (or all settlements): parallel arrays of equal length."""

    lon: np.ndarray  # degrees, EPSG:4326
    lat: np.ndarray
    children: np.ndarray  # float64 children per location
    urban: np.ndarray  # bool
    zone: np.ndarray  # int32 index into the zone list, NO_ZONE outside every zone
    window: Window | None = None  # raster window the chunk came from
    mask: np.ndarray | None = None  # populated cells of the window (row-major), for raster output
    ids: np.ndarray | None = None  # caller's ids (settlement ids) for point sources
    xyz: np.ndarray | None = None  # (n, 3) ECEF metres, when the source computed them already
    snapped: np.ndarray | None = None  # bool: outside every zone, assigned to the nearest within the tolerance

    def __len__(self) -> int:
        return int(self.lon.size)


@dataclass
class Zones:
    """Zones (districts) as shapely geometries in EPSG:4326; index i is the zone id used in chunks.

    `others` are the districts that are not zones of this run (other regions when a run is restricted):
    a point inside one of them, or nearer to one of them, is never assigned to a zone by tolerance.
    """

    geoms: Sequence  # shapely (Multi)Polygons, lon/lat
    others: Sequence = ()
    tolerance_m: float = DISTRICT_TOLERANCE_M
    _tree: shapely.STRtree | None = field(default=None, repr=False)
    _metric: tuple | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.geoms)

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Zone index of each point (NO_ZONE when outside all); a point on a shared border goes to one."""
        out = np.full(lon.size, NO_ZONE, dtype=np.int32)
        if not len(self.geoms) or not lon.size:
            return out
        if self._tree is None:
            self._tree = shapely.STRtree(list(self.geoms))
        points = shapely.points(lon, lat)
        point_idx, zone_idx = self._tree.query(points, predicate="intersects")
        # Reverse so that, for duplicates, the lowest zone index is written last and wins.
        out[point_idx[::-1]] = zone_idx[::-1]
        return out

    def _metric_index(self) -> tuple:
        """(STRtree of zones then others in the Kazakhstan equal-area projection, lon/lat box of the zones
        widened by the tolerance). Distances in that projection are within 0.7 % of true metres over the
        country (scale error of a Lambert azimuthal projection 1 500 km from its centre)."""
        if self._metric is None:
            fwd = Transformer.from_crs(4326, KZ_LAEA, always_xy=True)
            geoms = [
                shapely.transform(g, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
                for g in [*self.geoms, *self.others]
            ]
            x0, y0, x1, y1 = shapely.total_bounds(list(self.geoms))
            dlat = self.tolerance_m / 110_000.0
            dlon = dlat / math.cos(math.radians(min(max(abs(y0), abs(y1)) + dlat, 89.0)))
            self._metric = (fwd, shapely.STRtree(geoms), (x0 - dlon, y0 - dlat, x1 + dlon, y1 + dlat))
        return self._metric

    def assign_nearest(self, lon: np.ndarray, lat: np.ndarray, zone: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Give the points outside every zone (zone == NO_ZONE) the nearest zone within `tolerance_m`.

        Returns the new zone array and a mask of the points so assigned. A point whose nearest district
        (within the tolerance) is one of `others` stays outside; ties go to the lowest index.
        """
        zone = np.asarray(zone, dtype=np.int32).copy()
        snapped = np.zeros(zone.size, dtype=bool)
        if not len(self.geoms) or not zone.size or self.tolerance_m <= 0:
            return zone, snapped
        fwd, tree, (x0, y0, x1, y1) = self._metric_index()
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        idx = np.flatnonzero((zone == NO_ZONE) & (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1))
        if not idx.size:
            return zone, snapped
        x, y = fwd.transform(lon[idx], lat[idx])
        found = tree.query_nearest(shapely.points(x, y), max_distance=self.tolerance_m, all_matches=True)
        nearest = np.full(idx.size, np.iinfo(np.int32).max, dtype=np.int64)
        np.minimum.at(nearest, found[0], found[1])
        hit = nearest < len(self.geoms)  # the nearest is a zone of the run (not one of `others`, not none)
        zone[idx[hit]] = nearest[hit]
        snapped[idx[hit]] = True
        return zone, snapped


@dataclass(frozen=True)
class RasterSpec:
    """A population raster: which 1-based bands add up to "children", and how to read it."""

    path: str
    bands: tuple[int, ...] = (1,)


def raster_env() -> rasterio.Env:
    """GDAL settings for one pass over a raster: a small block cache (each block is read once, so
    GDAL's default cache of 5 % of RAM would only grow the process without saving any read)."""
    return rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_BYTES)


def raster_windows(src, *, target_cells: int = WINDOW_TARGET_CELLS) -> list[Window]:
    """Windows made of whole blocks (one block row high, several blocks wide), about `target_cells` cells each.

    Aligning with the file's blocks means each block is decompressed once; bounding the
    window size keeps memory flat (a few hundred MB at most) whatever the raster's size.
    """
    block_h, block_w = src.block_shapes[0]
    if block_w >= src.width:  # striped file: whole rows, several strips per window
        rows_per = max(block_h, (target_cells // max(src.width, 1)) // block_h * block_h)
        return [Window(0, row, src.width, min(rows_per, src.height - row)) for row in range(0, src.height, rows_per)]
    cols_per = max(block_w, (target_cells // block_h) // block_w * block_w)
    return [
        Window(col, row, min(cols_per, src.width - col), min(block_h, src.height - row))
        for row in range(0, src.height, block_h)
        for col in range(0, src.width, cols_per)
    ]


def raster_open(spec: RasterSpec):
    """Open a raster and check the bands exist and it has a CRS; returns the open dataset."""
    try:
        src = rasterio.open(spec.path)
    except rasterio.errors.RasterioIOError as exc:
        raise DemandError(f"{spec.path}: not a readable raster ({exc})") from exc
    if src.crs is None:
        src.close()
        raise DemandError(f"{spec.path}: the raster has no CRS")
    bad = [b for b in spec.bands if not 1 <= b <= src.count]
    if bad or not spec.bands:
        src.close()
        raise DemandError(f"{spec.path}: bands {bad or '[]'} do not exist (the raster has {src.count})")
    return src


def raster_demand(
    spec: RasterSpec,
    *,
    zones: Zones | None = None,
    progress: Callable[[float], None] | None = None,
    target_cells: int = WINDOW_TARGET_CELLS,
    stats: dict | None = None,
    urban: UrbanExtents | None = None,
) -> Iterator[DemandChunk]:
    """Yield the populated cells (children > 0) of the raster, one chunk per window.

    Children = sum of `spec.bands`; a band's nodata cells contribute nothing, a cell
    that is nodata in every band is skipped (counted in stats["nodata_cells"]).
    Negative values are treated as nodata. Cell centres are transformed from the
    raster's CRS to EPSG:4326. Zones are burnt into each window at cell centres; a
    cell centre outside every zone goes to the nearest one within the zones' tolerance.
    A cell is urban when its centre lies in a town's extent (`urban`; without it every cell is rural).
    """
    stats = stats if stats is not None else {}
    stats.setdefault("nodata_cells", 0)
    stats.setdefault("cells", 0)
    with raster_env(), raster_open(spec) as src:
        crs = CRS.from_user_input(src.crs)
        to_wgs84 = None if crs.equals(CRS.from_epsg(4326)) else Transformer.from_crs(crs, 4326, always_xy=True)
        zone_shapes = None
        if zones is not None and len(zones):
            geoms = list(zones.geoms)
            if to_wgs84 is not None:
                back = Transformer.from_crs(4326, crs, always_xy=True)
                geoms = [
                    shapely.transform(g, lambda xy: np.column_stack(back.transform(xy[:, 0], xy[:, 1]))) for g in geoms
                ]
            zone_shapes = (geoms, shapely.STRtree(geoms))
        windows = raster_windows(src, target_cells=target_cells)
        t = src.transform

        nodata = [src.nodatavals[b - 1] for b in spec.bands]

        def prepare(window: Window) -> DemandChunk | None:
            """Everything that touches whole windows: read, mask, burn zones (runs in the reader thread).

            Full-window work is kept to a few vectorised passes; the rest touches populated cells only.
            """
            arrays = [src.read(band, window=window) for band in spec.bands]
            shape = arrays[0].shape
            # A usable value is > 0, not the band's nodata and finite (NaN > 0 is False; +inf is excluded).
            usable = None
            nodata_cells = None
            for values, nd in zip(arrays, nodata, strict=True):
                ok = values > 0
                if nd is not None and not np.isnan(nd):
                    if nd > 0:
                        ok &= values != nd
                    missing = values == nd
                elif np.issubdtype(values.dtype, np.floating):
                    missing = np.isnan(values)
                else:
                    missing = None
                if np.issubdtype(values.dtype, np.floating):
                    ok &= values != np.inf
                usable = ok if usable is None else usable | ok
                if missing is None:  # a band without nodata has a value everywhere
                    missing = np.zeros(shape, dtype=bool)
                nodata_cells = missing if nodata_cells is None else nodata_cells & missing
            stats["cells"] += int(usable.size)
            stats["nodata_cells"] += int(np.count_nonzero(nodata_cells))
            flat = np.flatnonzero(usable)
            if not flat.size:
                return None
            children = np.zeros(flat.size, dtype=np.float64)
            for values, nd in zip(arrays, nodata, strict=True):
                v = values.ravel()[flat].astype(np.float64)
                bad = ~(v > 0) | (v == np.inf)
                if nd is not None and not np.isnan(nd):
                    bad |= v == nd
                children += np.where(bad, 0.0, v)
            rows, cols = np.divmod(flat, shape[1])
            zone = np.full(flat.size, NO_ZONE, dtype=np.int32)
            if zone_shapes is not None:
                geoms, tree = zone_shapes
                left, bottom, right, top = rasterio.windows.bounds(window, t)
                box = shapely.box(min(left, right), min(bottom, top), max(left, right), max(bottom, top))
                hits = np.sort(tree.query(box))
                if hits.size:
                    # Burn local indices (1..n, lowest zone index wins on shared edges) in the smallest dtype.
                    dtype = "uint8" if hits.size < 255 else "int32"
                    burnt = rasterize(
                        ((geoms[int(z)], n + 1) for n, z in reversed(list(enumerate(hits)))),
                        out_shape=shape,
                        transform=window_transform(window, t),
                        fill=0,
                        dtype=dtype,
                    )
                    local = burnt.ravel()[flat].astype(np.int64)
                    lookup = np.concatenate([[NO_ZONE], hits]).astype(np.int32)
                    zone = lookup[local]
            # Cell centres in the raster's CRS, then EPSG:4326.
            gc = window.col_off + cols + 0.5
            gr = window.row_off + rows + 0.5
            x = t.c + t.a * gc + t.b * gr
            y = t.f + t.d * gc + t.e * gr
            if to_wgs84 is not None:
                lon, lat = (np.asarray(v) for v in to_wgs84.transform(x, y))
            else:
                lon, lat = x, y
            snapped = None
            if zones is not None:
                zone, snapped = zones.assign_nearest(lon, lat, zone)
            mask = np.zeros(shape, dtype=bool)
            mask.ravel()[flat] = True
            xyz = None
            if to_wgs84 is None and t.b == 0 and t.d == 0:
                # North-up WGS 84 grid: longitude depends on the column only and latitude on the row only,
                # so the trigonometry of the ECEF position is done once per row and per column (here, in
                # the reader thread, while the main thread queries the previous window).
                xyz = grid_ecef(
                    lon_of_col=t.c + t.a * (window.col_off + np.arange(shape[1]) + 0.5),
                    lat_of_row=t.f + t.e * (window.row_off + np.arange(shape[0]) + 0.5),
                    rows=rows,
                    cols=cols,
                )
            if urban is None:
                is_urban = np.zeros(flat.size, dtype=bool)
            else:
                is_urban = urban.contains(lon=lon, lat=lat, xyz=xyz)
            return DemandChunk(
                lon=lon,
                lat=lat,
                children=children,
                urban=is_urban,
                zone=zone,
                window=window,
                mask=mask,
                xyz=xyz,
                snapped=snapped,
            )

        # One reader thread prepares the next window while this one is analysed (GDAL, numpy and
        # rasterize release the GIL); only that thread touches the dataset, never two at once.
        with ThreadPoolExecutor(1) as reader:
            pending = reader.submit(prepare, windows[0]) if windows else None
            for number in range(1, len(windows) + 1):
                chunk = pending.result()
                if number < len(windows):
                    pending = reader.submit(prepare, windows[number])
                if chunk is not None:
                    yield chunk
                if progress is not None:
                    progress(number / len(windows))


def points_demand(
    *,
    lon: np.ndarray,
    lat: np.ndarray,
    children: np.ndarray,
    population: np.ndarray | None = None,
    zones: Zones | None = None,
    ids: np.ndarray | None = None,
    urban_min_population: int = DEFAULT_URBAN_MIN_POPULATION,
) -> Iterator[DemandChunk]:
    """One chunk of settlement points (EPSG:4326); urban when population ≥ `urban_min_population` (a town:
    the settlement lies in its own extent, the rule layers.analysis.urban applies to raster cells).

    A point outside every zone goes to the nearest zone within the zones' tolerance (metres).
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    children = np.asarray(children, dtype=np.float64)
    if not (lon.size == lat.size == children.size):
        raise DemandError("lon, lat and children must have the same length")
    if (children < 0).any():
        raise DemandError("children must not be negative")
    pop = children if population is None else np.asarray(population, dtype=np.float64)
    zone = np.full(lon.size, NO_ZONE, dtype=np.int32)
    snapped = None
    if zones is not None:
        zone, snapped = zones.assign_nearest(lon, lat, zones.locate(lon, lat))
    yield DemandChunk(
        lon=lon,
        lat=lat,
        children=children,
        urban=pop >= urban_min_population,
        zone=zone,
        ids=None if ids is None else np.asarray(ids),
        snapped=snapped,
    )
