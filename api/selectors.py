"""Reads behind the REST API, OGC API – Features and the tiles: one query path for every collection.

Geometry is stored in EPSG:4326; output CRS, precision and simplification come
from the parsed query (api.params.ItemsQuery). Each request costs a constant
number of SQL statements: one aggregate (numberMatched, Last-Modified, the ETag)
and one that builds the GeoJSON text in PostGIS; the aggregate is skipped when
the page holds every matched row and nothing needed the ETag first (ItemsReads.page_meta).
Both run as prepared statements (gis_portal.db.prepared_cursor), compiled once per query shape
(ItemsReads).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property

from django.conf import settings
from django.contrib.gis.db.backends.postgis.adapter import PostGISAdapter
from django.contrib.gis.db.models import Extent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connections
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from accounts import layer_access
from accounts.permissions import user_region_id, user_role
from api.params import Box, ItemsQuery
from gis_portal.db import prepared_cursor
from gis_portal.db_router import read_alias
from gis_portal.geo.collections import Collection, ParamError
from gis_portal.geo.geojson import FeaturePage, Statement, as_expression, feature_page_read, feature_page_statement


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
        queryset = queryset.filter(**{f"{collection.geometry}__intersects": query.bbox.polygon})
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


def _shown(meta: ItemsMeta, *, time_shown: bool) -> ItemsMeta:
    """Hide the newest change from callers who may not read the time property on every row
    (`time_shown`: accounts.layer_access.time_readable)."""
    if meta.last_modified is None or time_shown:
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
    meta = _count_read(*_count_statement(collection, queryset))
    if meta is None:
        return _estimate(queryset)
    return _shown(meta, time_shown=layer_access.time_readable(collection, queryset, user=user))


def _count_statement(collection: Collection, queryset: QuerySet) -> tuple[str, tuple]:
    """The aggregate of items_meta: count(*) and the newest stamp of at most API_EXACT_COUNT_MAX + 1 rows."""
    capped = queryset.order_by()[: settings.API_EXACT_COUNT_MAX + 1]
    columns = {"_n": F("pk")}
    stamps = _stamps(collection)
    for i, stamp in enumerate(stamps):
        columns[f"_u{i}"] = as_expression(stamp)
    sql, params = capped.values(**columns).query.sql_with_params()
    maxima = ", ".join(f'max(c."_u{i}")' for i in range(len(stamps)))
    newest = f"GREATEST({maxima})" if stamps else "NULL"
    return f"SELECT count(*), {newest} FROM ({sql}) AS c", tuple(params)  # noqa: S608 - constant identifiers


def _count_read(sql: str, params: tuple) -> ItemsMeta | None:
    """Run the aggregate (prepared); None when more than API_EXACT_COUNT_MAX rows match."""
    with prepared_cursor(using=read_alias()) as cursor:
        cursor.execute(sql, params)
        matched, last_modified = cursor.fetchone()
    if matched > settings.API_EXACT_COUNT_MAX:
        return None
    return ItemsMeta(matched=matched, last_modified=last_modified)


def _estimate(queryset: QuerySet) -> ItemsMeta:
    """numberMatched as PostgreSQL's row estimate (EXPLAIN), for more rows than are counted exactly."""
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    cap = settings.API_EXACT_COUNT_MAX
    return ItemsMeta(matched=max(int(plan[0]["Plan"]["Plan Rows"]), cap + 1), last_modified=None, estimated=True)


def _stamps(collection: Collection) -> tuple:
    """The timestamp fields whose latest value is a collection's Last-Modified."""
    return tuple(f for f in (collection.updated_field, *collection.also_updated) if f)


class ItemsReads:
    """The reads behind one items request (REST, OGC): its page, numberMatched and Last-Modified.

    Their statements are compiled by the ORM once per query shape and kept (at most
    STATEMENTS_KEPT, the least recently used dropped): a shape is everything the request asks for
    but the bbox, with the collection and the caller's role and region, which decide every access
    rule (accounts.layer_access). The bbox is bound anew on each request. Building the filters, the
    scope and the page statement through the ORM took about 1 ms of a 12 ms bbox page over HTTP
    (issue 21: 12.2 → 11.1 ms, interleaved A/B in the conditions of scripts/bench/api.py).

    A shape is kept only when two compilations, with two different bboxes (or twice without one),
    give the same SQL and the same parameters but at the bbox's places. A selector, filter or
    scope whose SQL depends on anything else (the clock, say) is compiled on every request instead.
    """

    def __init__(self, collection: Collection, *, query: ItemsQuery, user):
        self.collection = collection
        self.query = query
        self.user = user
        bbox_srid = None if query.bbox is None else query.bbox.srid
        shape = repr(replace(query, bbox=None))
        self._shape = (id(collection), user_role(user), user_region_id(user), shape, query.bbox is not None, bbox_srid)

    @cached_property
    def queryset(self) -> QuerySet:
        """The filtered rows `user` may read, through the ORM (compiling a shape; downloads)."""
        collection, user = self.collection, self.user
        rows = layer_access.collection_queryset(collection, user=user)
        return items_filter(collection, rows, query=self.query, user=user)

    def page(self, *, limit: int | None = None, matched: int | None = None) -> FeaturePage:
        """One page of GeoJSON features (text built in PostGIS) in one SQL statement.

        `matched` (the exact count of the filtered rows) answers "is there a next page?"
        for pages read from the start or an offset, sparing the statement that check.
        """
        query = self.query
        limit = query.limit if limit is None else limit
        known = matched is not None and query.cursor is None

        def compile_page(reads: ItemsReads) -> Statement | None:
            return _page_statement(
                reads.collection,
                reads.queryset,
                query=reads.query,
                user=reads.user,
                limit=limit,
                check_more=not known,
                join_back=False,  # kept per shape: the one-level statement is compiled once
            )

        statement, params = self._bound(("page", limit, not known), compile_page)
        page = feature_page_read(statement, params)
        if not known:
            return page
        return replace(page, has_more=matched > query.offset + page.returned)

    def meta(self) -> ItemsMeta:
        """items_meta of this request."""

        def compile_count(reads: ItemsReads) -> Statement:
            return Statement(*_count_statement(reads.collection, reads.queryset))

        statement, params = self._bound(("count", settings.API_EXACT_COUNT_MAX), compile_count)
        meta = _count_read(statement.sql, statement.params if params is None else params)
        if meta is None:
            return _estimate(self.queryset)
        return _shown(meta, time_shown=self._time_shown())

    def page_meta(self, page: FeaturePage) -> ItemsMeta | None:
        """items_meta read off a page that holds every filtered row, or None when it may not.

        A page read from the start that found no row beyond itself is the whole result:
        its length is numberMatched and its newest stamp the Last-Modified, exactly what
        items_meta would count, without running the filters a second time.
        """
        query = self.query
        if query.cursor is None and not query.offset and not page.has_more:
            return _shown(ItemsMeta(matched=page.returned, last_modified=page.newest), time_shown=self._time_shown())
        return None

    def _time_shown(self) -> bool:
        # time_readable reads the model of the rows only, not the request's filters.
        return layer_access.time_readable(self.collection, self.collection.selector(), user=self.user)

    def _bound(
        self, kind: tuple, compile_statement: Callable[[ItemsReads], Statement | None]
    ) -> tuple[Statement | None, tuple | None]:
        """The statement of `kind` for this shape, and its parameters with this request's bbox
        (None: the statement's own are this request's)."""
        key = (*self._shape, *kind)
        with _statements_lock:
            kept = _statements.get(key)
            if kept is not None:
                _statements.move_to_end(key)
        if kept is not None and kept.collection is self.collection:
            if kept.statement is None or not kept.slots:
                return kept.statement, None
            params = list(kept.statement.params)
            for i in kept.slots:
                params[i] = _bbox_adapter(self.query.bbox, like=params[i])
            return kept.statement, tuple(params)
        statement = compile_statement(self)
        other = self.query if self.query.bbox is None else replace(self.query, bbox=_moved(self.query.bbox))
        slots = _bbox_slots(statement, compile_statement(ItemsReads(self.collection, query=other, user=self.user)))
        if slots is not None:
            with _statements_lock:
                _statements[key] = _Kept(collection=self.collection, statement=statement, slots=slots)
                while len(_statements) > STATEMENTS_KEPT:
                    _statements.popitem(last=False)
        return statement, None


STATEMENTS_KEPT = 512  # shapes per process; a statement is a few kB of SQL


@dataclass(frozen=True)
class _Kept:
    collection: Collection  # a shape's id(collection) names it only while this object lives
    statement: Statement | None
    slots: tuple[int, ...]  # the positions of the bbox among the statement's parameters


_statements: OrderedDict[tuple, _Kept] = OrderedDict()
_statements_lock = threading.Lock()


def statements_forget() -> None:
    """Drop this process's compiled statements (tests that change a registered collection)."""
    with _statements_lock:
        _statements.clear()


def _moved(bbox: Box) -> Box:
    """Another box in the same CRS, to tell the bbox's parameters from the rest by comparison."""
    return Box(bbox.x1 + 1, bbox.y1 + 1, bbox.x2 + 2, bbox.y2 + 2, bbox.srid)


def _bbox_slots(first: Statement | None, second: Statement | None) -> tuple[int, ...] | None:
    """Positions where two compilations with different bboxes differ, all of them geometry
    parameters; None when they differ otherwise (the shape is then not kept)."""
    if first is None or second is None:
        return () if first is second else None
    if first.sql != second.sql or len(first.params) != len(second.params):
        return None
    slots = tuple(i for i, (a, b) in enumerate(zip(first.params, second.params, strict=True)) if a != b)
    if not all(isinstance(first.params[i], PostGISAdapter) for i in slots):
        return None
    return slots


def _bbox_adapter(bbox: Box, *, like: PostGISAdapter) -> PostGISAdapter:
    """`bbox` bound as the ORM bound the compiled one: same SRID and kind (a copy of it with the box's EWKB)."""
    if bbox.srid != like.srid:  # the shape's key holds the bbox's SRID, so the compiled one has it
        raise ValueError(f"a bbox in EPSG:{bbox.srid} cannot take the place of one in EPSG:{like.srid}")
    adapter = copy.copy(like)
    adapter.ewkb = bbox.ewkb
    return adapter


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


def _page_statement(
    collection: Collection,
    queryset: QuerySet,
    *,
    query: ItemsQuery,
    user,
    limit: int,
    check_more: bool,
    join_back: bool = True,
) -> Statement | None:
    """The statement of a page: the keyset (or offset) page of `queryset` in the query's encoding
    (`join_back`: feature_page_statement's)."""
    queryset, condition, with_private = layer_access.private_annotate(collection, queryset, user=user)
    ordered = _keyset(queryset, query=query)
    if query.cursor is None and query.offset:
        ordered = ordered[query.offset :]
    return feature_page_statement(
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
        check_more=check_more,
        stored=collection.stored_geojson,
        stored_properties=collection.stored_properties,
        stamps=_stamps(collection),
        join_back=join_back,
    )


def item_one(collection: Collection, queryset: QuerySet, *, pk: int, query: ItemsQuery, user) -> bytes | None:
    """One GeoJSON Feature (UTF-8 JSON), or None when `user` may not see it or it does not exist."""
    statement = _page_statement(collection, queryset.filter(pk=pk), query=query, user=user, limit=1, check_more=True)
    page = feature_page_read(statement)
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
