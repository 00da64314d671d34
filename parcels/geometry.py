"""Geometry helpers of the parcels app that need no database: GeoJSON input and the UTM zone of a place.

CRS: geometries are EPSG:4326. Areas and lengths are measured in the WGS 84 /
UTM zone of the geometry's centroid, clamped to zones 39N–45N (EPSG:32639–32645),
which cover Kazakhstan (46°E–88°E); inside its own zone UTM's scale error is
below 0.1 %, so areas are accurate to about 0.2 %.
"""

from __future__ import annotations

import json
import math

from django import forms
from django.conf import settings
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry
from django.utils.translation import gettext_lazy as _

from parcels.io import MAX_ABS_COORDINATE


def geometry_from_geojson(*, text: str, kinds: tuple[str, ...]) -> GEOSGeometry:
    """Parse a GeoJSON geometry drawn on the map or sent to the API (EPSG:4326) and check its type and numbers.

    A FeatureCollection (what the map's drawing tool gives) becomes one MultiPolygon of all its
    polygons, or its last line when `kinds` asks for a LineString. Raises forms.ValidationError
    with a message for the user; the forms show it on the field, the API as a 400.
    """
    try:
        value = json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except ValueError as exc:
        raise forms.ValidationError(_("The drawn shape could not be read (%(e)s).") % {"e": exc}) from exc
    if isinstance(value, dict) and value.get("type") == "FeatureCollection":
        geoms = [f.get("geometry") for f in value.get("features") or [] if isinstance(f, dict)]
        polys = [g for g in geoms if isinstance(g, dict) and g.get("type") in kinds]
        if not polys:
            raise forms.ValidationError(_("Draw the shape on the map."))
        if kinds[0] == "LineString":
            value = polys[-1]
        else:
            coords = []
            for g in polys:
                coords += [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
            value = {"type": "MultiPolygon", "coordinates": coords}
    if isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    if not isinstance(value, dict) or value.get("type") not in kinds:
        raise forms.ValidationError(_("The shape must be a %(k)s.") % {"k": " / ".join(kinds)})
    try:
        geom = GEOSGeometry(json.dumps(value), srid=4326)
    except (GEOSException, GDALException, ValueError) as exc:  # GDAL parses GeoJSON (e.g. empty coordinates)
        raise forms.ValidationError(_("The drawn shape could not be read (%(e)s).") % {"e": exc}) from exc
    if geom.empty or not all(math.isfinite(v) and abs(v) < MAX_ABS_COORDINATE for v in geom.extent):
        raise forms.ValidationError(_("The shape has no usable coordinates."))
    if geom.num_coords > settings.PARCEL_IMPORT_MAX_VERTICES:
        raise forms.ValidationError(_("The shape has too many vertices."))
    geom.srid = 4326
    return geom


def utm_srid_sql(geom_sql: str) -> str:
    """SQL expression: EPSG code of the UTM zone (39N–45N) of the centroid of `geom_sql` (EPSG:4326).

    `geom_sql` is a column or expression written in our code, never user input.
    """
    return f"(32600 + LEAST(45, GREATEST(39, floor((ST_X(ST_Centroid({geom_sql})) + 180) / 6)::int + 1)))"


def utm_srid_for_lon(lon: float) -> int:
    """Python twin of utm_srid_sql for a longitude in degrees."""
    return 32600 + min(45, max(39, int((lon + 180) // 6) + 1))
