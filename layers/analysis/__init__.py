"""Pure accessibility analysis: no ORM, only numpy/scipy/shapely/pyproj/rasterio.

Coordinates enter as longitude/latitude on WGS 84 (EPSG:4326) or in a raster's own
CRS; every distance is in metres along the WGS 84 ellipsoid (see geodesy).
"""
