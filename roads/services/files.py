"""What loading road networks (roads.services.networks) and their barriers (roads.services.barriers) share:
the files a planner gives — GDAL layers in one of the portal's accepted coordinate systems, OpenStreetMap
extracts —, the error a file or option that cannot be loaded raises, and two plain SQL helpers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.contrib.gis.gdal import DataSource, GDALException
from django.db import connection
from django.utils.translation import gettext as _
from pyproj import CRS
from pyproj.exceptions import CRSError

from parcels.io import PRJ_MIN_CONFIDENCE, FileRejected, srid_allowed

OSM_SUFFIXES = (".osm.pbf", ".pbf", ".osm")
VECTOR_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json")
PROGRESS_EVERY = 100_000

Progress = Callable[[str], None]


class RoadLoadError(ValueError):
    """A road or barrier file, or an option, that cannot be loaded; the message says what to do."""


def is_osm(path: Path) -> bool:
    return path.name.lower().endswith(OSM_SUFFIXES)


def layer_srid(layer, *, srid: int | None) -> int:
    """The accepted EPSG code of a layer: its own system matched by pyproj, else the `srid` given."""
    if layer.srs is None:
        if srid is None:
            raise RoadLoadError(_("The file has no coordinate system: give one with --srid."))
        return allowed_srid(srid)
    try:
        code = CRS.from_wkt(layer.srs.wkt).to_epsg(min_confidence=PRJ_MIN_CONFIDENCE)
    except CRSError as exc:
        raise RoadLoadError(_("The file's coordinate system cannot be read.")) from exc
    if code is None:
        if srid is None:
            raise RoadLoadError(
                _("The file's coordinate system (%(name)s) is not one the portal knows: give one with --srid.")
                % {"name": layer.srs.name}
            )
        code = srid
    return allowed_srid(code)


def allowed_srid(code: int) -> int:
    try:
        return srid_allowed(code)
    except FileRejected as exc:
        raise RoadLoadError(str(exc)) from exc


def open_layer(source: DataSource, *, layer_name: str | None):
    names = [layer.name for layer in source]
    if layer_name is not None:
        if layer_name not in names:
            raise RoadLoadError(
                _("The file has no layer %(layer)s (layers: %(names)s).")
                % {"layer": layer_name, "names": ", ".join(names)}
            )
        return source[layer_name]
    if len(names) != 1:
        raise RoadLoadError(
            _("The file has several layers (%(names)s): choose one with --layer.") % {"names": ", ".join(names)}
        )
    return source[0]


def text_of(value) -> str:
    return "" if value is None else str(value).strip()


def feature_geom(feature):
    """The feature's OGR geometry, or None when it has none (GDAL returns a null pointer then)."""
    try:
        return feature.geom
    except GDALException:
        return None


def line_ok(geom) -> bool:
    """At least two points in every part (PostGIS refuses a one-point line outright)."""
    parts = list(geom) if geom.geom_type.name.startswith("Multi") else [geom]
    return bool(parts) and all(part.point_count >= 2 for part in parts)


def execute(query, params=None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.rowcount


def fetch(query, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()
