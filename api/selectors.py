"""Reads behind the REST API, OGC API – Features and the tiles: one query path for every collection.

Geometry is stored in EPSG:4326; output CRS, precision and simplification come
from the parsed query (api.params.ItemsQuery). Each request costs a constant
number of SQL statements: one aggregate (numberMatched, Last-Modified, the ETag)
and one that builds the GeoJSON text in PostGIS; the aggregate is skipped when
the page holds every matched row and nothing needed the ETag first (page_meta).
Both run as prepared statements (gis_portal.db.prepared_cursor).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, replace

from django.conf import settings
from django.contrib.gis.db.models import Extent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from accounts import layer_access
from accounts.permissions import user_role
from api.params import ItemsQuery
from gis_portal.db import prepared_cursor
from gis_portal.db_router import read_alias
from gis_portal.geo.collections import Collection, ParamError
from gis_portal.geo.geojson import FeaturePage, as_expression, feature_page


def items_filter(collection: Collection, queryset: QuerySet, *, query: ItemsQuery, user) -> QuerySet:
    """Apply the property filters, bbox (any supported CRS, compared in EPSG:4326) and time filters.

    Filters, time windows and sort orders that would reveal private properties follow
    accounts.layer_access: refused, or applied to the rows where `user` may read them.
    """
    time_param = "datetime" if query.datetime is not None else "updated_since" if query.updated_since else None
    queryset = layer_access.filters_restrict(
        collection, queryset, user=user, filters=list(query.filters), time_param=time_param
    )
    layer_access.ordering_check(collection, queryset, user=user, ordering=query.ordering, param=query.ordering_param)
    for name, value in query.filters.items():
        queryset = collection.filters[name].apply(queryset, value)
    if query.bbox is not None:
        queryset = queryset.filter(**{f"{collection.geometry}__intersects": query.bbox})
    if query.datetime is not None:
        lo, hi = query.datetime
        if lo is not None:
            queryset = queryset.filter(**{f"{collection.updated_field}__gte": lo})
        if hi is not None:
            queryset = queryset.filter(**{f"{collection.updated_field}__lte": hi})
    if query.updated_since is not None:
        queryset = queryset.filter(**{f"{collection.updated_field}__gte": query.updated_since})
    return queryset


@dataclass(frozen=True)
class ItemsMeta:
    matched: int
    last_modified: dt.datetime | None  # what the caller may be shown (None: hidden or unknown)
    estimated: bool = False  # numberMatched is the planner's estimate; no validators then
    stamp: dt.datetime | None = None  # the rows' newest change, for the ETag only (hashed)


def _shown(meta: ItemsMeta, collection: Collection, queryset: QuerySet, *, user) -> ItemsMeta:
    """Hide the newest change from callers who may not read the time property on every row."""
    if meta.last_modified is None or layer_access.time_readable(collection, queryset, user=user):
        return replace(meta, stamp=meta.last_modified)
    return replace(meta, stamp=meta.last_modified, last_modified=None)


def items_meta(collection: Collection, queryset: QuerySet, *, user) -> ItemsMeta:
    """numberMatched and the newest change of the filtered rows.

    One aggregate over at most API_EXACT_COUNT_MAX + 1 rows: exact up to that
    bound (the portal's largest collections hold ~10^4 rows; counting 10 000
    costs a few ms, scripts/bench/api.py). Beyond it counting would cost as much
    as the page, so numberMatched becomes PostgreSQL's row estimate (EXPLAIN, one
    more query) and the response carries no ETag/Last-Modified.
    """
    cap = settings.API_EXACT_COUNT_MAX
    capped = queryset.order_by()[: cap + 1]
    columns = {"_n": F("pk")}
    stamps = _stamps(collection)
    for i, stamp in enumerate(stamps):
        columns[f"_u{i}"] = as_expression(stamp)
    sql, params = capped.values(**columns).query.sql_with_params()
    maxima = ", ".join(f'max(c."_u{i}")' for i in range(len(stamps)))
    newest = f"GREATEST({maxima})" if stamps else "NULL"
    with prepared_cursor(using=read_alias()) as cursor:
        cursor.execute(f"SELECT count(*), {newest} FROM ({sql}) AS c", params)  # noqa: S608 - constant identifiers
        matched, last_modified = cursor.fetchone()
    if matched <= cap:
        return _shown(ItemsMeta(matched=matched, last_modified=last_modified), collection, queryset, user=user)
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return ItemsMeta(matched=max(int(plan[0]["Plan"]["Plan Rows"]), cap + 1), last_modified=None, estimated=True)


def _stamps(collection: Collection) -> tuple:
    """The timestamp fields whose latest value is a collection's Last-Modified."""
    return tuple(f for f in (collection.updated_field, *collection.also_updated) if f)


def page_meta(
    page: FeaturePage, *, query: ItemsQuery, collection: Collection, queryset: QuerySet, user
) -> ItemsMeta | None:
    """items_meta read off a page that holds every filtered row, or None when it may not.

    A page read from the start that found no row beyond itself is the whole result:
    its length is numberMatched and its newest stamp the Last-Modified, exactly what
    items_meta would count, without running the filters a second time.
    """
    if query.cursor is None and not query.offset and not page.has_more:
        return _shown(ItemsMeta(matched=page.returned, last_modified=page.newest), collection, queryset, user=user)
    return None


def items_etag(*, collection: Collection, user, meta: ItemsMeta, variant: str) -> str:
    """A weak ETag from what determines the response: rows, their newest change, the caller's scope."""
    role = user_role(user) or "anonymous"
    region = getattr(getattr(user, "membership", None), "region_id", None) if role != "anonymous" else None
    stamp = meta.stamp.isoformat() if meta.stamp else "-"
    digest = hashlib.sha256(f"{collection.id}|{variant}|{role}|{region}|{meta.matched}|{stamp}".encode()).hexdigest()
    return f'W/"{digest[:32]}"'


def _model_field(model, path: str):
    """The model field at the end of a lookup path (`pk`, `measure_id`, `region__kato`)."""
    if path == "pk":
        return model._meta.pk
    *relations, last = path.split("__")
    for name in relations:
        model = model._meta.get_field(name).related_model
    return model._meta.pk if last == "pk" else model._meta.get_field(last)


def _cursor_key(queryset: QuerySet, query: ItemsQuery) -> tuple:
    """The cursor's (value, pk), converted by the model's own fields; a forged key is a 400."""
    value, pk = query.cursor.key
    model = queryset.model
    try:
        return _model_field(model, query.order_field).to_python(value), model._meta.pk.to_python(pk)
    except (DjangoValidationError, ValueError, TypeError):
        raise ParamError("cursor", _("is not a cursor given by a next/prev link")) from None


def _keyset(queryset: QuerySet, *, query: ItemsQuery) -> QuerySet:
    """Order by (ordering field, pk) and continue after/before the cursor's key, without OFFSET."""
    field = query.order_field
    forward = query.cursor.forward if query.cursor else True
    descending = query.descending != (not forward)
    if query.cursor:
        value, pk = _cursor_key(queryset, query)
        op = "lt" if descending else "gt"
        queryset = queryset.filter(Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"pk__{op}": pk}))
    prefix = "-" if descending else ""
    return queryset.order_by(f"{prefix}{field}", f"{prefix}pk")


def items_page(
    collection: Collection,
    queryset: QuerySet,
    *,
    query: ItemsQuery,
    user,
    limit: int | None = None,
    matched: int | None = None,
) -> FeaturePage:
    """One page of GeoJSON features (text built in PostGIS) in one SQL statement.

    `matched` (the exact count of the filtered rows) answers "is there a next page?"
    for pages read from the start or an offset, sparing the statement that check.
    """
    limit = query.limit if limit is None else limit
    known = matched is not None and query.cursor is None
    queryset, condition, with_private = layer_access.private_annotate(collection, queryset, user=user)
    ordered = _keyset(queryset, query=query)
    if query.cursor is None and query.offset:
        ordered = ordered[query.offset :]
    page = feature_page(
        ordered,
        geometry=collection.geometry,
        properties=collection.public_properties,
        private_properties=collection.private_properties if with_private else None,
        private_condition=condition,
        order_field=query.order_field,
        limit=limit,
        precision=query.precision,
        simplify_m=query.simplify_m,
        srid=query.crs.srid,
        flip_axes=query.crs.flip_axes,
        multi=collection.geometry_type.startswith("Multi"),
        reverse=bool(query.cursor and not query.cursor.forward),
        check_more=not known,
        stored=collection.stored_geojson,
        stored_properties=collection.stored_properties,
        stamps=_stamps(collection),
    )
    if known:
        page = replace(page, has_more=matched > query.offset + page.returned)
    return page


def item_one(collection: Collection, queryset: QuerySet, *, pk: int, query: ItemsQuery, user) -> bytes | None:
    """One GeoJSON Feature (UTF-8 JSON), or None when `user` may not see it or it does not exist."""
    page = items_page(collection, queryset.filter(pk=pk), query=query, user=user, limit=1)
    return page.features[1:-1] if page.returned else None


def collection_extent(collection: Collection, queryset: QuerySet) -> list[float] | None:
    """The bbox of the rows in EPSG:4326 (lon/lat), from ST_Extent over the geometry."""
    if not collection.geometry:
        return None
    extent = queryset.order_by().aggregate(e=Extent(collection.geometry))["e"]
    return [round(v, 6) for v in extent] if extent else None


TILE_EXTENT = 4096


def tile_mvt(collection: Collection, queryset: QuerySet, *, z: int, x: int, y: int, user) -> bytes:
    """A Mapbox Vector Tile of the collection's rows in tile z/x/y (Web Mercator, EPSG:3857), via ST_AsMVT."""
    queryset, condition, with_private = layer_access.private_annotate(collection, queryset, user=user)
    select = {"_pk": "pk", "_g": collection.geometry}
    columns = {}
    for i, (name, lookup) in enumerate(collection.public_properties.items()):
        select[f"_p{i}"] = lookup
        columns[name] = f"_p{i}"
    if with_private:
        for i, (name, lookup) in enumerate(collection.private_properties.items()):
            select[f"_q{i}"] = lookup
            columns[name] = f"_q{i}"
    values = {k: as_expression(v) for k, v in select.items()}
    if condition:
        values["_priv"] = F(condition)
    inner = queryset.filter(**{f"{collection.geometry}__isnull": False}).order_by().values(**values)
    sql, params = inner.query.sql_with_params()
    public_names = set(collection.public_properties)
    cols = []
    for name, column in columns.items():
        if name in public_names or not condition:
            cols.append(f't."{column}" AS "{name}"')
        else:
            cols.append(f'CASE WHEN t."_priv" THEN t."{column}" END AS "{name}"')
    statement = f"""
        WITH bounds AS (SELECT ST_TileEnvelope(%s, %s, %s) AS env),
        rows AS (
            SELECT t."_pk" AS id, {", ".join(cols)},
                   ST_AsMVTGeom(ST_Transform(t."_g", 3857), bounds.env, {TILE_EXTENT}, 64, true) AS geom
            FROM ({sql}) AS t, bounds
            WHERE t."_g" && ST_Transform(ST_Expand(bounds.env, (ST_XMax(bounds.env) - ST_XMin(bounds.env)) / 64), 4326)
        )
        SELECT ST_AsMVT(rows.*, %s, {TILE_EXTENT}, 'geom', 'id') FROM rows WHERE rows.geom IS NOT NULL
    """  # noqa: S608 - identifiers come from our code, values are bound parameters
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(statement, [z, x, y, *params, collection.id])
        data = cursor.fetchone()[0]
    return bytes(data) if data is not None else b""
