"""Mapbox Vector Tiles of the registered layers (/tiles/{layer}/{z}/{x}/{y}.pbf), built by ST_AsMVT."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions

from accounts import layer_access
from api import selectors
from api.common import ApiView, cache_headers, conditional, raw_response
from api.params import check_metacharacters
from gis_portal.geo.collections import ParamError, collection_get

MVT = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 22


class TileView(ApiView):
    @extend_schema(
        operation_id="tiles_get",
        summary="Vector tile (Web Mercator XYZ) of a layer; public properties for anonymous clients",
        parameters=[
            OpenApiParameter("layer", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter("z", OpenApiTypes.INT, OpenApiParameter.PATH),
            OpenApiParameter("x", OpenApiTypes.INT, OpenApiParameter.PATH),
            OpenApiParameter("y", OpenApiTypes.INT, OpenApiParameter.PATH),
        ],
        responses={
            (200, MVT): OpenApiResponse(response=OpenApiTypes.BINARY),
            400: OpenApiResponse(description="bad tile address"),
            404: OpenApiResponse(description="no such layer"),
        },
        tags=["tiles"],
    )
    def get(self, request, layer: str, z: int, x: int, y: int):
        check_metacharacters(request.query_params)
        if request.query_params:
            raise ParamError(next(iter(request.query_params)), _("tiles take no parameters"))
        collection = collection_get(layer)
        if collection is None or not collection.tiles:
            raise Http404("no such tile layer")
        if not layer_access.collection_visible(collection, user=request.user):
            raise exceptions.NotAuthenticated()
        if not 0 <= z <= MAX_ZOOM:
            raise ParamError("z", _("zoom must be between 0 and %(max)d") % {"max": MAX_ZOOM})
        if not (0 <= x < 2**z and 0 <= y < 2**z):
            raise ParamError("x", _("x and y must be between 0 and %(max)d at zoom %(z)d") % {"max": 2**z - 1, "z": z})
        queryset = layer_access.collection_queryset(collection, user=request.user)
        meta = selectors.items_meta(collection, queryset, user=request.user)
        etag = None
        if not meta.estimated:
            etag = selectors.items_etag(
                collection=collection, user=request.user, meta=meta, variant=f"tile/{z}/{x}/{y}"
            )
            not_modified = conditional(request, etag=etag, last_modified=meta.last_modified)
            if not_modified is not None:
                return not_modified
        data = selectors.tile_mvt(collection, queryset, z=z, x=x, y=y, user=request.user)
        return cache_headers(raw_response(data, MVT), request=request, etag=etag, last_modified=meta.last_modified)
