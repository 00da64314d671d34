"""OGC API – Features Part 1 Core (+GeoJSON, +HTML, +OpenAPI 3.0) and Part 2 CRS at /ogc/.

JSON and HTML are chosen by `?f=json|html` or by the Accept header; items are
application/geo+json. Collections come from the registry (public ones for
anonymous clients; non-public ones only for signed-in users, scoped by region).
"""

from __future__ import annotations

import json

from django.http import Http404
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiJsonRenderer2
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularJSONAPIView
from rest_framework import exceptions
from rest_framework.response import Response

from accounts import layer_access
from api import openapi, queryables, selectors
from api.common import GEOJSON, HTML, JSON, ApiView, item_response, items_response, url_with
from api.params import CRS84, SUPPORTED_CRS, items_query_parse, unknown_parameter
from gis_portal.geo.collections import Collection, ParamError, collection_get, collections_all
from gis_portal.problems import problem_response

OGC_DEFAULT_LIMIT = 10
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    # Part 3 (draft): /collections/{id}/queryables, and every queryable usable as ?name=value on items.
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
]
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
OPENAPI_MEDIA = "application/vnd.oai.openapi+json;version=3.0"


class OpenApiView(SpectacularJSONAPIView):
    """/ogc/api: the OGC API's own OpenAPI 3.0 definition (the /ogc/ routes only, given as
    `patterns` by api.urls; the whole API's document is /api/v1/schema/), labelled with the
    media type the landing page's service-desc link announces,
    `application/vnd.oai.openapi+json;version=3.0` (or `application/json` when only that is accepted).

    GDAL's OAPIF driver (3.6.2, observed against this server with CPL_CURL_VERBOSE=YES) asks for
    `application/vnd.oai.openapi+json;version=3.0, application/openapi+json;version=3.0,
    application/json` and refuses a Content-Type that lacks any `;`-separated token of the type
    it matched: plain `application/vnd.oai.openapi+json` (drf-spectacular's own) fails with
    "Unexpected Content-Type", and GDAL then filters every `-where` on the client. The renderer's
    media type stays parameter-free, so `*/*` and the bare type still select it (DRF matches a
    renderer type with parameters only against an Accept entry with the same parameters).
    """

    renderer_classes = [OpenApiJsonRenderer, OpenApiJsonRenderer2]
    # Paths relative to the server URL /ogc, as OGC API – Features clients look them up: GDAL
    # 3.6.2 reads the query parameters of `paths["/collections/{id}/items"]` literally (then of
    # "/collections/{collectionId}/items") and sends a `-where` equality on a layer field as
    # `?field=value` only when a query parameter of that name is listed there.
    custom_settings = {
        "SERVERS": [{"url": "/ogc", "description": "OGC API – Features"}],
        "SCHEMA_PATH_PREFIX": "/ogc",
        "SCHEMA_PATH_PREFIX_TRIM": True,
    }

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        renderer = getattr(response, "accepted_renderer", None)
        if response.status_code == 200 and type(renderer) is OpenApiJsonRenderer:
            response.content_type = OPENAPI_MEDIA
        return response


def wants_html(request) -> bool:
    """`?f=html`, or a browser's Accept header that prefers HTML, selects the HTML encoding."""
    f = request.query_params.get("f")
    if f is not None:
        if f not in ("json", "html", "geojson"):
            raise ParamError("f", _("must be json, geojson or html"))
        return f == "html"
    accept = request.headers.get("Accept", "")
    return HTML in accept and "json" not in accept


def _only_f(request) -> None:
    for key in request.query_params:
        if key != "f":
            raise unknown_parameter(key, ("f",))


class OgcView(ApiView):
    def html(self, request, template: str, context: dict, *, title: str):
        response = render(
            request, f"api/ogc/{template}", {**context, "title": title, "json_href": url_with(request, f="json")}
        )
        return response


def _visible(request) -> list[Collection]:
    return [
        c for c in collections_all() if c.ogc and c.geometry and layer_access.collection_visible(c, user=request.user)
    ]


def _collection_or_404(request, collection_id: str) -> Collection:
    collection = collection_get(collection_id)
    if collection is None or not collection.ogc or not collection.geometry:
        raise Http404("no such collection")
    if not layer_access.collection_visible(collection, user=request.user):
        raise exceptions.NotAuthenticated()
    return collection


class LandingView(OgcView):
    @extend_schema(
        operation_id="ogc_landing",
        summary="OGC API landing page",
        responses={200: OpenApiResponse(response=OpenApiTypes.OBJECT)},
        tags=["ogc"],
    )
    def get(self, request):
        _only_f(request)
        base = request.build_absolute_uri("/ogc/")
        doc = {
            "title": "gis_portal: children's recreation roadmap 2024–2026 (Order No. 191-ө)",
            "description": "OGC API – Features over the roadmap's regions, districts and facilities.",
            "links": [
                {"rel": "self", "type": JSON, "title": "this document", "href": f"{base}?f=json"},
                {"rel": "alternate", "type": HTML, "title": "this document as HTML", "href": f"{base}?f=html"},
                {"rel": "service-desc", "type": OPENAPI_MEDIA, "title": "the API definition", "href": f"{base}api"},
                {
                    "rel": "service-doc",
                    "type": HTML,
                    "title": "the API documentation",
                    "href": request.build_absolute_uri("/api/v1/docs/"),
                },
                {"rel": "conformance", "type": JSON, "title": "conformance classes", "href": f"{base}conformance"},
                {"rel": "data", "type": JSON, "title": "collections", "href": f"{base}collections"},
            ],
        }
        if wants_html(request):
            return self.html(
                request, "landing.html", {"doc": doc, "collections": _visible(request)}, title=doc["title"]
            )
        return Response(doc, content_type=JSON)


class ConformanceView(OgcView):
    @extend_schema(
        operation_id="ogc_conformance",
        summary="Conformance classes",
        responses={200: OpenApiResponse(response=OpenApiTypes.OBJECT)},
        tags=["ogc"],
    )
    def get(self, request):
        _only_f(request)
        doc = {"conformsTo": CONFORMANCE}
        if wants_html(request):
            return self.html(request, "conformance.html", {"doc": doc}, title="Conformance")
        return Response(doc, content_type=JSON)


def collection_doc(request, collection: Collection) -> dict:
    base = request.build_absolute_uri(f"/ogc/collections/{collection.id}")
    queryset = layer_access.collection_queryset(collection, user=request.user)
    extent = selectors.collection_extent(collection, queryset)
    doc = {
        "id": collection.id,
        "title": collection.title_text,
        "description": str(collection.description),
        "itemType": "feature",
        "crs": SUPPORTED_CRS,
        "storageCrs": CRS84,
        "links": [
            {"rel": "self", "type": JSON, "title": "this collection", "href": f"{base}?f=json"},
            {"rel": "alternate", "type": HTML, "title": "this collection as HTML", "href": f"{base}?f=html"},
            {"rel": "items", "type": GEOJSON, "title": "the features", "href": f"{base}/items?f=json"},
            {"rel": "items", "type": HTML, "title": "the features as HTML", "href": f"{base}/items?f=html"},
            {
                "rel": QUERYABLES_REL,
                "type": queryables.SCHEMA_JSON,
                "title": "what the features can be selected by",
                "href": f"{base}/queryables",
            },
        ],
    }
    if extent:
        doc["extent"] = {"spatial": {"bbox": [extent], "crs": CRS84}}
    return doc


class CollectionsView(OgcView):
    @extend_schema(
        operation_id="ogc_collections",
        summary="Feature collections",
        responses={200: OpenApiResponse(response=OpenApiTypes.OBJECT)},
        tags=["ogc"],
    )
    def get(self, request):
        _only_f(request)
        base = request.build_absolute_uri("/ogc/collections")
        doc = {
            "links": [
                {"rel": "self", "type": JSON, "title": "this document", "href": f"{base}?f=json"},
                {"rel": "alternate", "type": HTML, "title": "this document as HTML", "href": f"{base}?f=html"},
            ],
            "crs": SUPPORTED_CRS,
            "collections": [collection_doc(request, c) for c in _visible(request)],
        }
        if wants_html(request):
            return self.html(request, "collections.html", {"doc": doc}, title="Collections")
        return Response(doc, content_type=JSON)


class CollectionView(OgcView):
    collection_id = ""

    def get(self, request, collection_id: str | None = None):
        _only_f(request)
        collection = _collection_or_404(request, collection_id or self.collection_id)
        doc = collection_doc(request, collection)
        if wants_html(request):
            return self.html(request, "collection.html", {"doc": doc}, title=doc["title"])
        return Response(doc, content_type=JSON)


class QueryablesView(OgcView):
    """OGC API – Features Part 3: the collection's queryables, those this caller may use."""

    collection_id = ""

    def get(self, request, collection_id: str | None = None):
        _only_f(request)
        collection = _collection_or_404(request, collection_id or self.collection_id)
        queryset = layer_access.collection_queryset(collection, user=request.user)
        names = layer_access.filters_usable(collection, queryset, user=request.user)
        url = request.build_absolute_uri(f"/ogc/collections/{collection.id}/queryables")
        doc = queryables.queryables_schema(collection, names, schema_id=url)
        if wants_html(request):
            context = {"doc": doc, "collection": collection}
            return self.html(request, "queryables.html", context, title=doc["title"])
        return Response(doc, content_type=queryables.SCHEMA_JSON)


class ItemsView(OgcView):
    collection_id = ""

    def get(self, request, collection_id: str | None = None):
        collection = _collection_or_404(request, collection_id or self.collection_id)
        html = wants_html(request)
        params = request.query_params.copy()
        params.pop("f", None)
        query = items_query_parse(params, collection, default_limit=OGC_DEFAULT_LIMIT, allow_download=False)
        base = request.build_absolute_uri(f"/ogc/collections/{collection.id}")
        extra = [{"rel": "collection", "type": JSON, "title": collection.title_text, "href": f"{base}?f=json"}]
        response = items_response(request, collection, query=query, extra_links=extra, html_alternate=True)
        if not html or response.status_code != 200:
            return response
        data = json.loads(response.content)
        names = layer_access.readable_properties(collection, collection.selector().none(), user=request.user)
        rows = [{"id": f["id"], "values": [f["properties"].get(n) for n in names]} for f in data["features"]]
        return self.html(
            request,
            "items.html",
            {"collection": collection, "doc": data, "names": names, "rows": rows, "base": base},
            title=collection.title_text,
        )


class ItemView(OgcView):
    collection_id = ""

    def get(self, request, pk: int, collection_id: str | None = None):
        collection = _collection_or_404(request, collection_id or self.collection_id)
        html = wants_html(request)
        base = request.build_absolute_uri(f"/ogc/collections/{collection.id}")
        links = [
            {"rel": "self", "type": GEOJSON, "title": "this feature", "href": f"{base}/items/{pk}?f=json"},
            {"rel": "alternate", "type": HTML, "title": "this feature as HTML", "href": f"{base}/items/{pk}?f=html"},
            {"rel": "collection", "type": JSON, "title": collection.title_text, "href": f"{base}?f=json"},
        ]
        response = item_response(request, collection, pk=pk, links=links)
        if not html or response.status_code != 200:
            return response
        feature = json.loads(response.content)
        return self.html(
            request,
            "item.html",
            {"collection": collection, "feature": feature, "base": base},
            title=f"{collection.title_text} {pk}",
        )


def _ogc_views(collection: Collection) -> tuple[type, type, type, type]:
    """Per-collection view classes, so the OpenAPI document lists each collection's own filters."""
    name = collection.id.title().replace("-", "")
    coll = type(f"Ogc{name}CollectionView", (CollectionView,), {"collection_id": collection.id})
    queryables_view = type(f"Ogc{name}QueryablesView", (QueryablesView,), {"collection_id": collection.id})
    items = type(f"Ogc{name}ItemsView", (ItemsView,), {"collection_id": collection.id})
    item = type(f"Ogc{name}ItemView", (ItemView,), {"collection_id": collection.id})
    tag = ["ogc"]

    # Fresh functions per class: extend_schema annotates the function object it decorates.
    def coll_get(self, request):
        return CollectionView.get(self, request)

    def queryables_get(self, request):
        return QueryablesView.get(self, request)

    def items_get(self, request):
        return ItemsView.get(self, request)

    def item_get(self, request, pk: int):
        return ItemView.get(self, request, pk)

    coll.get = extend_schema(
        operation_id=f"ogc_{collection.id}_collection",
        summary=f"{collection.title_text}: collection description",
        parameters=[OpenApiParameter("f", OpenApiTypes.STR, enum=["json", "html"])],
        responses=openapi.collection_responses(collection),
        tags=tag,
    )(coll_get)
    queryables_view.get = extend_schema(
        operation_id=f"ogc_{collection.id}_queryables",
        summary=f"{collection.title_text}: queryables (what the features can be selected by)",
        parameters=[OpenApiParameter("f", OpenApiTypes.STR, enum=["json", "html"])],
        responses=openapi.queryables_responses(collection),
        tags=tag,
    )(queryables_get)
    items.get = extend_schema(
        operation_id=f"ogc_{collection.id}_items",
        summary=f"{collection.title_text}: features",
        parameters=openapi.items_parameters(collection, ogc=True),
        responses=openapi.items_responses(collection, ogc=True),
        tags=tag,
    )(items_get)
    item.get = extend_schema(
        operation_id=f"ogc_{collection.id}_item",
        summary=f"{collection.title_text}: one feature",
        parameters=openapi.item_parameters(ogc=True),
        responses=openapi.item_responses(collection, ogc=True),
        tags=tag,
    )(item_get)
    return coll, queryables_view, items, item


def ogc_views(collection: Collection) -> tuple[type, type, type, type]:
    """OGC view classes of `collection`; the OpenAPI texts are written in English."""
    with translation.override("en"):
        return _ogc_views(collection)


def not_found_collection(request, collection_id: str, pk: int | None = None):
    """Unknown collection ids: a 404 problem document (the explicit per-collection routes come first)."""
    return problem_response(status=404, instance=request.path, detail=f"no collection {collection_id[:60]!r}")
