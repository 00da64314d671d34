"""Where a geometry lies among the regions of Kazakhstan, asked by the checks of parcels and facilities.

CRS: geometries are EPSG:4326 (longitude, latitude in degrees), like the region boundaries.
"""

from __future__ import annotations

from django.contrib.gis.geos import GEOSGeometry
from django.db import connection

# Would the geometry touch a region with latitude and longitude swapped? ST_FlipCoordinates has no
# GeoDjango expression; the geometry is a bound parameter (EWKB).
SWAPPED_INSIDE_SQL = (
    "SELECT EXISTS (SELECT 1 FROM layers_region r WHERE ST_Intersects(r.geom, ST_FlipCoordinates(%(geom)s::geometry)))"
)


def inside_kazakhstan_if_swapped(*, geom: GEOSGeometry) -> bool:
    """Does `geom` (EPSG:4326) touch a region once its x and y are swapped (a lat/lon mix-up)?"""
    if geom.srid != 4326:
        raise ValueError("the geometry must be EPSG:4326")
    with connection.cursor() as cursor:
        cursor.execute(SWAPPED_INSIDE_SQL, {"geom": bytes(geom.ewkb)})
        (inside,) = cursor.fetchone()
    return bool(inside)
