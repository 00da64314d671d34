"""Checking of query parameters. Every value is validated against an allow-list or a
strict format; anything else raises ParamError (HTTP 400 with a JSON body naming it).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.contrib.gis.geos import Polygon
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from gis_portal.geo.collections import Collection, ParamError

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
# Output / bbox CRSs (OGC API – Features Part 2): WGS 84 and the UTM zones over Kazakhstan.
UTM_KZ = tuple(range(32639, 32646))
SUPPORTED_SRIDS = (4326, 3857, *UTM_KZ)
SUPPORTED_CRS = [CRS84, *(EPSG_URI.format(s) for s in SUPPORTED_SRIDS)]

# Characters that have a meaning in SQL (quotes, statement separator, comments, escapes, NUL).
# No parameter of this API legitimately contains them, so a request that does is refused.
_SQL_META = re.compile(r"['\";\\\x00-\x1f\x7f]|--|/\*|\*/")

COMMON_PARAMS = {
    "limit",
    "offset",
    "cursor",
    "ordering",
    "sortby",
    "bbox",
    "bbox-crs",
    "crs",
    "datetime",
    "updated_since",
    "precision",
    "simplify",
    "f",
    "format",
}
DOWNLOAD_FORMATS = ("geojson", "csv", "gpkg")


def check_metacharacters(params) -> None:
    """Refuse any parameter whose name or value contains SQL metacharacters."""
    for key in params:
        if _SQL_META.search(key):
            raise ParamError(
                key[:40], _("parameter names may not contain quotes, ';', '\\', comments or control characters")
            )
        for value in params.getlist(key):
            if _SQL_META.search(value):
                raise ParamError(key, _("may not contain quotes, ';', '\\', SQL comments or control characters"))


@dataclass(frozen=True)
class CRS:
    srid: int
    uri: str
    flip_axes: bool  # EPSG:4326 is latitude-first in its authority definition

    @property
    def projected(self) -> bool:
        return self.srid != 4326


def crs_parse(name: str, raw: str | None) -> CRS:
    if raw is None or raw in (CRS84, "CRS84", "OGC:CRS84"):
        return CRS(4326, CRS84, False)
    text = raw.strip()
    match = re.fullmatch(r"(?:http://www\.opengis\.net/def/crs/EPSG/0/|EPSG:)([0-9]{4,5})", text)
    if not match or int(match.group(1)) not in SUPPORTED_SRIDS:
        raise ParamError(
            name,
            _("unsupported CRS %(crs)r; supported: %(supported)s")
            % {"crs": text, "supported": ", ".join(SUPPORTED_CRS)},
        )
    srid = int(match.group(1))
    return CRS(srid, EPSG_URI.format(srid), srid == 4326)


@dataclass(frozen=True)
class Box:
    """A bbox: its corners in the CRS `srid` (x, y in that CRS's GIS order: lon, lat for EPSG:4326)."""

    x1: float
    y1: float
    x2: float
    y2: float
    srid: int

    @cached_property
    def polygon(self) -> Polygon:
        """The box as a GEOS polygon (for the ORM's filters; rings as Polygon.from_bbox writes them)."""
        box = Polygon.from_bbox((self.x1, self.y1, self.x2, self.y2))
        box.srid = self.srid
        return box

    @cached_property
    def ewkb(self) -> bytes:
        """The polygon's EWKB (little-endian, with its SRID), the bytes PostGIS receives for it.

        Written with struct: the same bytes as GEOS writes for `polygon` (tests/api/test_items_reads.py),
        without the thirty-odd GEOS calls that building and writing a polygon costs per request.
        """
        x1, y1, x2, y2 = self.x1, self.y1, self.x2, self.y2
        ring = (x1, y1, x1, y2, x2, y2, x2, y1, x1, y1)
        return struct.pack("<BIIII10d", 1, _EWKB_POLYGON_WITH_SRID, self.srid, 1, 5, *ring)


_EWKB_POLYGON_WITH_SRID = 3 | 0x20000000  # WKB type Polygon with PostGIS's SRID flag


def bbox_parse(raw: str, crs: CRS) -> Box:
    parts = raw.split(",")
    if len(parts) not in (4, 6):
        raise ParamError("bbox", _("must be 4 (or 6) comma-separated numbers: minx,miny,maxx,maxy"))
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ParamError("bbox", _("must contain numbers only")) from None
    if not all(math.isfinite(n) for n in numbers):
        raise ParamError("bbox", _("numbers must be finite"))
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    x1, y1, x2, y2 = numbers
    if crs.flip_axes:  # EPSG:4326 in authority order: lat,lon
        x1, y1, x2, y2 = y1, x1, y2, x2
    if x1 > x2 or y1 > y2:
        raise ParamError("bbox", _("the lower corner must come first (minx <= maxx, miny <= maxy)"))
    if crs.srid == 4326 and not (-180 <= x1 <= 180 and -180 <= x2 <= 180 and -90 <= y1 <= 90 and -90 <= y2 <= 90):
        raise ParamError("bbox", _("longitudes must be within ±180 and latitudes within ±90"))
    if crs.srid != 4326 and not all(abs(n) <= 2.1e7 for n in numbers):
        raise ParamError("bbox", _("coordinates out of range for the bbox CRS"))
    return Box(x1, y1, x2, y2, crs.srid)


MAX_UTC_OFFSET = dt.timedelta(hours=14)  # the widest offset in use (UTC+14, Kiribati)


def _instant(name: str, text: str) -> dt.datetime:
    try:
        value = parse_datetime(text)
        day = parse_date(text) if value is None and len(text) == 10 else None
    except ValueError:
        raise ParamError(name, _("%(value)r is not a valid date-time") % {"value": text}) from None
    if value is None:
        if day is None:
            raise ParamError(name, _("%(value)r is not an RFC 3339 date-time or date") % {"value": text})
        value = dt.datetime.combine(day, dt.time.min)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    elif abs(value.utcoffset()) > MAX_UTC_OFFSET:
        # PostgreSQL refuses offsets beyond ±15:59 (DataError, a 500 before; found by scripts/fuzz).
        raise ParamError(name, _("%(value)r: the UTC offset must be within ±14:00") % {"value": text})
    return value


def datetime_parse(name: str, raw: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """OGC `datetime`: an instant, or an interval `start/end` with `..` for an open end."""
    try:
        if "/" in raw:
            start, end = raw.split("/", 1)
            lo = None if start in ("", "..") else _instant(name, start)
            hi = None if end in ("", "..") else _instant(name, end)
            if lo is None and hi is None:
                raise ParamError(name, _("an interval needs at least one end"))
            if lo and hi and lo > hi:
                raise ParamError(name, _("the interval's start is after its end"))
            return lo, hi
        value = _instant(name, raw)
        return value, value
    except (ValueError, OverflowError) as exc:
        if isinstance(exc, ParamError):
            raise
        raise ParamError(name, _("%(value)r is not a valid date-time") % {"value": raw}) from None


def _int(name: str, raw: str, lo: int, hi: int) -> int:
    if not raw.isdigit() or len(raw) > 9:
        raise ParamError(name, _("must be a whole number between %(lo)d and %(hi)d") % {"lo": lo, "hi": hi})
    value = int(raw)
    if not lo <= value <= hi:
        raise ParamError(name, _("must be between %(lo)d and %(hi)d") % {"lo": lo, "hi": hi})
    return value


@dataclass(frozen=True)
class Cursor:
    key: list
    forward: bool
    ordering: str

    def encode(self) -> str:
        payload = json.dumps({"k": self.key, "d": "n" if self.forward else "p", "o": self.ordering})
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, raw: str) -> Cursor:
        try:
            data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
            key, direction, ordering = data["k"], data["d"], data["o"]
        except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise ParamError("cursor", _("is not a cursor given by a next/prev link")) from None
        if not (isinstance(key, list) and len(key) == 2 and direction in ("n", "p") and isinstance(ordering, str)):
            raise ParamError("cursor", _("is not a cursor given by a next/prev link"))
        if not all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in key):
            raise ParamError("cursor", _("is not a cursor given by a next/prev link"))
        return cls(key=key, forward=direction == "n", ordering=ordering)


@dataclass(frozen=True)
class ItemsQuery:
    limit: int
    offset: int = 0
    cursor: Cursor | None = None
    ordering: str = "id"  # as given, with "-" for descending
    ordering_param: str = "sortby"  # the parameter the client sent it in (errors name it)
    order_field: str = "pk"
    descending: bool = False
    bbox: Box | None = None
    crs: CRS = CRS(4326, CRS84, False)
    datetime: tuple | None = None
    updated_since: dt.datetime | None = None
    precision: int = 6
    simplify_m: float | None = None
    filters: dict = field(default_factory=dict)
    download: str | None = None


def unknown_parameter(key: str, allowed: Iterable[str]) -> ParamError:
    """The error for a query parameter the endpoint does not take, listing `allowed` in the order given."""
    return ParamError(key, _("unknown parameter; allowed: %(allowed)s") % {"allowed": ", ".join(allowed)})


def downloads_elsewhere(collection: Collection) -> str:
    """The message for `format` where no download is offered (OGC items, single items): where to get one."""
    if not collection.rest:
        return _("downloads are not offered here")
    return _("downloads are not offered here; the REST collection offers them: /api/v1/%(id)s/?format=%(formats)s") % {
        "id": collection.id,
        "formats": "|".join(DOWNLOAD_FORMATS),
    }


def items_query_parse(params, collection: Collection, *, default_limit: int, allow_download: bool) -> ItemsQuery:
    """Parse the query string of an items request for `collection`; unknown names are refused."""
    check_metacharacters(params)
    allowed = COMMON_PARAMS | set(collection.filters)
    for key in params:
        if key not in allowed:
            raise unknown_parameter(key, sorted(allowed))
        if len(params.getlist(key)) > 1:
            raise ParamError(key, _("given more than once"))
    max_limit = settings.API_MAX_LIMIT
    limit = _int("limit", params["limit"], 1, max_limit) if "limit" in params else default_limit
    offset = _int("offset", params["offset"], 0, 10_000_000) if "offset" in params else 0

    if "ordering" in params and "sortby" in params:
        raise ParamError("sortby", _("give either ordering or sortby"))
    # An empty value is refused like any other unknown key, not read as "the default".
    ordering_param = "ordering" if "ordering" in params else "sortby"
    ordering = params.get("ordering", params.get("sortby", collection.default_ordering))
    name = ordering.lstrip("+-")
    if "," in ordering or name not in collection.ordering:
        raise ParamError(
            ordering_param,
            _("%(value)r is not allowed; use one of %(allowed)s ('-' first for descending)")
            % {"value": ordering, "allowed": ", ".join(sorted(collection.ordering))},
        )
    descending = ordering.startswith("-")

    cursor = Cursor.decode(params["cursor"]) if "cursor" in params else None
    if cursor and cursor.ordering != ordering:
        # Named after the sort parameter the client sent (`sortby` or `ordering`), never the other one.
        raise ParamError(
            "cursor",
            _("was made for another sort order; send the %(param)s it was made with, or no cursor")
            % {"param": ordering_param},
        )
    if cursor and "offset" in params:
        raise ParamError("offset", _("give either offset or cursor"))

    crs = crs_parse("crs", params.get("crs"))
    bbox_crs = crs_parse("bbox-crs", params.get("bbox-crs"))
    if "bbox-crs" in params and "bbox" not in params:
        raise ParamError("bbox-crs", _("only makes sense with bbox"))
    bbox = None
    if "bbox" in params:
        if not collection.geometry:
            raise ParamError("bbox", _("this collection has no geometry"))
        bbox = bbox_parse(params["bbox"], bbox_crs)

    dt_range = None
    updated_since = None
    if "datetime" in params or "updated_since" in params:
        if not collection.updated_field:
            raise ParamError(
                "datetime" if "datetime" in params else "updated_since", _("this collection has no time property")
            )
        if "datetime" in params:
            dt_range = datetime_parse("datetime", params["datetime"])
        if "updated_since" in params:
            updated_since = _instant("updated_since", params["updated_since"])

    default_precision = 2 if crs.projected and crs.srid != 4326 else 6
    precision = _int("precision", params["precision"], 0, 8) if "precision" in params else default_precision
    simplify_m = None
    if "simplify" in params:
        simplify_m = float(_int("simplify", params["simplify"], 0, 10_000)) or None

    filters = {k: collection.filters[k].parse(k, params[k]) for k in collection.filters if k in params}

    download = None
    if "format" in params:
        if not allow_download:
            raise ParamError("format", downloads_elsewhere(collection))
        download = params["format"].lower()
        if download not in DOWNLOAD_FORMATS:
            raise ParamError(
                "format",
                _("must be one of %(formats)s (a download); the response's own encoding is chosen with f")
                % {"formats": ", ".join(DOWNLOAD_FORMATS)},
            )
    return ItemsQuery(
        limit=limit,
        offset=offset,
        cursor=cursor,
        ordering=ordering,
        ordering_param=ordering_param,
        order_field=collection.ordering[name],
        descending=descending,
        bbox=bbox,
        crs=crs,
        datetime=dt_range,
        updated_since=updated_since,
        precision=precision,
        simplify_m=simplify_m,
        filters=filters,
        download=download,
    )
