"""Hand-built rasters for the pure analysis tests (no database needed)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin


@pytest.fixture
def write_raster(tmp_path):
    """write_raster(name, array[bands, rows, cols], crs=, transform=, nodata=) -> path (tiled GeoTIFF)."""

    def make(name, data, *, crs, transform, nodata=None):
        data = np.asarray(data, dtype=np.float32)
        if data.ndim == 2:
            data = data[None]
        path = tmp_path / name
        with rasterio.open(
            path,
            "w",
            driver="GTiff",
            width=data.shape[2],
            height=data.shape[1],
            count=data.shape[0],
            dtype="float32",
            crs=crs,
            transform=transform,
            nodata=nodata,
            tiled=True,
            blockxsize=16,
            blockysize=16,
            compress="deflate",
        ) as dst:
            dst.write(data)
        return str(path)

    return make


__all__ = ["from_origin"]
