"""The coordinate systems of imported parcels: the EPSG codes accepted, and local systems (МСК).

Local systems are registered by an administrator; this module checks a definition and transforms with it.

No ORM here: parcels.io and the services share it. A definition is a PROJ string or a WKT text
that an administrator entered (never one taken from an uploaded file); it is parsed by pyproj only
(GDAL never sees it) and geometries are transformed with pyproj's Transformer (always_xy: x = easting,
longitude), coordinates in the system's linear unit to EPSG:4326 degrees.

What a definition may not contain, and why (checked before pyproj parses the text, then again on the
parsed object):
- `+init=` reads a file of definitions from the PROJ search path (or any path it is given);
- `+nadgrids=`, `+geoidgrids=`, `+grids=`, `+file=`: grid files read when transforming, fetched from the
  PROJ content delivery network when networking is on. Even `@null` is refused: it still names a grid
  looked up on the search path, and a local system has no use for it (its datum shift is the 3- or
  7-parameter `+towgs84`);
- in WKT: PARAMETERFILE (a grid of a datum shift), EXTENSION (WKT1's embedded PROJ string, which could
  carry the above), URI and anything URL-like (`scheme://`, `file:`);
- a bound CRS whose datum shift is anything but a Helmert transformation (TOWGS84).
Only projected, two-dimensional systems are accepted: parcels are surveyed in metres on a plane.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass

from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.utils.translation import gettext as _
from pyproj import CRS, Geod, Transformer
from pyproj.exceptions import CRSError, ProjError

# EPSG codes accepted for imported data (issues 3 and 15), written out from EPSG's ranges and checked
# against pyproj's database (tests/parcels/test_parcel_crs.py: name, datum, zone, area of use over
# Kazakhstan's 46°E–88°E). Gauss–Krüger systems come in two forms: "zone N" eastings carry the zone
# number in front (zone 24: 24 500 000 m at the central meridian), "CM" ones do not (500 000 m).
# 6° zones 8–15 have central meridians 45°E–87°E; 3° zones 15–29 have 45°E–87°E. EPSG:2600 is not
# a Pulkovo code, hence the gap in the 3° CM range of Pulkovo 1942.
_GK6_CMS = range(45, 88, 6)  # zones 8..15
_GK3_CMS = range(45, 88, 3)  # zones 15..29
_P42_GK3_CM_CODES = [*range(2590, 2600), *range(2601, 2606)]
SRID_GROUPS: dict[str, dict[int, str]] = {
    "wgs84": {
        4326: "WGS 84 (EPSG:4326)",
        3857: "WGS 84 / Pseudo-Mercator (EPSG:3857)",
        **{32600 + z: f"WGS 84 / UTM zone {z}N (EPSG:{32600 + z})" for z in range(39, 46)},
    },
    "pulkovo1942": {
        4284: "Pulkovo 1942, longitude/latitude (EPSG:4284)",
        **{28400 + z: f"Pulkovo 1942 / 6° Gauss-Kruger zone {z} (EPSG:{28400 + z})" for z in range(8, 16)},
        **{2498 + i: f"Pulkovo 1942 / 6° Gauss-Kruger CM {cm}°E (EPSG:{2498 + i})" for i, cm in enumerate(_GK6_CMS)},
        **{2516 + z: f"Pulkovo 1942 / 3° Gauss-Kruger zone {z} (EPSG:{2516 + z})" for z in range(15, 30)},
        **{
            code: f"Pulkovo 1942 / 3° Gauss-Kruger CM {cm}°E (EPSG:{code})"
            for code, cm in zip(_P42_GK3_CM_CODES, _GK3_CMS, strict=True)
        },
    },
    "pulkovo1995": {
        4200: "Pulkovo 1995, longitude/latitude (EPSG:4200)",
        **{20000 + z: f"Pulkovo 1995 / 6° Gauss-Kruger zone {z} (EPSG:{20000 + z})" for z in range(8, 16)},
        **{2467 + i: f"Pulkovo 1995 / 6° Gauss-Kruger CM {cm}°E (EPSG:{2467 + i})" for i, cm in enumerate(_GK6_CMS)},
        **{2634 + z: f"Pulkovo 1995 / 3° Gauss-Kruger zone {z} (EPSG:{2634 + z})" for z in range(15, 30)},
        **{2707 + i: f"Pulkovo 1995 / 3° Gauss-Kruger CM {cm}°E (EPSG:{2707 + i})" for i, cm in enumerate(_GK3_CMS)},
    },
}
ALLOWED_SRIDS: dict[int, str] = {code: label for group in SRID_GROUPS.values() for code, label in group.items()}

MAX_DEFINITION_CHARS = 10_000
MAX_TOLERANCE_M = 10.0  # a test point further off than this cannot vouch for parcel boundaries
PROJ_FILE_KEYS = frozenset({"init", "nadgrids", "geoidgrids", "grids", "file"})
# EPSG methods of a TOWGS84 datum shift: geocentric translations, position vector, coordinate frame.
HELMERT_METHOD_CODES = frozenset({"9603", "9606", "9607"})
WKT_START = re.compile(r"^\s*(PROJCS|PROJCRS|PROJECTEDCRS|BOUNDCRS)\s*\[", re.IGNORECASE)
WKT_FORBIDDEN = re.compile(r"PARAMETERFILE|EXTENSION\s*\[|GRIDFILE|URI\s*\[", re.IGNORECASE)
URL_LIKE = re.compile(r"[a-z][a-z0-9+.-]*://|\bfile:", re.IGNORECASE)
WGS84 = CRS.from_epsg(4326)
GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class LocalCrs:
    """A registered local system as the readers see it: its id, name and stored definition."""

    pk: int
    name: str
    definition: str


@dataclass(frozen=True)
class LocalCrsOptions:
    """The local systems of one import: the user's choice (for a file without a CRS) and those a .prj may match."""

    chosen: LocalCrs | None = None
    registered: tuple[LocalCrs, ...] = ()


@dataclass(frozen=True)
class CrsProblem:
    field: str
    message: str


def _proj_string_problems(text: str) -> list[str]:
    problems = []
    for token in text.split():
        key, _sep, value = token.lstrip("+").partition("=")
        if key.lower() == "init":
            problems.append(_("“+init=” reads definitions from a file; write the parameters out instead."))
        elif key.lower() in PROJ_FILE_KEYS:
            problems.append(
                _("“+%(k)s=%(v)s” refers to a grid file; only a +towgs84 datum shift is accepted.")
                % {"k": key, "v": value[:60]}
            )
    return problems


def definition_parse(definition: str) -> tuple[CRS | None, list[str]]:
    """Parse a trusted definition (PROJ string or WKT) with pyproj after refusing file and network references.

    Returns (crs, []) or (None, [messages]). The text checks run before pyproj sees the text, so a
    refused definition is never parsed.
    """
    text = (definition or "").strip()
    if not text:
        return None, [_("Enter the definition: a PROJ string (+proj=tmerc …) or WKT (PROJCS[…]).")]
    if len(text) > MAX_DEFINITION_CHARS:
        return None, [_("The definition is longer than %(n)d characters.") % {"n": MAX_DEFINITION_CHARS}]
    if URL_LIKE.search(text):
        return None, [_("The definition contains an address (URL or file:); it must not refer to anything outside.")]
    is_proj = re.match(r"^\+?proj=", text) is not None
    if is_proj:
        problems = _proj_string_problems(text)
    elif WKT_START.match(text):
        found = WKT_FORBIDDEN.search(text)
        problems = (
            [
                _("The WKT contains %(m)s, which can refer to files; give the parameters without it.")
                % {"m": found.group(0).rstrip("[ ")}
            ]
            if found
            else []
        )
    else:
        return None, [_("The definition must be a PROJ string (starting with +proj=) or a projected CRS in WKT.")]
    if problems:
        return None, problems
    try:
        crs = CRS.from_proj4(text) if is_proj else CRS.from_wkt(text)
    except CRSError as exc:
        return None, [_("pyproj cannot read the definition: %(e)s") % {"e": str(exc)[:200]}]
    return crs, _structure_problems(crs)


def _structure_problems(crs: CRS) -> list[str]:
    base = crs.source_crs if crs.is_bound else crs
    problems = []
    if crs.is_bound:
        method = str(crs.coordinate_operation.method_code or "") if crs.coordinate_operation else ""
        if method not in HELMERT_METHOD_CODES:
            problems.append(_("The datum shift must be a +towgs84 (Helmert) transformation, not a grid."))
    if base is None or not base.is_projected or base.is_compound or len(base.axis_info) != 2:
        problems.append(_("The definition must be a projected two-dimensional system (x, y in metres)."))
    elif any(a.unit_name not in ("metre", "meter", "m") for a in base.axis_info):
        problems.append(_("The system's axes must be in metres."))
    return problems


@functools.lru_cache(maxsize=32)
def _transformer(definition: str) -> Transformer:
    # Cached per definition text: building one takes milliseconds and an import transforms every vertex.
    crs, problems = definition_parse(definition)
    if crs is None or problems:
        raise ValueError("; ".join(problems))
    return Transformer.from_crs(crs, WGS84, always_xy=True)


def to_wgs84(xs: list[float], ys: list[float], *, definition: str) -> tuple[list[float], list[float]]:
    """Transform local x (easting) / y (northing) in metres to WGS 84 longitudes / latitudes in degrees.

    Raises ProjError when a point cannot be transformed.
    """
    lons, lats = _transformer(definition).transform(xs, ys, errcheck=True)
    return list(lons), list(lats)


def multipolygon_to_wgs84(geom: MultiPolygon, *, local: LocalCrs) -> MultiPolygon:
    """Transform a MultiPolygon in a registered local system (metres) to EPSG:4326 with pyproj."""
    polygons = []
    for polygon in geom:
        rings = []
        for ring in polygon:
            coords = ring.coords
            lons, lats = to_wgs84([c[0] for c in coords], [c[1] for c in coords], definition=local.definition)
            rings.append(list(zip(lons, lats, strict=True)))
        polygons.append(Polygon(*rings, srid=4326))
    return MultiPolygon(*polygons, srid=4326)


def point_to_wgs84(*, x: float, y: float, srid: int | None = None, local: LocalCrs | None = None) -> Point:
    """A point typed in EPSG:`srid` (one of ALLOWED_SRIDS) or in a registered local system, as EPSG:4326.

    x is the easting or longitude, y the northing or latitude, in the system's units. EPSG codes are
    transformed by GDAL from the code (as parcel files are), local systems by pyproj from their stored
    definition. Raises ValueError for a code not allowed, GDALException or ProjError when the point
    cannot be transformed.
    """
    if local is not None:
        lons, lats = to_wgs84([x], [y], definition=local.definition)
        return Point(lons[0], lats[0], srid=4326)
    if srid not in ALLOWED_SRIDS:
        raise ValueError(f"EPSG:{srid} is not an allowed coordinate system")
    point = Point(x, y, srid=srid)
    if srid != 4326:
        point.transform(4326)
    return point


def definition_check(
    *, definition: str, test_x: float, test_y: float, test_lon: float, test_lat: float, tolerance_m: float
) -> list[CrsProblem]:
    """Everything wrong with a definition and its test point; [] when it may be saved.

    The test point (x, y in the system, metres) must transform to (lon, lat) in WGS 84 degrees
    within `tolerance_m` metres (geodesic distance on the WGS 84 ellipsoid).
    """
    crs, messages = definition_parse(definition)
    problems = [CrsProblem("definition", m) for m in messages]
    if not (0 < tolerance_m <= MAX_TOLERANCE_M):
        problems.append(
            CrsProblem("tolerance_m", _("The tolerance must be above 0 and at most %(m)g m.") % {"m": MAX_TOLERANCE_M})
        )
    if crs is None or problems:
        return problems
    try:
        lons, lats = to_wgs84([test_x], [test_y], definition=definition)
    except ProjError as exc:
        return [CrsProblem("test_x", _("The test point cannot be transformed: %(e)s") % {"e": str(exc)[:200]})]
    lon, lat = lons[0], lats[0]
    if not (math.isfinite(lon) and math.isfinite(lat)):
        return [CrsProblem("test_x", _("The test point cannot be transformed (no finite result)."))]
    distance = GEOD.inv(test_lon, test_lat, lon, lat)[2]
    if distance > tolerance_m:
        problems.append(
            CrsProblem(
                "test_x",
                _(
                    "The test point %(x).3f, %(y).3f gives longitude %(lon).7f, latitude %(lat).7f: "
                    "%(d).2f m from the given point (tolerance %(t)g m). Check the parameters and the point."
                )
                % {"x": test_x, "y": test_y, "lon": lon, "lat": lat, "d": distance, "t": tolerance_m},
            )
        )
    return problems


def _signature(crs: CRS) -> tuple | None:
    """What identifies a projected system for matching a .prj: method, parameters, ellipsoid, meridian, unit.

    The datum shift is left out: the ESRI WKT of a Shapefile's .prj cannot hold TOWGS84, so a .prj of
    a local system never carries it; the stored definition (with its shift) is used to transform.
    Parameter values are in SI units (radians, metres, unitless), keyed by EPSG parameter code.
    """
    base = crs.source_crs if crs.is_bound else crs
    if base is None or not base.is_projected or base.coordinate_operation is None or base.ellipsoid is None:
        return None
    op = base.coordinate_operation
    params = {(p.code or p.name.lower()): p.value * p.unit_conversion_factor for p in op.params}
    units = tuple(a.unit_conversion_factor for a in base.axis_info)
    return (
        op.method_code or op.method_name.lower(),
        params,
        base.ellipsoid.semi_major_metre,
        base.ellipsoid.inverse_flattening,
        base.prime_meridian.longitude if base.prime_meridian else 0.0,
        units,
    )


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def same_projection(a: CRS, b: CRS) -> bool:
    """Do `a` and `b` project alike (see _signature: method, parameters, ellipsoid, meridian, unit)?"""
    sa, sb = _signature(a), _signature(b)
    if sa is None or sb is None or sa[0] != sb[0] or sa[1].keys() != sb[1].keys():
        return False
    return (
        all(_close(sa[1][k], sb[1][k]) for k in sa[1])
        and math.isclose(sa[2], sb[2], abs_tol=1e-3)
        and math.isclose(sa[3], sb[3], rel_tol=1e-9)
        and _close(sa[4], sb[4])
        and sa[5] == sb[5]
    )


def local_matches(crs: CRS, *, registered: tuple[LocalCrs, ...]) -> list[LocalCrs]:
    """The registered systems that `crs` (read from a file's .prj or GeoPackage) projects like."""
    found = []
    for local in registered:
        stored, problems = definition_parse(local.definition)
        if stored is not None and not problems and same_projection(crs, stored):
            found.append(local)
    return found
