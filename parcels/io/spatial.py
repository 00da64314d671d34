"""Coordinate systems of uploaded parcel files (EPSG allow-list, .prj matching) and their geometries in EPSG:4326."""

from __future__ import annotations

import logging
import math
import re

from django.conf import settings
from django.contrib.gis.gdal.error import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon
from django.utils.translation import gettext as _
from pyproj import CRS
from pyproj.exceptions import CRSError, ProjError

from parcels.crs import ALLOWED_SRIDS, LocalCrs, LocalCrsOptions, local_matches, multipolygon_to_wgs84
from parcels.io.common import MAX_ABS_COORDINATE, PRJ_MIN_CONFIDENCE, FeatureProblem, FileRejected

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------
# Geometry helpers
# ---------------------------------------------------------------------------


def _wkt_crs(text: str, *, what: str) -> CRS:
    """Parse a file's WKT (`what`: "prj" or "gpkg") with pyproj; FileRejected if it is not WKT."""
    text = text.strip()
    if not re.match(r"^(PROJCS|GEOGCS|PROJCRS|GEOGCRS|PROJECTEDCRS|GEODCRS|GEOGRAPHICCRS)\[", text, re.I):
        raise FileRejected(
            _("The .prj file is not a WKT coordinate system definition.")
            if what == "prj"
            else _("The GeoPackage's coordinate system is not a WKT definition.")
        )
    try:
        return CRS.from_wkt(text)
    except CRSError as exc:
        raise FileRejected(
            _("The .prj file cannot be read as a coordinate system.")
            if what == "prj"
            else _("The GeoPackage's coordinate system cannot be read.")
        ) from exc


def _unknown_crs(crs: CRS, *, what: str) -> FileRejected:
    advice = _(
        "Choose the file's coordinate system in the list, or ask an administrator to register it "
        "as a local coordinate system."
    )
    if what == "prj":
        known = _("The coordinate system of the .prj file (%(name)s) is not one the portal knows.")
    else:
        known = _("The coordinate system of the GeoPackage (%(name)s) is not one the portal knows.")
    return FileRejected(f"{known % {'name': crs.name}} {advice}")


def srid_from_prj(text: str) -> int:
    """EPSG code of a .prj (WKT) text, matched by pyproj; only allow-listed codes pass."""
    crs = _wkt_crs(text, what="prj")
    code = crs.to_epsg(min_confidence=PRJ_MIN_CONFIDENCE)
    if code is None:
        raise _unknown_crs(crs, what="prj")
    return srid_allowed(code)


def crs_from_file_wkt(
    text: str, *, what: str, local: LocalCrsOptions, chosen_srid: int | None
) -> tuple[int | None, LocalCrs | None, bool]:
    """(EPSG code, local system, from the file?) for a CRS a file describes in WKT (`what`: "prj" or "gpkg").

    In order: an allow-listed EPSG code pyproj identifies; a registered local system that projects
    alike (the user's chosen one first when several do); the user's own choice when the WKT matches
    nothing; otherwise FileRejected with a message telling what to do.
    """
    crs = _wkt_crs(text, what=what)
    code = crs.to_epsg(min_confidence=PRJ_MIN_CONFIDENCE)
    if code is not None:
        return srid_allowed(code), None, True
    matches = local_matches(crs, registered=local.registered)
    if local.chosen is not None and local.chosen in matches:
        return None, local.chosen, True
    if len(matches) == 1:
        return None, matches[0], True
    if matches:
        raise FileRejected(
            _("The file's coordinate system fits several local systems (%(names)s); choose one in the list.")
            % {"names": ", ".join(m.name for m in matches)}
        )
    if local.chosen is not None:
        return None, local.chosen, False
    if chosen_srid:
        return srid_allowed(chosen_srid), None, False
    raise _unknown_crs(crs, what=what)


def srid_allowed(code: int | str | None) -> int:
    try:
        code = int(code)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise FileRejected(_("Unknown coordinate system %(c)s.") % {"c": code}) from exc
    if code not in ALLOWED_SRIDS:
        raise FileRejected(
            _("The coordinate system EPSG:%(c)s is not accepted. Accepted: %(list)s.")
            % {"c": code, "list": ", ".join(str(c) for c in ALLOWED_SRIDS)}
        )
    return code


def to_multipolygon(
    geom: GEOSGeometry | None,
    *,
    source_srid: int | None,
    problems: list[FeatureProblem],
    local_crs: LocalCrs | None = None,
) -> GEOSGeometry | None:
    """Check and convert a feature geometry to a MultiPolygon in EPSG:4326 (coordinates finite and bounded).

    The source is EPSG:`source_srid` (transformed by GDAL from the code), or the registered
    `local_crs` (transformed by pyproj from its stored definition).
    """
    if geom is None or geom.empty:
        problems.append(FeatureProblem("geometry", _("the feature has no geometry")))
        return None
    if geom.geom_type == "Polygon":
        geom = MultiPolygon(geom, srid=geom.srid)
    elif geom.geom_type == "GeometryCollection" and all(g.geom_type == "Polygon" for g in geom):
        geom = MultiPolygon(*list(geom), srid=geom.srid)
    if geom.geom_type != "MultiPolygon":
        problems.append(
            FeatureProblem("geometry", _("geometry type %(t)s; a parcel must be a polygon") % {"t": geom.geom_type})
        )
        return None
    if geom.num_coords > settings.PARCEL_IMPORT_MAX_VERTICES:
        problems.append(
            FeatureProblem(
                "geometry",
                _("%(n)d vertices is too many for a parcel; at most %(m)d are accepted")
                % {"n": geom.num_coords, "m": settings.PARCEL_IMPORT_MAX_VERTICES},
            )
        )
        return None
    extent = geom.extent
    if not all(math.isfinite(v) and abs(v) < MAX_ABS_COORDINATE for v in extent):
        problems.append(FeatureProblem("geometry", _("coordinates are not finite numbers of a sane size")))
        return None
    if local_crs is not None:
        try:
            geom = multipolygon_to_wgs84(geom, local=local_crs)
        except (ProjError, GEOSException) as exc:
            logger.info("parcel import: transformation from %s failed: %s", local_crs.name, exc)
            problems.append(
                FeatureProblem(
                    "geometry",
                    _("the coordinates cannot be transformed from %(s)s; check the coordinate system chosen")
                    % {"s": local_crs.name},
                )
            )
            return None
    else:
        geom.srid = source_srid
        if source_srid != 4326:
            try:
                geom.transform(4326)
            except (GDALException, GEOSException) as exc:
                logger.info("parcel import: transformation from EPSG:%s failed: %s", source_srid, exc)
                problems.append(
                    FeatureProblem(
                        "geometry",
                        _("the coordinates cannot be transformed from %(s)s; check the coordinate system chosen")
                        % {"s": f"EPSG:{source_srid}"},
                    )
                )
                return None
    x0, y0, x1, y1 = geom.extent
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        problems.append(
            FeatureProblem(
                "geometry",
                _("coordinates %(x).1f, %(y).1f are not longitude/latitude; choose the file's projected CRS")
                % {"x": x0, "y": y0},
            )
        )
        return None
    return geom
