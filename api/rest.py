"""GeoJSON REST API (/api/v1/): one view class per registered collection, plus plain-JSON resources."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.http import Http404
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

from accounts import layer_access
from api import openapi, selectors
from api.common import GEOJSON, ApiView, cache_headers, conditional, items_response, raw_response
from api.params import check_metacharacters, items_query_parse
from api.serializers import KpiTargetSerializer, MeasureSerializer, QuotaSerializer
from facilities import selectors as facility_selectors
from facilities.models import ConstructionQuota, KpiTarget
from gis_portal.geo.collections import Collection, Filter, ParamError, collection_get, collections_all

REST_DEFAULT_LIMIT = 100


class ItemsView(ApiView):
    collection_id: str = ""

    def get(self, request):
        collection = collection_get(self.collection_id)
        if not layer_access.collection_visible(collection, user=request.user):
            raise exceptions.NotAuthenticated()
        query = items_query_parse(
            request.query_params, collection, default_limit=REST_DEFAULT_LIMIT, allow_download=True
        )
        if request.query_params.get("f", "json") not in ("json", "geojson"):
            raise ParamError("f", "must be json or geojson")
        return items_response(request, collection, query=query)


class ItemView(ApiView):
    collection_id: str = ""

    def get(self, request, pk: int):
        if request.query_params.get("f", "json") not in ("json", "geojson"):
            raise ParamError("f", "must be json or geojson")
        return item_response(request, collection_get(self.collection_id), pk=pk)


def item_response(request, collection: Collection, *, pk: int, links: list | None = None):
    """One GeoJSON Feature (REST and OGC), with ETag/Last-Modified and 304."""
    if not layer_access.collection_visible(collection, user=request.user):
        raise exceptions.NotAuthenticated()
    params = request.query_params.copy()
    params.pop("f", None)  # checked by the REST and OGC views (html is OGC's)
    for key in params:
        if key not in ("crs", "precision", "simplify"):
            raise ParamError(key, "unknown parameter; allowed: crs, precision, simplify, f")
    query = items_query_parse(params, collection, default_limit=1, allow_download=False)
    if not 0 < pk < 2**63:  # beyond bigint no row exists; the ORM would fail on it (found by scripts/fuzz)
        raise Http404("no such feature")
    queryset = layer_access.collection_queryset(collection, user=request.user).filter(pk=pk)
    meta = selectors.items_meta(collection, queryset, user=request.user)
    if not meta.matched:
        raise Http404("no such feature")
    etag = selectors.items_etag(collection=collection, user=request.user, meta=meta, variant=request.get_full_path())
    not_modified = conditional(request, etag=etag, last_modified=meta.last_modified)
    if not_modified is not None:
        return not_modified
    feature = selectors.item_one(collection, queryset, pk=pk, query=query, user=request.user)
    if links:
        feature = b'{"links": ' + json.dumps(links).encode() + b", " + feature[1:]
    response = raw_response(feature, GEOJSON, headers={"Content-Crs": f"<{query.crs.uri}>"})
    return cache_headers(response, request=request, etag=etag, last_modified=meta.last_modified)


def _rest_views(collection: Collection) -> tuple[type, type]:
    """View classes for /api/v1/<id>/ and /api/v1/<id>/<pk>/, documented from the registry."""
    tag = [f"{collection.id}"]
    name = collection.id.title().replace("-", "")

    # Fresh functions per class: extend_schema annotates the function object it decorates.
    def items_get(self, request):
        return ItemsView.get(self, request)

    def item_get(self, request, pk: int):
        return ItemView.get(self, request, pk)

    items = type(f"{name}ItemsView", (ItemsView,), {"collection_id": collection.id})
    item = type(f"{name}ItemView", (ItemView,), {"collection_id": collection.id})
    items.get = extend_schema(
        operation_id=f"api_{collection.id}_list",
        summary=f"{collection.title_text}: GeoJSON features",
        description=str(collection.description)
        + " Anonymous clients get the public properties only; signed-in users what their role allows.",
        parameters=openapi.items_parameters(collection, ogc=False),
        responses=openapi.items_responses(collection),
        tags=tag,
    )(items_get)
    item.get = extend_schema(
        operation_id=f"api_{collection.id}_retrieve",
        summary=f"{collection.title_text}: one GeoJSON feature",
        parameters=openapi.item_parameters(ogc=False),
        responses=openapi.item_responses(collection),
        tags=tag,
    )(item_get)
    return items, item


def rest_views(collection: Collection) -> tuple[type, type]:
    """REST view classes of `collection`; the OpenAPI texts are written in English."""
    with translation.override("en"):
        return _rest_views(collection)


# --- plain JSON resources -----------------------------------------------------------------------


class Pagination(LimitOffsetPagination):
    default_limit = REST_DEFAULT_LIMIT
    max_limit = 1000


@dataclass(frozen=True)
class PlainResource:
    id: str
    selector: object
    serializer: type
    filters: dict[str, Filter] = field(default_factory=dict)
    ordering: dict[str, str] = field(default_factory=dict)
    default_ordering: str = ""
    distinct: bool = False


PLAIN_RESOURCES = [
    PlainResource(
        "measures",
        facility_selectors.measure_list,
        MeasureSerializer,
        filters={
            "measure": Filter(("number",), "int", "measure number(s), 1–26"),
            "section": Filter(("section_id",), "code", "section code(s)"),
        },
        ordering={"number": "number"},
        default_ordering="number",
    ),
    PlainResource(
        "quotas",
        lambda: ConstructionQuota.objects.select_related("measure").prefetch_related("regions"),
        QuotaSerializer,
        filters={
            "measure": Filter(("measure_id",), "int", "measure number(s), 14–26"),
            "kind": Filter(("object_kind_id",), "code", "facility kind code(s)"),
            "region": Filter(("regions__kato",), "kato", "quotas that include the region(s)"),
        },
        ordering={"measure": "measure_id", "count": "count"},
        default_ordering="measure",
        distinct=True,
    ),
    PlainResource(
        "kpi-targets",
        lambda: KpiTarget.objects.select_related("indicator"),
        KpiTargetSerializer,
        filters={
            "indicator": Filter(("indicator_id",), "code", "indicator code(s)"),
            "year": Filter(("year",), "int", "year(s)"),
        },
        ordering={"id": "pk", "year": "year", "indicator": "indicator_id"},
        default_ordering="id",
    ),
]


class PlainListView(ApiView):
    resource: PlainResource

    def get(self, request):
        resource = self.resource
        params = request.query_params
        check_metacharacters(params)
        allowed = {"limit", "offset", "ordering", "f"} | set(resource.filters)
        for key in params:
            if key not in allowed:
                raise ParamError(key, f"unknown parameter; allowed: {', '.join(sorted(allowed))}")
        if params.get("f", "json") != "json":
            raise ParamError("f", "must be json")
        for name, hi in (("limit", Pagination.max_limit), ("offset", 1_000_000)):
            raw = params.get(name)
            if raw is not None and not (
                raw.isdigit() and len(raw) <= 9 and (name == "offset" or int(raw) >= 1) and int(raw) <= hi
            ):
                raise ParamError(name, f"must be a whole number up to {hi}")
        ordering = params.get("ordering", resource.default_ordering)
        if ordering.lstrip("-") not in resource.ordering:
            raise ParamError("ordering", f"{ordering!r} is not allowed; use one of {', '.join(resource.ordering)}")
        field_name = resource.ordering[ordering.lstrip("-")]
        queryset = resource.selector()
        for name, spec in resource.filters.items():
            if name in params:
                queryset = spec.apply(queryset, spec.parse(name, params[name]))
        if resource.distinct:
            queryset = queryset.distinct()  # many-to-many filters (quota regions) would repeat rows
        queryset = queryset.order_by(("-" if ordering.startswith("-") else "") + field_name, "pk")
        paginator = Pagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(resource.serializer(page, many=True).data)


def plain_view(resource: PlainResource) -> type:
    view = type(f"{resource.id.title().replace('-', '')}ListView", (PlainListView,), {"resource": resource})

    def get(self, request):
        return PlainListView.get(self, request)

    parameters = [
        OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, description="page size"),
        OpenApiParameter("offset", {"type": "integer", "minimum": 0, "maximum": 1_000_000}, description="rows to skip"),
        OpenApiParameter(
            "ordering",
            OpenApiTypes.STR,
            enum=sorted([*resource.ordering, *(f"-{o}" for o in resource.ordering)]),
        ),
        *(openapi.filter_parameter(name, spec) for name, spec in resource.filters.items()),
    ]
    view.get = extend_schema(
        operation_id=f"api_{resource.id.replace('-', '_')}_list",
        parameters=parameters,
        responses={200: resource.serializer(many=True), 400: OpenApiResponse(response=openapi.ERROR)},
        tags=[resource.id],
    )(get)
    view.serializer_class = resource.serializer
    view.pagination_class = Pagination
    return view


class IndexView(ApiView):
    @extend_schema(
        operation_id="api_index",
        summary="List of the API's resources",
        responses={200: OpenApiResponse(response={"type": "object", "additionalProperties": {"type": "string"}})},
        tags=["index"],
    )
    def get(self, request):
        base = request.build_absolute_uri("/api/v1/")
        resources = {
            c.id: f"{base}{c.id}/"
            for c in collections_all()
            if c.rest and layer_access.collection_visible(c, user=request.user)
        }
        resources.update({r.id: f"{base}{r.id}/" for r in PLAIN_RESOURCES})
        resources["schema"] = f"{base}schema/"
        resources["docs"] = f"{base}docs/"
        resources["ogc"] = request.build_absolute_uri("/ogc/")
        return Response(resources)
