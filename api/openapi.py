"""OpenAPI 3 descriptions generated from the registry (drf-spectacular)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from api.params import SUPPORTED_CRS
from gis_portal.geo.collections import Collection

_KIND_TYPES = {"kato": OpenApiTypes.STR, "int": OpenApiTypes.STR, "code": OpenApiTypes.STR, "bool": OpenApiTypes.STR}
_KIND_PATTERNS = {
    "kato": r"^[0-9]{9}(,[0-9]{9})*$",
    "int": r"^[0-9]{1,9}(,[0-9]{1,9})*$",
    "code": r"^[A-Za-z0-9_-]{1,60}(,[A-Za-z0-9_-]{1,60})*$",
    "bool": r"^(true|false|1|0)$",
}

LINK = {
    "type": "object",
    "required": ["href", "rel"],
    "properties": {
        "href": {"type": "string"},
        "rel": {"type": "string"},
        "type": {"type": "string"},
        "title": {"type": "string"},
    },
}
GEOMETRY = {
    "type": "object",
    "nullable": True,
    "required": ["type"],
    "properties": {"type": {"type": "string"}, "coordinates": {"type": "array", "items": {}}},
}


QUERYABLES = {
    "type": "object",
    "required": ["$schema", "$id", "type", "properties"],
    "properties": {
        "$schema": {"type": "string"},
        "$id": {"type": "string"},
        "type": {"type": "string", "enum": ["object"]},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "properties": {"type": "object", "additionalProperties": {"type": "object"}},
        "additionalProperties": {"type": "boolean"},
    },
}


def feature_schema(collection: Collection) -> dict:
    props = {}
    for name in collection.all_properties():
        props[name] = {"type": collection.property_types.get(name, "string"), "nullable": True}
    return {
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer"},
            "geometry": GEOMETRY,
            "properties": {"type": "object", "properties": props},
            "links": {"type": "array", "items": LINK},
        },
    }


def feature_collection_schema(collection: Collection) -> dict:
    return {
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "numberMatched": {"type": "integer", "minimum": 0},
            "numberReturned": {"type": "integer", "minimum": 0},
            "timeStamp": {"type": "string", "format": "date-time"},
            "count": {"type": "integer", "minimum": 0},
            "next": {"type": "string", "nullable": True},
            "previous": {"type": "string", "nullable": True},
            "links": {"type": "array", "items": LINK},
            "features": {"type": "array", "items": feature_schema(collection)},
        },
    }


# RFC 9457 problem details: every 4xx/5xx under /api/, /ogc/ and /tiles/ (api/errors.py).
PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details. `errors` lists every problem found, each naming the field, query "
    "parameter or body member it is about ('' for the request as a whole); a parcel's checks add `severity`. "
    "A stale write (409) also carries `current_version`; a refused request (429, with `Retry-After`) `limit`, "
    "the fair-use limit it is over (api/throttling.py).",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "code", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "severity": {"type": "string", "enum": ["error", "warning"]},
                },
            },
        },
        "current_version": {"type": "integer"},
        "limit": {
            "type": "object",
            "description": "requests per seconds allowed to this kind of caller (per address when anonymous)",
            "required": ["scope", "rate", "requests", "seconds"],
            "properties": {
                "scope": {"type": "string", "enum": ["anonymous", "user", "token"]},
                "rate": {"type": "string"},
                "requests": {"type": "integer"},
                "seconds": {"type": "integer"},
            },
        },
    },
}
PROBLEM_JSON = "application/problem+json"


def problem(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=PROBLEM, description=description)


def filter_parameter(name: str, spec) -> OpenApiParameter:
    """A property filter (gis_portal.geo.collections.Filter) as a query parameter: its kind's type and pattern."""
    kind_type = _KIND_TYPES.get(spec.kind, OpenApiTypes.STR)
    if spec.kind == "text":
        kind_type = {"type": "string", "minLength": 1, "maxLength": 100}
    return OpenApiParameter(name, kind_type, description=str(spec.description), pattern=_KIND_PATTERNS.get(spec.kind))


PRECISION = {"type": "integer", "minimum": 0, "maximum": 8}
SIMPLIFY = {"type": "integer", "minimum": 0, "maximum": 10000}


def item_parameters(*, ogc: bool) -> list[OpenApiParameter]:
    """Parameters of one feature (REST and OGC item views)."""
    params = [
        OpenApiParameter("id", {"type": "integer", "minimum": 1}, OpenApiParameter.PATH, description="feature id"),
        OpenApiParameter("crs", OpenApiTypes.STR, enum=SUPPORTED_CRS, description="output CRS"),
        OpenApiParameter("precision", PRECISION, description="decimals of coordinates (0–8)"),
        OpenApiParameter("simplify", SIMPLIFY, description="simplification tolerance in metres (0–10000)"),
    ]
    params.append(
        OpenApiParameter("f", OpenApiTypes.STR, enum=["json", "geojson", "html"] if ogc else ["json", "geojson"])
    )
    return params


def items_parameters(collection: Collection, *, ogc: bool, downloads: bool = True) -> list[OpenApiParameter]:
    params = [
        OpenApiParameter(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": 10000},
            description="page size (1–10000); default 10 (OGC) or 100 (REST)",
        ),
        OpenApiParameter(
            "offset",
            {"type": "integer", "minimum": 0, "maximum": 10_000_000},
            description="rows to skip (prefer the keyset `next` links)",
        ),
        OpenApiParameter("cursor", OpenApiTypes.STR, description="opaque keyset cursor from a next/prev link"),
        OpenApiParameter(
            "ordering",
            OpenApiTypes.STR,
            enum=sorted([*collection.ordering, *(f"-{o}" for o in collection.ordering)]),
            # `sortby` (the name of OGC API – Features Part 8) is accepted instead of `ordering`; it is
            # not listed as a parameter of its own because the two may not be combined.
            description="sort key; '-' first for descending (`sortby` is accepted as its synonym)",
        ),
    ]
    if collection.geometry:
        params += [
            OpenApiParameter(
                "bbox",
                OpenApiTypes.STR,
                description="minx,miny,maxx,maxy in bbox-crs (default CRS84: lon,lat)",
                style="form",
                explode=False,
            ),
            OpenApiParameter("bbox-crs", OpenApiTypes.STR, enum=SUPPORTED_CRS, description="CRS of bbox"),
            OpenApiParameter("crs", OpenApiTypes.STR, enum=SUPPORTED_CRS, description="CRS of the output geometry"),
            OpenApiParameter("precision", PRECISION, description="decimals of coordinates (0–8)"),
            OpenApiParameter("simplify", SIMPLIFY, description="simplification tolerance in metres (0–10000)"),
        ]
    if collection.updated_field:
        params += [
            OpenApiParameter(
                "datetime",
                OpenApiTypes.STR,
                description="RFC 3339 instant or interval (a/b, ../b, a/..) of the last update",
            ),
            OpenApiParameter(
                "updated_since", OpenApiTypes.DATETIME, description="rows updated at or after this instant"
            ),
        ]
    params += [filter_parameter(name, spec) for name, spec in collection.filters.items()]
    formats = ["json", "geojson", "html"] if ogc else ["json", "geojson"]
    params.append(OpenApiParameter("f", OpenApiTypes.STR, enum=formats, description="output encoding"))
    if downloads and not ogc:
        params.append(
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                enum=["geojson", "csv", "gpkg"],
                description="download every matching feature as a file",
            )
        )
    return params


def _signed_in_only(collection: Collection) -> dict:
    if collection.public:
        return {}
    return {(401, PROBLEM_JSON): problem("sign in (token or session)")}


def _html(ogc: bool, what: str) -> dict:
    if not ogc:
        return {}
    return {(200, "text/html"): OpenApiResponse(response={"type": "string"}, description=f"{what} as HTML (?f=html)")}


def items_responses(collection: Collection, *, ogc: bool = False) -> dict:
    downloads = {}
    if not ogc:
        downloads = {
            (200, "text/csv"): OpenApiResponse(response={"type": "string"}, description="?format=csv"),
            (200, "application/geopackage+sqlite3"): OpenApiResponse(
                response={"type": "string", "format": "binary"}, description="?format=gpkg"
            ),
        }
    return {
        **_signed_in_only(collection),
        (200, "application/geo+json"): OpenApiResponse(
            response=feature_collection_schema(collection), description="GeoJSON page (or ?format=geojson)"
        ),
        **downloads,
        **_html(ogc, "the page"),
        (304, "application/json"): OpenApiResponse(description="not modified since the client's copy"),
        (400, PROBLEM_JSON): problem("a parameter is not acceptable"),
        (403, PROBLEM_JSON): problem("not allowed for this client"),
        (429, PROBLEM_JSON): problem("too many requests"),
    }


def item_responses(collection: Collection, *, ogc: bool = False) -> dict:
    return {
        **_signed_in_only(collection),
        (200, "application/geo+json"): OpenApiResponse(response=feature_schema(collection), description="one feature"),
        **_html(ogc, "the feature"),
        (304, "application/json"): OpenApiResponse(description="not modified"),
        (400, PROBLEM_JSON): problem("a parameter is not acceptable"),
        (403, PROBLEM_JSON): problem("not allowed for this client"),
        (404, PROBLEM_JSON): problem("no such feature for this client"),
        (429, PROBLEM_JSON): problem("too many requests"),
    }


def collection_responses(collection: Collection) -> dict:
    """The OGC collection description (JSON or HTML)."""
    return {
        **_signed_in_only(collection),
        (200, "application/json"): OpenApiResponse(response=OpenApiTypes.OBJECT, description="the collection"),
        **_html(True, "the collection"),
        (400, PROBLEM_JSON): problem("a parameter is not acceptable"),
        (403, PROBLEM_JSON): problem("not allowed for this client"),
        (429, PROBLEM_JSON): problem("too many requests"),
    }


def queryables_responses(collection: Collection) -> dict:
    """OGC API – Features Part 3 queryables (a JSON Schema, or HTML)."""
    return {
        **_signed_in_only(collection),
        (200, "application/schema+json"): OpenApiResponse(
            response=QUERYABLES, description="JSON Schema of the queryables this caller may use"
        ),
        **_html(True, "the queryables"),
        (400, PROBLEM_JSON): problem("a parameter is not acceptable"),
        (403, PROBLEM_JSON): problem("not allowed for this client"),
        (429, PROBLEM_JSON): problem("too many requests"),
    }


# --- What holds for every operation, added once to the generated document ---------------------
# What api.params.check_metacharacters refuses (quotes, ';', '\\', control characters, SQL comments).
_NO_METACHARACTERS = "^(?!.*(--|/\\*|\\*/))[^'\";\\\\\\u0000-\\u001f\\u007f]*$"
_PROJECT_WIDE = {
    # gis_portal.middleware answers a NUL character in any query parameter with this 400.
    "400": "a query parameter contains a NUL character, or another parameter is not acceptable",
    # gis_portal.urls.handler404: an id that is not a number, or an unknown path under /api/, /ogc/, /tiles/.
    "404": "no such resource (problem details)",
}
# The web server (gunicorn) answers a request line over its limit (4094 bytes) itself.
_URI_TOO_LONG = {"description": "request line too long (the web server's limit)"}


def postprocess_schema(result: dict, generator, request, public) -> dict:
    """drf-spectacular POSTPROCESSING_HOOK: document the project-wide answers on every operation.

    The guards of gis_portal.middleware and the 404 handler apply to every route, so they
    are added here rather than to each view: a 400 (NUL in the query) and a 404; every error
    response is documented as the one problem-details body (components/schemas/Problem);
    free-text query parameters say they take no NUL character.
    """
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
    error_ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for code, description in _PROJECT_WIDE.items():
                if code == "404" and not any(p.get("in") == "path" for p in operation.get("parameters", [])):
                    continue
                responses.setdefault(code, {"description": description})
            # One error format: whatever a view documented for an error, the body is a problem document.
            for code, entry in responses.items():
                if code.isdigit() and int(code) >= 400:
                    entry["content"] = {PROBLEM_JSON: {"schema": error_ref}}
            responses.setdefault("414", dict(_URI_TOO_LONG))
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") == "query" and schema.get("type") == "string" and "enum" not in schema:
                    schema.setdefault("pattern", _NO_METACHARACTERS)
    return result
