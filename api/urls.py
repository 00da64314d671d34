"""Routes of the REST API (/api/v1/: api.v1.urls), OGC API – Features (/ogc/) and vector tiles (/tiles/).

Mounted by one line in gis_portal/urls.py, outside i18n_patterns. Every view is
gzip-compressed (Django's GZipMiddleware logic, per view so HTML pages with CSRF
tokens elsewhere are not affected) and plain-JSON ones get an ETag from their body.
"""

from django.urls import include, path
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import conditional_page

from api import ogc, tiles
from gis_portal.geo.collections import collections_all


def _gz(view):
    return gzip_page(view)


urlpatterns = [path("api/v1/", include("api.v1.urls"))]

ogc_patterns = [
    path("ogc/", _gz(conditional_page(ogc.LandingView.as_view())), name="ogc-landing"),
    path("ogc/conformance", _gz(conditional_page(ogc.ConformanceView.as_view())), name="ogc-conformance"),
    path("ogc/collections", _gz(conditional_page(ogc.CollectionsView.as_view())), name="ogc-collections"),
]
for collection in collections_all():
    if collection.ogc and collection.geometry:
        coll, queryables, items, item = ogc.ogc_views(collection)
        base = f"ogc/collections/{collection.id}"
        ogc_patterns += [
            path(base, _gz(conditional_page(coll.as_view())), name=f"ogc-{collection.id}"),
            path(
                f"{base}/queryables",
                _gz(conditional_page(queryables.as_view())),
                name=f"ogc-{collection.id}-queryables",
            ),
            path(f"{base}/items", _gz(items.as_view()), name=f"ogc-{collection.id}-items"),
            path(f"{base}/items/<int:pk>", _gz(item.as_view()), name=f"ogc-{collection.id}-item"),
        ]
urlpatterns += [
    *ogc_patterns,
    path("ogc/api", _gz(ogc.OpenApiView.as_view(patterns=ogc_patterns)), name="ogc-openapi"),
    path("ogc/collections/<str:collection_id>", ogc.not_found_collection),
    path("ogc/collections/<str:collection_id>/queryables", ogc.not_found_collection),
    path("ogc/collections/<str:collection_id>/items", ogc.not_found_collection),
    path("ogc/collections/<str:collection_id>/items/<int:pk>", ogc.not_found_collection),
    path("tiles/<slug:layer>/<int:z>/<int:x>/<int:y>.pbf", _gz(tiles.TileView.as_view()), name="tiles"),
]
