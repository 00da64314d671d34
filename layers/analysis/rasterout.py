"""Per-cell results written as a GeoTIFF on the source raster's own grid, window by window."""

from __future__ import annotations

import numpy as np
import rasterio

NODATA = -1.0


class GridWriter:
    """A float32 GeoTIFF (tiled, DEFLATE) with the grid and CRS of `source_path`; cells not written are nodata."""

    def __init__(self, *, source_path: str, out_path: str, description: str):
        with rasterio.open(source_path) as src:
            profile = {
                "driver": "GTiff",
                "width": src.width,
                "height": src.height,
                "count": 1,
                "dtype": "float32",
                "crs": src.crs,
                "transform": src.transform,
                "nodata": NODATA,
                "compress": "deflate",
                "tiled": True,
                "blockxsize": 256,
                "blockysize": 256,
                "BIGTIFF": "IF_SAFER",
            }
        self.dst = rasterio.open(out_path, "w", **profile)
        self.dst.set_band_description(1, description)
        self._written = set()

    def write(self, window, mask: np.ndarray, values: np.ndarray) -> None:
        """Write `values` (one per True cell of `mask`, row-major) into `window`."""
        out = np.full(mask.shape, NODATA, dtype=np.float32)
        out[mask] = values
        self.dst.write(out, 1, window=window)
        self._written.add((window.row_off, window.col_off))

    def close(self) -> None:
        self.dst.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
