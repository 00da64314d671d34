"""/api/v1/<layer>/ and /api/v1/<layer>/<id>/: the GeoJSON reads of every registered layer.

One view class per layer, generated from its declaration (gis_portal.geo.collections) and
documented from it; the layers whose app takes writes on the same path (parcels) extend the
generated class in their own module of this package.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions

from accounts import layer_access
from api import openapi
from api.common import ApiView, item_response, items_response
from api.pagination import DEFAULT_LIMIT
from api.params import DOWNLOAD_FORMATS, downloads_elsewhere, items_query_parse
from gis_portal.geo.collections import Collection, ParamError, collection_get


class ItemsView(ApiView):
    collection_id: str = ""

    def get(self, request):
        collection = collection_get(self.collection_id)
        if not layer_access.collection_visible(collection, user=request.user):
            raise exceptions.NotAuthenticated()
        query = items_query_parse(request.query_params, collection, default_limit=DEFAULT_LIMIT, allow_download=True)
        if request.query_params.get("f", "json") not in ("json", "geojson"):
            # `f` is the response's encoding; a client that meant a file named the wrong parameter.
            raise ParamError(
                "f",
                _("must be json or geojson; a download is asked for with format=%(formats)s")
                % {"formats": "|".join(DOWNLOAD_FORMATS)},
            )
        return items_response(request, collection, query=query)


class ItemView(ApiView):
    collection_id: str = ""

    def get(self, request, pk: int):
        if request.query_params.get("f", "json") not in ("json", "geojson"):
            collection = collection_get(self.collection_id)
            raise ParamError(
                "f", _("must be json or geojson; %(downloads)s") % {"downloads": downloads_elsewhere(collection)}
            )
        return item_response(request, collection_get(self.collection_id), pk=pk)


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
