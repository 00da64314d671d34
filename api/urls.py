"""Routes of the REST API (/api/v1/), OGC API – Features (/ogc/) and vector tiles (/tiles/).

Mounted by one line in gis_portal/urls.py, outside i18n_patterns. Every view is
gzip-compressed (Django's GZipMiddleware logic, per view so HTML pages with CSRF
tokens elsewhere are not affected) and plain-JSON ones get an ETag from their body.
"""

from django.urls import path
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import conditional_page
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularJSONAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from api import ogc, rest, tiles
from gis_portal.geo.collections import collections_all


def _gz(view):
    return gzip_page(view)


urlpatterns = [
    path("api/v1/", _gz(conditional_page(rest.IndexView.as_view())), name="api-index"),
    path("api/v1/schema/", _gz(SpectacularAPIView.as_view()), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
for resource in rest.PLAIN_RESOURCES:
    urlpatterns.append(
        path(
            f"api/v1/{resource.id}/",
            _gz(conditional_page(rest.plain_view(resource).as_view())),
            name=f"api-{resource.id}",
        )
    )

urlpatterns += [
    path("ogc/", _gz(conditional_page(ogc.LandingView.as_view())), name="ogc-landing"),
    path("ogc/api", _gz(SpectacularJSONAPIView.as_view()), name="ogc-openapi"),
    path("ogc/conformance", _gz(conditional_page(ogc.ConformanceView.as_view())), name="ogc-conformance"),
    path("ogc/collections", _gz(conditional_page(ogc.CollectionsView.as_view())), name="ogc-collections"),
]
for collection in collections_all():
    if collection.rest and collection.rest_mounted_here:
        items, item = rest.rest_views(collection)
        urlpatterns += [
            path(f"api/v1/{collection.id}/", _gz(items.as_view()), name=f"api-{collection.id}-list"),
            path(f"api/v1/{collection.id}/<int:pk>/", _gz(item.as_view()), name=f"api-{collection.id}-detail"),
        ]
    if collection.ogc and collection.geometry:
        coll, items, item = ogc.ogc_views(collection)
        base = f"ogc/collections/{collection.id}"
        urlpatterns += [
            path(base, _gz(conditional_page(coll.as_view())), name=f"ogc-{collection.id}"),
            path(f"{base}/items", _gz(items.as_view()), name=f"ogc-{collection.id}-items"),
            path(f"{base}/items/<int:pk>", _gz(item.as_view()), name=f"ogc-{collection.id}-item"),
        ]
urlpatterns += [
    path("ogc/collections/<str:collection_id>", ogc.not_found_collection),
    path("ogc/collections/<str:collection_id>/items", ogc.not_found_collection),
    path("ogc/collections/<str:collection_id>/items/<int:pk>", ogc.not_found_collection),
    path("tiles/<slug:layer>/<int:z>/<int:x>/<int:y>.pbf", _gz(tiles.TileView.as_view()), name="tiles"),
]
