"""Reading parcel files (GeoJSON, zipped Shapefile, KML/KMZ, GeoPackage, CSV with WKT) and writing exports.

No ORM here: readers turn a file into numbered features (GEOS geometries in
EPSG:4326 plus raw attributes) and per-feature problems; parcels.services
turns them into parcels.

Safety rules (issue 3 and 8):
- A spatial reference is never built from user-supplied WKT/PROJ text (GDAL
  < 3.9 cannot block file/network access from it). A Shapefile's .prj is
  matched to an EPSG code with pyproj (CRS.from_wkt(...).to_epsg with a
  confidence threshold) and then deleted before OGR opens the Shapefile; a
  GeoPackage's CRS is taken from its gpkg_spatial_ref_sys organisation code;
  GeoJSON's legacy "crs" member is reduced to its EPSG number. Only codes in
  ALLOWED_SRIDS are accepted, and transformations use SpatialReference(int).
- A local coordinate system (МСК, issue 15) is one an administrator registered (parcels.crs); the
  reader receives its stored definition (LocalCrsOptions) from the caller and transforms with pyproj.
  A .prj or GeoPackage CRS without an EPSG code is compared with the registered definitions
  (parcels.crs.same_projection) only to name which one it is; its own text never defines anything.
- Zip archives are checked (file count, total declared size, path traversal,
  symlinks) before anything is written, and extraction stops if a member
  inflates beyond its declared size.
- KML is parsed with defusedxml with DTDs forbidden: no external entities, no
  entity expansion.
- GeoJSON rejects NaN/Infinity; coordinates must be finite and of sane size;
  vertex and feature counts are bounded.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
import sqlite3
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from defusedxml import ElementTree as DefusedET
from defusedxml.common import DefusedXmlException
from django.conf import settings
from django.contrib.gis.gdal import DataSource
from django.contrib.gis.gdal.error import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon, Polygon
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from pyproj import CRS
from pyproj.exceptions import CRSError, ProjError

from gis_portal.units import size_label
from parcels import sniff
from parcels.crs import (  # noqa: F401 - ALLOWED_SRIDS and SRID_GROUPS are read from here by forms and tests
    ALLOWED_SRIDS,
    SRID_GROUPS,
    LocalCrs,
    LocalCrsOptions,
    local_matches,
    multipolygon_to_wgs84,
)

logger = logging.getLogger(__name__)

PRJ_MIN_CONFIDENCE = 70
MAX_ABS_COORDINATE = 1e8  # Gauss–Krüger eastings with the zone prefix reach ~3e7 m (3° zone 29)

FORMATS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".zip": "shapefile",
    ".kml": "kml",
    ".kmz": "kmz",
    ".gpkg": "gpkg",
    ".csv": "csv",
}
FORMAT_LABELS = {
    "geojson": gettext_lazy("GeoJSON"),
    "shapefile": gettext_lazy("zipped ESRI Shapefile"),
    "kml": "KML",
    "kmz": "KMZ",
    "gpkg": "GeoPackage",
    "csv": gettext_lazy("CSV with WKT"),
}


class FileRejected(ValueError):
    """The whole file is refused (unsafe archive, unreadable format, CRS not allowed)."""


UNREADABLE_GEOMETRY = gettext_lazy("unreadable geometry: the coordinates do not form a polygon")


@dataclass
class FeatureProblem:
    field: str
    message: str


@dataclass
class RawFeature:
    number: int  # 1-based, in file order
    geom: GEOSGeometry | None  # MultiPolygon in EPSG:4326 when readable
    properties: dict
    problems: list[FeatureProblem] = field(default_factory=list)


@dataclass
class ReadResult:
    format: str
    source_srid: int | None  # None when the source is a registered local system (local_crs)
    crs_from_file: bool
    features: list[RawFeature]
    local_crs: LocalCrs | None = None
    encoding: str = ""  # the text encoding found, when the format leaves it open (CSV)

    @property
    def crs_label(self) -> str:
        return self.local_crs.name if self.local_crs is not None else f"EPSG:{self.source_srid}"


# ---------------------------------------------------------------------------
# Zip safety
# ---------------------------------------------------------------------------


def _safe_member_name(name: str) -> str:
    """The member name if it is a plain relative path; FileRejected otherwise (zip slip)."""
    if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
        raise FileRejected(_("The archive contains an unsafe path: %(n)s") % {"n": name[:200]})
    parts = PurePosixPath(name).parts
    if any(p in ("..", "") for p in parts):
        raise FileRejected(_("The archive contains an unsafe path: %(n)s") % {"n": name[:200]})
    return name


def zip_members_check(archive: zipfile.ZipFile, *, max_files: int, max_total: int) -> list[zipfile.ZipInfo]:
    """Check every member before unpacking: count, declared total size, paths, symlinks."""
    infos = archive.infolist()
    if len(infos) > max_files:
        raise FileRejected(
            ngettext(
                "The archive holds %(n)d file; at most %(m)d are accepted.",
                "The archive holds %(n)d files; at most %(m)d are accepted.",
                len(infos),
            )
            % {"n": len(infos), "m": max_files}
        )
    total = 0
    for info in infos:
        _safe_member_name(info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise FileRejected(
                _("The archive contains a symbolic link (%(n)s); links are not accepted.") % {"n": info.filename}
            )
        total += info.file_size
        if total > max_total:
            raise FileRejected(
                _("The archive would unpack to more than %(limit)s; it is refused.") % {"limit": size_label(max_total)}
            )
    return infos


def zip_extract_safe(
    path: Path, dest: Path, *, max_files: int | None = None, max_total: int | None = None
) -> list[Path]:
    """Extract a checked archive into `dest`, streaming with a byte cap (headers can lie about sizes)."""
    max_files = max_files or settings.PARCEL_ZIP_MAX_FILES
    max_total = max_total or settings.PARCEL_ZIP_MAX_UNCOMPRESSED
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileRejected(_("The file is not a readable zip archive.")) from exc
    written: list[Path] = []
    budget = max_total
    with archive:
        for info in zip_members_check(archive, max_files=max_files, max_total=max_total):
            if info.is_dir():
                continue
            target = dest / PurePosixPath(info.filename).name  # flattened: directories inside are not needed
            if target.exists():
                raise FileRejected(_("The archive contains two files named %(n)s.") % {"n": target.name})
            try:
                with archive.open(info) as src, open(target, "wb") as out:
                    remaining = info.file_size
                    while chunk := src.read(min(1 << 20, remaining + 1) or 1):
                        remaining -= len(chunk)
                        budget -= len(chunk)
                        if remaining < 0 or budget < 0:
                            raise FileRejected(
                                _("An archive member is larger than it declares; the archive is refused.")
                            )
                        out.write(chunk)
            except (zipfile.BadZipFile, RuntimeError, OSError, EOFError) as exc:
                raise FileRejected(_("The archive is damaged (%(n)s).") % {"n": info.filename}) from exc
            written.append(target)
    return written


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


def _plain(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


# ---------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------


def _reject_constant(name: str):
    raise FileRejected(_("The GeoJSON contains %(c)s, which is not a number.") % {"c": name})


def _coords_ok(node, depth: int = 0) -> bool:
    if depth > 6:
        return False
    if isinstance(node, list):
        if node and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in node):
            return all(math.isfinite(v) and abs(v) < MAX_ABS_COORDINATE for v in node)
        return all(_coords_ok(n, depth + 1) for n in node)
    return False


def read_geojson(data: bytes, *, chosen_srid: int | None, local: LocalCrsOptions | None = None) -> ReadResult:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(sniff.not_utf8_message(data=data, exc=exc, format_label=FORMAT_LABELS["geojson"])) from exc
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise FileRejected(sniff.json_error_message(exc=exc, format_label=FORMAT_LABELS["geojson"])) from exc
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise FileRejected(_("The GeoJSON must be a FeatureCollection or a Feature."))
    srid, from_file = 4326, False
    local_crs = None
    crs = doc.get("crs")
    if isinstance(crs, dict):
        name = str((crs.get("properties") or {}).get("name", ""))
        match = re.search(r"EPSG:+(\d+)$", name)
        if "CRS84" in name:
            srid = 4326
        elif match:
            srid = srid_allowed(match.group(1))
        else:
            raise FileRejected(_("The GeoJSON's CRS %(n)s is not an EPSG code.") % {"n": name[:100]})
        from_file = True
    elif local is not None and local.chosen is not None:
        srid, local_crs = None, local.chosen
    elif chosen_srid:
        srid = srid_allowed(chosen_srid)
    raw = doc["features"] if doc["type"] == "FeatureCollection" else [doc]
    if not isinstance(raw, list):
        raise FileRejected(_("“features” must be a list."))
    _check_count(len(raw))
    features = []
    for number, item in enumerate(raw, start=1):
        problems: list[FeatureProblem] = []
        props = (item.get("properties") or {}) if isinstance(item, dict) else {}
        if not isinstance(props, dict):
            props = {}
        geometry = item.get("geometry") if isinstance(item, dict) else None
        geom = None
        if (
            isinstance(geometry, dict)
            and _coords_ok(geometry.get("coordinates"))
            and geometry.get("type")
            in (
                "Polygon",
                "MultiPolygon",
            )
        ):
            try:
                geom = GEOSGeometry(json.dumps(geometry))
            except (GEOSException, GDALException, ValueError) as exc:
                logger.info("parcel import: feature %s: unreadable GeoJSON geometry: %s", number, exc)
                problems.append(FeatureProblem("geometry", UNREADABLE_GEOMETRY))
        elif isinstance(geometry, dict) and geometry.get("type") not in ("Polygon", "MultiPolygon"):
            problems.append(
                FeatureProblem(
                    "geometry", _("geometry type %(t)s; a parcel must be a polygon") % {"t": geometry.get("type")}
                )
            )
        elif geometry is not None:
            problems.append(FeatureProblem("geometry", _("coordinates are not finite numbers of a sane size")))
        if geom is not None or not problems:
            geom = to_multipolygon(geom, source_srid=srid, problems=problems, local_crs=local_crs)
        features.append(RawFeature(number, geom, {k: _plain(v) for k, v in props.items()}, problems))
    return ReadResult("geojson", srid, from_file, features, local_crs)


def _check_count(n: int) -> None:
    if n == 0:
        raise FileRejected(_("The file contains no features."))
    if n > settings.PARCEL_IMPORT_MAX_FEATURES:
        raise FileRejected(
            ngettext(
                "The file contains %(n)d feature; at most %(m)d are imported at once.",
                "The file contains %(n)d features; at most %(m)d are imported at once.",
                n,
            )
            % {"n": n, "m": settings.PARCEL_IMPORT_MAX_FEATURES}
        )


def read_shapefile_zip(
    path: Path, *, chosen_srid: int | None, workdir: Path, local: LocalCrsOptions | None = None
) -> ReadResult:
    files = zip_extract_safe(path, workdir)
    shps = [f for f in files if f.suffix.lower() == ".shp"]
    if len(shps) != 1:
        raise FileRejected(
            ngettext(
                "The archive must contain exactly one .shp file; it contains %(n)d.",
                "The archive must contain exactly one .shp file; it contains %(n)d.",
                len(shps),
            )
            % {"n": len(shps)}
        )
    shp = shps[0]
    for ext in (".shx", ".dbf"):
        if not any(f.suffix.lower() == ext and f.stem == shp.stem for f in files):
            raise FileRejected(_("The Shapefile is incomplete: %(f)s is missing.") % {"f": shp.stem + ext})
    prjs = [f for f in files if f.suffix.lower() == ".prj" and f.stem == shp.stem]
    local = local or LocalCrsOptions()
    local_crs = None
    if prjs:
        text = prjs[0].read_bytes()[:65536].decode("latin-1")
        srid, local_crs, from_file = crs_from_file_wkt(text, what="prj", local=local, chosen_srid=chosen_srid)
        # OGR must not parse the user's .prj text: delete it and transform from the matched EPSG code
        # (or the registered definition).
        prjs[0].unlink()
    elif local.chosen is not None:
        srid, local_crs, from_file = None, local.chosen, False
    elif chosen_srid:
        srid, from_file = srid_allowed(chosen_srid), False
    else:
        raise FileRejected(_("The Shapefile has no .prj file; choose its coordinate system from the list."))
    # OGR reads the .cpg ("1251", "CP1251", "UTF-8" …) or the DBF's language driver byte itself and hands
    # names and texts over recoded to UTF-8: decoding them as CP1251 again garbled every Cyrillic name.
    encoding = "utf-8"
    try:
        source = DataSource(str(shp), encoding=encoding)
        layer = source[0]
    except (GDALException, IndexError) as exc:
        logger.info("parcel import: unreadable Shapefile: %s", exc)
        raise FileRejected(
            _("The Shapefile cannot be read: its .shp, .shx or .dbf file is damaged or not part of a Shapefile.")
        ) from exc
    _check_count(len(layer))
    features = []
    for number, feat in enumerate(layer, start=1):
        problems: list[FeatureProblem] = []
        props = {}
        for name in feat.fields:
            try:
                props[name] = _plain(feat.get(name))
            except (UnicodeDecodeError, ValueError) as exc:
                problems.append(
                    FeatureProblem(
                        name, _("the text is not in the declared encoding (%(e)s); add a .cpg file") % {"e": encoding}
                    )
                )
                del exc
        try:
            geom = GEOSGeometry(memoryview(bytes(feat.geom.wkb)), srid=srid or 0) if feat.geom_type.num else None
        except (GDALException, GEOSException):
            geom = None
        geom = to_multipolygon(geom, source_srid=srid, problems=problems, local_crs=local_crs)
        features.append(RawFeature(number, geom, props, problems))
    return ReadResult("shapefile", srid, from_file, features, local_crs)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kml_ring(element) -> list[tuple[float, float]]:
    for node in element.iter():
        if _local(node.tag) == "coordinates":
            points = []
            for token in (node.text or "").split():
                parts = token.split(",")
                try:
                    points.append((float(parts[0]), float(parts[1])))
                except (IndexError, ValueError):
                    raise ValueError(token) from None
            return points
    return []


def read_kml(data: bytes, *, fmt: str = "kml") -> ReadResult:
    """KML coordinates are always WGS 84 longitude,latitude[,altitude] (EPSG:4326)."""
    try:
        root = DefusedET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise FileRejected(
            _("The KML contains a document type declaration or entities; they are refused for safety.")
        ) from exc
    except DefusedET.ParseError as exc:
        if message := sniff.xml_not_utf8_message(data=data, format_label=FORMAT_LABELS["kml"]):
            raise FileRejected(message) from exc
        line, column = exc.position
        raise FileRejected(
            _("The KML is not well-formed XML: the error is at line %(line)s, column %(column)s.")
            % {"line": line, "column": column + 1}
        ) from exc
    placemarks = [el for el in root.iter() if _local(el.tag) == "Placemark"]
    _check_count(len(placemarks))
    features = []
    for number, mark in enumerate(placemarks, start=1):
        problems: list[FeatureProblem] = []
        props: dict = {}
        polygons = []
        for el in mark.iter():
            tag = _local(el.tag)
            if tag == "name" and "name" not in props:
                props["name"] = (el.text or "").strip()
            elif tag == "Data" and el.get("name"):
                value = next((c.text for c in el if _local(c.tag) == "value"), None)
                props[el.get("name")] = (value or "").strip()
            elif tag == "SimpleData" and el.get("name"):
                props[el.get("name")] = (el.text or "").strip()
            elif tag == "Polygon":
                try:
                    outer = [_kml_ring(b) for b in el if _local(b.tag) == "outerBoundaryIs"]
                    inner = [_kml_ring(b) for b in el if _local(b.tag) == "innerBoundaryIs"]
                    if outer and len(outer[0]) >= 4:
                        polygons.append(Polygon(outer[0], *inner, srid=4326))
                    else:
                        problems.append(FeatureProblem("geometry", _("a polygon ring has fewer than 4 points")))
                except ValueError as exc:
                    problems.append(
                        FeatureProblem(
                            "geometry",
                            _("unreadable coordinates “%(token)s”: a point is longitude,latitude in decimal degrees")
                            % {"token": str(exc)[:40]},
                        )
                    )
                except GEOSException as exc:
                    logger.info("parcel import: KML placemark %s: %s", number, exc)
                    problems.append(FeatureProblem("geometry", UNREADABLE_GEOMETRY))
        geom = MultiPolygon(*polygons, srid=4326) if polygons else None
        if geom is None and not problems:
            kinds = {_local(el.tag) for el in mark.iter()} & {"Point", "LineString", "LinearRing", "Model"}
            problems.append(
                FeatureProblem(
                    "geometry",
                    _("geometry type %(t)s; a parcel must be a polygon") % {"t": ", ".join(sorted(kinds)) or "—"},
                )
            )
        elif geom is not None:
            geom = to_multipolygon(geom, source_srid=4326, problems=problems)
        features.append(RawFeature(number, geom, props, problems))
    return ReadResult(fmt, 4326, True, features)


def read_kmz(path: Path, *, workdir: Path) -> ReadResult:
    files = zip_extract_safe(path, workdir)
    kmls = sorted((f for f in files if f.suffix.lower() == ".kml"), key=lambda f: (f.name != "doc.kml", f.name))
    if not kmls:
        raise FileRejected(_("The KMZ contains no .kml document."))
    return read_kml(kmls[0].read_bytes(), fmt="kmz")


_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def gpkg_blob_to_wkb(blob: bytes) -> bytes | None:
    """The WKB inside a GeoPackage geometry blob (header 'GP', version, flags, srs_id, envelope)."""
    if blob is None or len(blob) < 8 or blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry")
    flags = blob[3]
    if flags & 0b10000:  # empty geometry flag
        return None
    envelope = _ENVELOPE_BYTES.get((flags >> 1) & 0b111)
    if envelope is None:
        raise ValueError("bad envelope code")
    return bytes(blob[8 + envelope :])


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_geopackage(path: Path, *, chosen_srid: int | None, local: LocalCrsOptions | None = None) -> ReadResult:
    """Read the first feature table of a GeoPackage with sqlite3 (read-only); CRS from its EPSG organisation code."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        con.execute("PRAGMA query_only = 1")
        # A hostile file can hide an endless query in a view: abort after ~10^8 VM steps.
        budget = {"left": 100_000}
        con.set_progress_handler(lambda: budget.__setitem__("left", budget["left"] - 1) or budget["left"] < 0, 1000)
        tables = con.execute(
            "SELECT c.table_name, g.column_name, g.srs_id FROM gpkg_contents c "
            "JOIN gpkg_geometry_columns g ON g.table_name = c.table_name WHERE c.data_type = 'features' "
            "ORDER BY c.table_name"
        ).fetchall()
    except sqlite3.DatabaseError as exc:
        logger.info("parcel import: unreadable GeoPackage: %s", exc)
        raise FileRejected(
            _("The file is not a readable GeoPackage: it is damaged or has no GeoPackage tables.")
        ) from exc
    try:
        if not tables:
            raise FileRejected(_("The GeoPackage has no feature table."))
        table, column, srs_id = tables[0]
        org = con.execute(
            "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?",
            (srs_id,),
        ).fetchone()
        local = local or LocalCrsOptions()
        local_crs = None
        if org and str(org[0]).upper() == "EPSG" and org[1] not in (0, -1):
            srid, from_file = srid_allowed(org[1]), True
        elif org and local.registered and isinstance(org[2], str) and org[2].strip() not in ("", "undefined"):
            # A CRS without an EPSG code: named by the registered local system it equals, if any.
            srid, local_crs, from_file = crs_from_file_wkt(
                org[2][:65536], what="gpkg", local=local, chosen_srid=chosen_srid
            )
        elif local.chosen is not None:
            srid, local_crs, from_file = None, local.chosen, False
        elif chosen_srid:
            srid, from_file = srid_allowed(chosen_srid), False
        else:
            raise FileRejected(_("The GeoPackage's CRS has no EPSG code; choose its coordinate system from the list."))
        (count,) = con.execute(f"SELECT count(*) FROM {_quote_ident(table)}").fetchone()  # noqa: S608 - quoted identifier
        _check_count(count)
        cursor = con.execute(f"SELECT * FROM {_quote_ident(table)}")  # noqa: S608 - quoted identifier
        names = [d[0] for d in cursor.description]
        features = []
        for number, row in enumerate(cursor, start=1):
            problems: list[FeatureProblem] = []
            props = {}
            geom = None
            for name, value in zip(names, row, strict=True):
                if name == column:
                    try:
                        wkb = gpkg_blob_to_wkb(value)
                        geom = GEOSGeometry(memoryview(wkb)) if wkb else None
                    except (ValueError, GEOSException, TypeError) as exc:
                        logger.info("parcel import: GeoPackage feature %s: %s", number, exc)
                        problems.append(FeatureProblem("geometry", UNREADABLE_GEOMETRY))
                elif isinstance(value, bytes):
                    continue
                else:
                    props[name] = value
            if geom is not None or not problems:
                geom = to_multipolygon(geom, source_srid=srid, problems=problems, local_crs=local_crs)
            features.append(RawFeature(number, geom, props, problems))
    except sqlite3.DatabaseError as exc:
        logger.info("parcel import: GeoPackage read failed: %s", exc)
        raise FileRejected(_("The GeoPackage cannot be read: it is damaged.")) from exc
    finally:
        con.close()
    return ReadResult("gpkg", srid, from_file, features, local_crs)


WKT_COLUMNS = ("wkt", "geometry", "geom", "the_geom")


def read_csv(data: bytes, *, chosen_srid: int | None, local: LocalCrsOptions | None = None) -> ReadResult:
    """CSV with a WKT column (wkt / geometry / geom). Plain CSV has no CRS: the chosen one (default 4326).

    Text: UTF-8 (with or without a BOM), else Windows-1251, what Excel on a Russian or Kazakh Windows
    saves. UTF-8 is tried first because Cyrillic in Windows-1251 is almost never valid UTF-8, while
    any byte string reads as Windows-1251. Separator: the one of ";", tab and "," most frequent in the
    header line outside quotes (Excel writes ";" where the decimal sign is a comma; the header has
    no WKT, whose commas would mislead a sniffer), ";" first on a tie.
    """
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FileRejected(_("The CSV is neither UTF-8 nor Windows-1251 text."))
    header = re.sub(r'"[^"]*"', "", text.split("\n", 1)[0])
    delimiter = max((";", "\t", ","), key=lambda d: (header.count(d), d == ";", d == "\t"))
    csv.field_size_limit(settings.PARCEL_IMPORT_MAX_BYTES)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    columns = {c.lower().strip(): c for c in (reader.fieldnames or [])}
    wkt_col = next((columns[c] for c in WKT_COLUMNS if c in columns), None)
    if wkt_col is None:
        raise FileRejected(_("The CSV needs a column named wkt (or geometry) with the parcel boundary as WKT."))
    local_crs = local.chosen if local is not None else None
    srid = None if local_crs is not None else srid_allowed(chosen_srid or 4326)
    rows = list(reader)
    _check_count(len(rows))
    features = []
    for number, row in enumerate(rows, start=1):
        problems: list[FeatureProblem] = []
        value = (row.pop(wkt_col, "") or "").strip()
        geom = None
        if value.upper().startswith("SRID="):
            problems.append(
                FeatureProblem(wkt_col, _("give plain WKT; choose the CRS for the whole file instead of SRID="))
            )
        elif value:
            try:
                geom = GEOSGeometry(value)
            except (GEOSException, ValueError, GDALException) as exc:
                logger.info("parcel import: CSV row %s: %s", number, exc)
                problems.append(
                    FeatureProblem(
                        wkt_col, _("not valid WKT; a parcel is written POLYGON ((x y, x y, …)) or MULTIPOLYGON")
                    )
                )
        if not problems:
            geom = to_multipolygon(geom, source_srid=srid, problems=problems, local_crs=local_crs)
        features.append(RawFeature(number, geom, {k: v for k, v in row.items() if k is not None}, problems))
    return ReadResult(
        "csv", srid, False, features, local_crs, encoding="UTF-8" if encoding == "utf-8-sig" else "Windows-1251"
    )


def read_parcel_file(
    *, path: Path, filename: str, chosen_srid: int | None, local: LocalCrsOptions | None = None
) -> ReadResult:
    """Read an uploaded file by its extension; raises FileRejected for the whole file.

    `local`: the registered local systems of this import (the chosen one, and those a .prj may match).
    """
    suffix = Path(filename).suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        raise FileRejected(
            _("Unsupported file type %(s)s; use GeoJSON, zipped Shapefile, KML/KMZ, GeoPackage or CSV.")
            % {"s": suffix or "—"}
        )
    size = path.stat().st_size
    if size > settings.PARCEL_IMPORT_MAX_BYTES:
        raise FileRejected(
            _("The file is larger than %(limit)s.") % {"limit": size_label(settings.PARCEL_IMPORT_MAX_BYTES)}
        )
    if chosen_srid is not None:
        srid_allowed(chosen_srid)
    # Before any reader: their own error texts (decoders, OGR) must not reach the user.
    if message := sniff.wrong_kind_message(kind=sniff.path_kind_sniff(path), fmt=fmt, format_label=FORMAT_LABELS[fmt]):
        raise FileRejected(message)
    with tempfile.TemporaryDirectory(prefix="parcel-import-") as tmp:
        workdir = Path(tmp)
        if fmt == "geojson":
            return read_geojson(path.read_bytes(), chosen_srid=chosen_srid, local=local)
        if fmt == "shapefile":
            return read_shapefile_zip(path, chosen_srid=chosen_srid, workdir=workdir, local=local)
        if fmt == "kml":
            return read_kml(path.read_bytes())
        if fmt == "kmz":
            return read_kmz(path, workdir=workdir)
        if fmt == "gpkg":
            return read_geopackage(path, chosen_srid=chosen_srid, local=local)
        return read_csv(path.read_bytes(), chosen_srid=chosen_srid, local=local)
