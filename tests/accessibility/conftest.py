"""Fixtures of the accessibility tests: a small hand-built world inside Astana (region_a)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from pyproj import Geod
from rasterio.transform import from_origin

GEOD = Geod(ellps="WGS84")


@pytest.fixture
def utm_raster(tmp_path, region_a):
    """A 20 × 20 raster of 500 m cells in UTM 42N around Astana's centre; 10 children per cell, one nodata cell."""
    from pyproj import Transformer

    cx, cy = Transformer.from_crs(4326, 32642, always_xy=True).transform(region_a.centre.x, region_a.centre.y)
    data = np.full((20, 20), 10.0, dtype=np.float32)
    data[0, 0] = -1.0
    path = tmp_path / "astana_utm.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=20,
        height=20,
        count=1,
        dtype="float32",
        crs="EPSG:32642",
        transform=from_origin(cx - 5_000, cy + 5_000, 500, 500),
        nodata=-1.0,
        tiled=True,
        blockxsize=16,
        blockysize=16,
    ) as dst:
        dst.write(data, 1)
    return path


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Run outputs (GeoTIFFs) and uploaded rasters go to a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"
