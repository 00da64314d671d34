"""GeoJSON built inside PostGIS, returned as text and never parsed in Python.

RFC 7946: EPSG:4326, longitude first, exterior rings counter-clockwise
(ST_ForcePolygonCCW), coordinates snapped to a grid of 10^-precision degrees and
written with `precision` decimals (6 ≈ 0.1 m). The snap keeps geometries valid:
ST_ReducePrecision is used for the rows a plain ST_SnapToGrid would make invalid
(see geometry_sql for why not for every row). Pages (folium maps) and the API
both call these functions, so there is one query path for a layer.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.contrib.gis.db.models import GeometryField
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import BooleanField, Case, F, Func, QuerySet, TextField, Value, When, Window
from django.db.models.functions import RowNumber
from psycopg.adapt import Loader

from gis_portal.db import prepared_cursor
from gis_portal.db_router import read_alias

WGS84 = 4326
# ~1 degree of latitude = 111 km; longitudes shrink with cos(48°) ≈ 0.67 over Kazakhstan.
_METRES_PER_DEGREE_KZ = 111_000 * 0.67


def geometry_sql(
    column: str,
    *,
    precision: int = 6,
    simplify_m: float | None = None,
    srid: int = WGS84,
    flip_axes: bool = False,
    multi: bool = False,
) -> str:
    """SQL of the GeoJSON geometry member for the EPSG:4326 geometry `column`.

    Order: simplify (tolerance in metres, converted to degrees at Kazakhstan's
    latitude), transform to `srid`, snap to the output grid of 10^-precision CRS
    units (ST_SnapToGrid, or ST_ReducePrecision where the snap would make the
    geometry invalid), force counter-clockwise exterior rings, and
    print with `precision` decimals. `flip_axes` writes latitude first, for
    clients that ask for EPSG:4326 in its authority axis order (OGC API Part 2).
    `multi` keeps a Multi* type (snapping can turn a one-part multipolygon into
    a polygon), so every feature of a layer has the same geometry type.
    """
    if not 0 <= precision <= 15:
        raise ValueError("precision must be between 0 and 15")
    geom = column
    if simplify_m:
        geom = f"ST_SimplifyPreserveTopology({geom}, {float(simplify_m) / _METRES_PER_DEGREE_KZ!r})"
    if srid != WGS84:
        geom = f"ST_Transform({geom}, {int(srid)})"
    grid = repr(10.0**-precision)
    # ST_ReducePrecision keeps polygons valid on the grid but costs an overlay per row
    # (≈7× the whole query for 10 000 parcels, scripts/bench/api.py). A plain grid snap is
    # the same result whenever it stays valid, so the overlay runs only where it does not.
    snapped = f"ST_SnapToGrid({geom}, {grid})"
    geom = f"(SELECT CASE WHEN ST_IsValid(s.g) THEN s.g ELSE ST_ReducePrecision({geom}, {grid}) END FROM (SELECT {snapped} AS g) AS s)"  # noqa: E501, S608 - no user text
    geom = f"ST_ForcePolygonCCW({geom})"
    if multi:
        geom = f"ST_Multi({geom})"
    if flip_axes:
        geom = f"ST_FlipCoordinates({geom})"
    # options 0: no per-geometry `crs` member. ST_AsGeoJSON's default (8) writes an obsolete
    # GeoJSON 2008 `crs` into every geometry of a projected output; the response names its CRS
    # once (Content-Crs header; the FeatureCollection's `crs` member, api.common).
    return f"ST_AsGeoJSON({geom}, {int(precision)}, 0)::json"


DEFAULT_PRECISION = 6


def stored_geojson(field: str, *, multi: bool = False) -> Func:
    """Expression of a generated column: the GeoJSON geometry of the EPSG:4326 `field` as served by default.

    The same processing as geometry_sql(precision=6) — snap to the 10^-6 degree grid
    (ST_ReducePrecision where the snap would break validity), counter-clockwise exterior
    rings, ST_Multi for multi-part layers — done once per write instead of on every read:
    serving a stored text costs about half of running ST_AsGeoJSON on each row
    (scripts/bench/api.py). Every function here is IMMUTABLE, as PostgreSQL requires
    of a generated column; the column is NULL where the geometry is.
    """
    geometry = GeometryField(srid=WGS84)
    grid = Value(10.0**-DEFAULT_PRECISION)
    snapped = Func(F(field), grid, function="ST_SnapToGrid", output_field=geometry)
    valid = Func(snapped, function="ST_IsValid", output_field=BooleanField())
    reduced = Func(F(field), grid, function="ST_ReducePrecision", output_field=geometry)
    on_grid = Case(When(valid, then=snapped), default=reduced, output_field=geometry)
    oriented = Func(on_grid, function="ST_ForcePolygonCCW", output_field=geometry)
    if multi:
        oriented = Func(oriented, function="ST_Multi", output_field=geometry)
    return Func(oriented, Value(DEFAULT_PRECISION), function="ST_AsGeoJSON", output_field=TextField())


# Types whose PostgreSQL text cast is already their JSON text (integers; booleans cast to
# true/false). Everything else goes through to_json(), which quotes and escapes.
_JSON_AS_TEXT_TYPES = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
    "BooleanField",
}


# The SQL function a StoredProperties column calls (created by parcels migration 0011): the
# JSON text of a value, 'null' for NULL. to_json() is STABLE, as PostgreSQL must assume of some
# types (a timestamptz prints in the session's time zone, a float by extra_float_digits); this
# one is IMMUTABLE, as a generated column requires, and true to it for the types of
# STORED_PROPERTY_TYPES: timestamptz has an overload that prints UTC, date one that keeps
# PostgreSQL from casting a date to timestamptz to call the former.
JSON_TEXT_FUNCTION = "portal_json_text"
# Model fields whose JSON text depends on no session setting (a timestamptz is printed in UTC,
# as Django's connections, whose time zone is UTC, print it when reading).
STORED_PROPERTY_TYPES = {
    *_JSON_AS_TEXT_TYPES,
    "CharField",
    "TextField",
    "DecimalField",
    "DateField",
    "DateTimeField",
}


@dataclass(frozen=True)
class StoredProperties:
    """A generated column holding the JSON members (`"name": value, ...`, without braces) of the
    properties that are a row's own columns, written by PostgreSQL on every write.

    A page's properties are then read as one text instead of being printed and concatenated
    member by member on every read: for the parcels that was about half of a bbox page's SQL
    (scripts/bench/api.py). Properties of related rows (a region's KATO code) are not stored:
    they would go stale when the related row changes, so feature_page appends them at read.
    `members` maps each output name to the model's own field (attname, e.g. `facility_id`),
    exactly as the collection declares it (checked when the collection registers).
    """

    column: str
    members: dict[str, str]

    def expression(self) -> Func:
        """The generated column's expression: the members' JSON text, in `members` order."""
        parts = []
        for i, (name, field) in enumerate(self.members.items()):
            parts.append(Value(f"{', ' if i else ''}{_json_key(name)}: "))
            parts.append(Func(F(field), function=JSON_TEXT_FUNCTION, output_field=TextField()))
        return Func(*parts, template="(%(expressions)s)", arg_joiner=" || ", output_field=TextField())

    def covers(self, properties: dict) -> bool:
        """Are all stored members among `properties`, read from the same fields?"""
        return all(properties.get(name) == field for name, field in self.members.items())


def stored_applies(
    stored: str | None, *, precision: int, simplify_m: float | None, srid: int = WGS84, flip_axes: bool = False
) -> bool:
    """Does the request ask for exactly what the `stored` column (stored_geojson) holds?

    EPSG:4326, longitude first, DEFAULT_PRECISION decimals, not simplified.
    """
    return bool(stored) and precision == DEFAULT_PRECISION and not simplify_m and srid == WGS84 and not flip_axes


def _properties_sql(properties: dict[str, str], alias: str = "t") -> str:
    """json_build_object(...) of `properties` (output name → selected column)."""
    if not properties:
        return "'{}'::json"
    pairs = ", ".join(f"'{name}', {alias}.\"{column}\"" for name, column in properties.items())
    return f"json_build_object({pairs})"


def feature_collection(
    queryset: QuerySet,
    *,
    geometry: str,
    properties: list[str],
    precision: int = 6,
    simplify_m: float | None = None,
    extra_members: dict[str, str] | None = None,
    stored: str | None = None,
) -> str:
    """Serialise `queryset` to a GeoJSON FeatureCollection text in one SQL statement.

    `geometry` is the geometry field (EPSG:4326); `properties` are field names or
    lookups (`region__kato`) of `queryset.values()`; the feature id is the pk.
    `simplify_m` simplifies with ST_SimplifyPreserveTopology at that tolerance in
    metres (converted to degrees at Kazakhstan's latitude) for small-scale maps.
    Rows without geometry get `"geometry": null`. `stored` names the generated column
    (stored_geojson) of `geometry`, used as it is for the default 6 decimals, unsimplified.
    """
    if stored_applies(stored, precision=precision, simplify_m=simplify_m):
        inner = queryset.values("pk", *properties, _g=F(stored))
        geom = 't."_g"::json'
    else:
        inner = queryset.values("pk", geometry, *properties)
        geom = geometry_sql(f't."{geometry}"', precision=precision, simplify_m=simplify_m)
    sql, params = inner.query.sql_with_params()
    props = _properties_sql({p: p for p in properties})
    members = "".join(f", '{k}', {v}" for k, v in (extra_members or {}).items())
    statement = f"""
        SELECT json_build_object(
            'type', 'FeatureCollection'{members},
            'features', COALESCE(json_agg(json_build_object(
                'type', 'Feature',
                'id', t."pk",
                'geometry', {geom},
                'properties', {props}
            )), '[]'::json)
        )::text
        FROM ({sql}) AS t
    """  # noqa: S608 - identifiers come from our code, values are bound parameters
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()[0]


def as_expression(lookup):
    """A property source: a lookup name (`region__kato`) or an ORM expression (Case/When, Coalesce, …)."""
    return lookup if hasattr(lookup, "resolve_expression") else F(lookup)


class _Utf8BytesLoader(Loader):
    """Returns text columns as the UTF-8 bytes PostgreSQL sent: the page goes to the
    HTTP response as it is, without being decoded to str and encoded back."""

    def load(self, data) -> bytes:
        return bytes(data)


@dataclass(frozen=True)
class FeaturePage:
    """One page of features: the JSON array text and the keyset keys around it."""

    features: bytes  # UTF-8 JSON array of GeoJSON Feature objects, in page order
    returned: int
    has_more: bool  # more rows exist beyond the page, in the direction it was read
    first_key: list | None  # [order value, pk] of the first feature on the page
    last_key: list | None  # [order value, pk] of the last feature on the page
    newest: dt.datetime | None = None  # latest of the `stamps` columns over the page's rows


def value_field(field):
    """The field whose value a column of `field` holds: a foreign key's is its target's (an id), else `field`."""
    while field is not None and field.is_relation and getattr(field, "target_field", None) is not None:
        field = field.target_field
    return field


def _json_value_sql(column: str, field) -> str:
    """SQL of the JSON text of `column` (never NULL: 'null'), by the model field it reads."""
    field = value_field(field)
    if field is not None and field.get_internal_type() in _JSON_AS_TEXT_TYPES:
        return f"COALESCE({column}::text, 'null')"
    return f"COALESCE(to_json({column})::text, 'null')"


def _json_key(name: str) -> str:
    """`name` as a JSON string, to be written inside an SQL string literal."""
    key = json.dumps(name, ensure_ascii=False)
    if "'" in key:
        raise ValueError(f"property name {name!r} cannot hold a quote")
    return key


def _object_sql(members: list[tuple[str, str]], *, stored: str | None = None) -> str:
    """SQL concatenating a JSON object's text from (name, JSON-text SQL) pairs.

    Written as text rather than json_build_object: that variadic function looks up
    the output function of every argument on every row, which made the properties
    the largest part of a page's cost (≈40 %, scripts/bench/api.py). `stored` is the SQL
    of a StoredProperties column, whose members come first.
    """
    parts = [] if stored is None else [f"'{{' || {stored}"]
    for name, value in members:
        parts.append(f"'{', ' if parts else '{'}{_json_key(name)}: ' || {value}")
    if not parts:
        return "'{}'"
    return " || ".join(parts) + " || '}'"


_ROW_SELECTS: dict[tuple, tuple[str, tuple, dict]] = {}


def _row_select(model, select: tuple) -> tuple[str, tuple, dict]:
    """SQL selecting the output columns `select` ((alias, expression) pairs) of every row of `model`.

    The same for every request of a collection and variant, so compiled once per process:
    resolving a dozen lookups and joins through the ORM cost more than a small page's SQL
    (scripts/bench/api.py). feature_page joins it to the page's keys on "_pk". Built on the
    base manager, unordered and unfiltered: the keys carry every filter. So the expressions
    must not depend on the request or the user (registry properties are lookups and
    constant Case/When expressions; what depends on the user is the keys' "_priv" flag).
    Returns the SQL, its parameters (constants of expressions) and each alias's output field.
    """
    key = (model._meta.label, select)
    found = _ROW_SELECTS.get(key)
    if found is None:
        rows = model._base_manager.order_by().values(**dict(select))
        sql, params = rows.query.sql_with_params()
        fields = {
            name: getattr(expression, "output_field", None) for name, expression in rows.query.annotations.items()
        }
        found = _ROW_SELECTS[key] = (sql, tuple(params), fields)
    return found


@dataclass(frozen=True)
class Statement:
    """An SQL statement and its parameters, e.g. a page's (feature_page_statement, run by feature_page_read)."""

    sql: str
    params: tuple


def feature_page(queryset: QuerySet, **options) -> FeaturePage:
    """Read one page of GeoJSON features built in one SQL statement (feature_page_statement's options)."""
    return feature_page_read(feature_page_statement(queryset, **options))


def feature_page_statement(
    queryset: QuerySet,
    *,
    geometry: str | None,
    properties: dict[str, str],
    private_properties: dict[str, str] | None = None,
    private_condition: str | None = None,
    order_field: str = "pk",
    limit: int,
    precision: int = 6,
    simplify_m: float | None = None,
    srid: int = WGS84,
    flip_axes: bool = False,
    multi: bool = False,
    reverse: bool = False,
    check_more: bool = True,
    stored: str | None = None,
    stored_properties: StoredProperties | None = None,
    stamps: tuple[str, ...] = (),
    join_back: bool = True,
) -> Statement | None:
    """The statement reading one page of GeoJSON features, or None when `queryset` matches nothing
    by construction (e.g. pk__in=[], for which Django compiles no SQL).

    `queryset` is already filtered and ordered by (`order_field`, pk) in the page's
    reading direction (keyset pagination filters on the key instead of an OFFSET,
    so a page deep in the collection costs as much as the first); this function
    takes `limit` rows of it, reading one row more to know whether more follow.
    `reverse=True` means the queryset was read backwards (a "previous" page):
    features are returned in natural order all the same.
    `check_more=False` skips that extra row (`has_more` is then False) when the caller
    knows the answer from its count.
    `properties` and `private_properties` map output names to lookups of the
    model (or ORM expressions); private ones are added only to rows for which the boolean annotation
    `private_condition` is true (the caller builds it from accounts.permissions).
    Geometry: EPSG:4326 in, `srid` out (see geometry_sql); `geometry=None` gives
    `"geometry": null` (non-spatial resources). `stored` names the generated column
    (stored_geojson) holding the default output, read as it is when the request asks for
    that default: EPSG:4326, longitude first, 6 decimals, not simplified.
    `stored_properties` (StoredProperties) is read for the members it holds when `properties`
    has them all, from the same fields; those members come first in each feature's properties.
    `stamps` are timestamp lookups (or expressions) whose latest value over the page comes back as `newest`.

    The statement joins the page's keys (what the request filters, compiled per request)
    on the primary key to the collection's output columns (compiled once, _row_select).
    `join_back=False` selects the output columns in the request's own query instead: the
    database skips a second lookup of every row by its key (about 0.4 ms of a 438-row page,
    issue 21), but the ORM resolves every property's lookup on each compilation, so it suits
    callers that keep their statements (api.selectors.ItemsReads keeps them per query shape).
    A DISTINCT queryset always joins back: DISTINCT must not apply to the output columns.
    feature_page_read runs the statement prepared (gis_portal.db).
    """
    private_properties = private_properties or {}
    select: dict[str, F] = {"_pk": F("pk"), "_k": F(order_field)}
    use_stored = bool(geometry) and stored_applies(
        stored, precision=precision, simplify_m=simplify_m, srid=srid, flip_axes=flip_axes
    )
    if use_stored:
        select["_g"] = F(stored)
    elif geometry:
        select["_g"] = F(geometry)
    from_stored = stored_properties is not None and stored_properties.covers(properties)
    if from_stored:
        select["_s"] = F(stored_properties.column)
        properties = {name: lookup for name, lookup in properties.items() if name not in stored_properties.members}
    public_cols = {}
    for i, (name, lookup) in enumerate(properties.items()):
        select[f"_p{i}"] = as_expression(lookup)
        public_cols[name] = f"_p{i}"
    private_cols = {}
    for i, (name, lookup) in enumerate(private_properties.items()):
        select[f"_q{i}"] = as_expression(lookup)
        private_cols[name] = f"_q{i}"
    for i, stamp in enumerate(stamps):
        select[f"_u{i}"] = as_expression(stamp)
    # The request's own part is the page's rows in reading order: the filters, the scope,
    # the keyset condition and the private-properties flag. One row beyond the page tells
    # whether more follow, in the same scan (a separate EXISTS would run the filters, a
    # bbox's ST_Intersects included, a second time).
    flag = {"_priv": F(private_condition)} if private_condition else {}
    rows_read = limit + 1 if check_more else limit
    direction = "DESC" if reverse else "ASC"  # a page read backwards is shown forwards
    skipped = 0  # rows numbered before the page's first (an OFFSET the numbering counts)
    try:
        if join_back or queryset.query.distinct:
            row_sql, row_params, fields = _row_select(queryset.model, tuple(select.items()))
            keys = queryset.values(_id=F("pk"), **flag)[:rows_read]
            keys_sql, keys_params = keys.query.sql_with_params()
            # Rows are numbered in reading order (the extra row is number limit + 1), then
            # joined to their output columns.
            numbered = f'SELECT q.*, row_number() OVER () AS "_rn" FROM ({keys_sql}) AS q'  # noqa: S608 - ORM SQL
            flag_sql = ', k."_priv"' if private_condition else ""
            page_sql = (
                f'SELECT r.*, k."_rn"{flag_sql} FROM ({numbered}) AS k JOIN ({row_sql}) AS r ON r."_pk" = k."_id"'  # noqa: E501, S608
            )
            page_sql += f' ORDER BY k."_rn" {direction}'
            page_params = (*keys_params, *row_params)
        else:
            # Numbered in reading order by a window over the queryset's own ordering, which PostgreSQL
            # sorts for once with the ORDER BY. Numbering the sorted rows in a query around it and
            # sorting them again by that number cost 0.3 ms of a 438-row page (issue 21). The window
            # counts before OFFSET: the extra row is number offset + limit + 1.
            if not queryset.query.order_by:
                raise ValueError("a one-level page statement needs a queryset with an explicit order_by()")
            numbering = Window(RowNumber(), order_by=list(queryset.query.order_by))
            rows = queryset.values(**select, **flag, _rn=numbering)[:rows_read]
            rows_sql, page_params = rows.query.sql_with_params()
            fields = {
                name: getattr(expression, "output_field", None) for name, expression in rows.query.annotations.items()
            }
            skipped = rows.query.low_mark
            # The sorted rows come out of the subquery in order; a page read backwards is turned round.
            page_sql = f'SELECT q.* FROM ({rows_sql}) AS q ORDER BY "_rn" DESC' if reverse else rows_sql  # noqa: S608
    except EmptyResultSet:
        # A filter that matches nothing by construction (e.g. pk__in=[]): Django compiles no SQL for it.
        return None

    # Features are concatenated as text: ST_AsGeoJSON's output is not cast to json,
    # which would make PostgreSQL parse and re-print every coordinate (≈1.5× the time).
    if use_stored:
        geom = 'p."_g"'
    else:
        geom = geometry_sql(
            'p."_g"', precision=precision, simplify_m=simplify_m, srid=srid, flip_axes=flip_axes, multi=multi
        ).removesuffix("::json")
    geom = f"COALESCE({geom}, 'null')" if geometry else "'null'"
    public = [(name, _json_value_sql(f'p."{col}"', fields.get(col))) for name, col in public_cols.items()]
    private = [(name, _json_value_sql(f'p."{col}"', fields.get(col))) for name, col in private_cols.items()]
    head = 'p."_s"' if from_stored else None
    props = _object_sql(public + private, stored=head)
    if private and private_condition:
        props = f'CASE WHEN p."_priv" THEN {props} ELSE {_object_sql(public, stored=head)} END'
    feature = (
        f"""'{{"type": "Feature", "id": ' || p."_pk"::text || ', "geometry": ' || {geom}"""
        f""" || ', "properties": ' || {props} || '}}'"""
    )
    kept = f'FILTER (WHERE p."_rn" <= {int(skipped + limit)})'
    order_values = "a.pks" if order_field == "pk" else "a.ks"
    newest = "NULL::timestamptz"
    if stamps:
        maxima = [f'max(p."_u{i}") {kept}' for i in range(len(stamps))]
        newest = f"GREATEST({', '.join(maxima)})"
    # The aggregates take the rows in the order of the sorted subquery (no ORDER BY inside
    # string_agg, which would sort the serialised features); tests check the order.
    statement = f"""
        SELECT a.features, a.n, a.more,
               CASE WHEN a.n > 0 THEN json_build_array({order_values}[1], a.pks[1])::text END,
               CASE WHEN a.n > 0 THEN json_build_array({order_values}[a.n], a.pks[a.n])::text END,
               a.newest
        FROM (
            SELECT '[' || COALESCE(string_agg({feature}, ', ') {kept}, '') || ']' AS features,
                   (count(*) {kept})::int AS n,
                   count(*) > {int(limit)} AS more,
                   array_agg(p."_pk") {kept} AS pks,
                   {"NULL" if order_field == "pk" else f'array_agg(p."_k") {kept}'} AS ks,
                   {newest} AS newest
            FROM ({page_sql}) AS p
        ) AS a
    """  # noqa: S608 - identifiers come from our code, values are bound parameters
    return Statement(sql=statement, params=page_params)


EMPTY_PAGE = FeaturePage(features=b"[]", returned=0, has_more=False, first_key=None, last_key=None)


def feature_page_read(statement: Statement | None, params: tuple | None = None) -> FeaturePage:
    """Run a page statement (prepared, gis_portal.db), with `params` instead of its own when given."""
    if statement is None:
        return EMPTY_PAGE
    with prepared_cursor(using=read_alias()) as cursor:
        cursor.cursor.adapters.register_loader("text", _Utf8BytesLoader)
        cursor.execute(statement.sql, statement.params if params is None else params)
        features, returned, has_more, first, last, newest_value = cursor.fetchone()
    first_key = json.loads(first) if first else None  # json.loads takes UTF-8 bytes
    last_key = json.loads(last) if last else None
    return FeaturePage(
        features=features,
        returned=returned,
        has_more=bool(has_more),
        first_key=first_key,
        last_key=last_key,
        newest=newest_value,
    )
