"""The readers of parcel files: GeoJSON, zipped Shapefile, KML/KMZ, GeoPackage, CSV with WKT."""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
import sqlite3
import tempfile
from pathlib import Path

from defusedxml import ElementTree as DefusedET
from defusedxml.common import DefusedXmlException
from django.conf import settings
from django.contrib.gis.gdal import DataSource
from django.contrib.gis.gdal.error import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon, Polygon
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from gis_portal.units import size_label
from parcels import sniff
from parcels.crs import LocalCrsOptions
from parcels.io.archives import zip_extract_safe
from parcels.io.common import (
    FORMAT_LABELS,
    FORMATS,
    MAX_ABS_COORDINATE,
    UNREADABLE_GEOMETRY,
    FeatureProblem,
    FileRejected,
    RawFeature,
    ReadResult,
    _plain,
)
from parcels.io.spatial import crs_from_file_wkt, srid_allowed, to_multipolygon

logger = logging.getLogger(__name__)


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

    Text encoding and separator as Excel writes them (parcels.sniff.csv_text_decode).
    """
    decoded = sniff.csv_text_decode(data)
    if decoded is None:
        raise FileRejected(_("The CSV is neither UTF-8 nor Windows-1251 text."))
    csv.field_size_limit(settings.PARCEL_IMPORT_MAX_BYTES)
    reader = csv.DictReader(io.StringIO(decoded.text), delimiter=decoded.delimiter)
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
    return ReadResult("csv", srid, False, features, local_crs, encoding=decoded.encoding)


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
