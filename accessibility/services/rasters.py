"""Registration of population GeoTIFFs (any CRS and resolution) whose bands count children."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import rasterio
from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.db import transaction
from pyproj import CRS, Transformer
from rasterio.errors import RasterioIOError

from accessibility.models import PopulationRaster
from accessibility.services.errors import RasterRegistrationError
from layers.models import PopulationFigure


@transaction.atomic
def population_raster_register(
    *,
    path: Path | str,
    name: str,
    bands: list[int],
    year: int,
    source: str,
    indicator: str = PopulationFigure.Indicator.CHILDREN_0_17,
    is_demo: bool = False,
    user=None,
    copy_to_media: bool = False,
) -> PopulationRaster:
    """Register a GeoTIFF (any CRS and resolution): check it opens, has a CRS and the bands exist.

    Only metadata is read (never the cells). `bands` are 1-based and are summed into
    children (e.g. WorldPop's f_0, f_1, f_5, m_0, … age/sex bands, one file per band
    merged beforehand into one multi-band file).
    """
    path = Path(path)
    if not source.strip():
        raise RasterRegistrationError("source: say where the raster comes from (e.g. WorldPop 2020, 100 m)")
    if indicator not in PopulationFigure.Indicator.values:
        raise RasterRegistrationError(f"indicator: {indicator!r} is not a population indicator")
    if not bands:
        raise RasterRegistrationError("bands: name at least one band that counts children")
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise RasterRegistrationError(f"{path.name}: not a readable raster ({exc})") from exc
    with src:
        if src.crs is None:
            raise RasterRegistrationError(f"{path.name}: the raster has no CRS")
        bad = [b for b in bands if not 1 <= b <= src.count]
        if bad:
            raise RasterRegistrationError(f"{path.name}: bands {bad} do not exist (the raster has {src.count})")
        crs = CRS.from_user_input(src.crs)
        left, bottom, right, top = src.bounds
        xs = np.array([left, right, right, left, (left + right) / 2, (left + right) / 2, left, right])
        ys = np.array([bottom, bottom, top, top, bottom, top, (bottom + top) / 2, (bottom + top) / 2])
        lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(xs, ys)
        lon, lat = np.asarray(lon), np.asarray(lat)
        if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
            raise RasterRegistrationError(f"{path.name}: its extent cannot be placed on the earth")
        extent = Polygon.from_bbox((lon.min(), lat.min(), lon.max(), lat.max()))
        extent.srid = 4326
        meta = {
            "crs_wkt": crs.to_wkt(),
            "crs_name": f"{crs.name}" + (f" (EPSG:{crs.to_epsg()})" if crs.to_epsg() else ""),
            "width": src.width,
            "height": src.height,
            "band_count": src.count,
            "pixel_size_x": abs(src.transform.a),
            "pixel_size_y": abs(src.transform.e),
            "band_descriptions": [d or "" for d in src.descriptions],
        }
    raster = PopulationRaster.objects.create(
        name=name,
        path=str(path),
        children_bands=sorted(set(bands)),
        year=year,
        source=source,
        indicator=indicator,
        extent=extent,
        is_demo=is_demo,
        created_by=user if user is not None and user.is_authenticated else None,
        **meta,
    )
    if copy_to_media:
        target = Path(settings.MEDIA_ROOT) / "accessibility" / "rasters" / f"{raster.pk}_{path.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        raster.path = str(target)
        raster.save(update_fields=["path"])
    return raster
