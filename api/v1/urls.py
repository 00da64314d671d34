"""Routes of /api/v1/, mounted by api.urls (outside i18n_patterns).

Every view is gzip-compressed (Django's GZipMiddleware logic, per view so HTML pages with CSRF
tokens elsewhere are not affected) and plain-JSON reads get an ETag from their body.
"""

from django.urls import path
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import conditional_page
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from api.v1 import accessibility, catalogue, open_data, parcels, tracking
from api.v1.collections import rest_views
from gis_portal.csp import worker_csp
from gis_portal.geo.collections import collections_all

urlpatterns = [
    path("", gzip_page(conditional_page(catalogue.IndexView.as_view())), name="api-index"),
    path("schema/", gzip_page(SpectacularAPIView.as_view()), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # ReDoc's search runs in a Web Worker made from a blob: URL: that page alone allows such workers.
    path("redoc/", worker_csp(SpectacularRedocView.as_view(url_name="api-schema")), name="api-redoc"),
]
for resource in catalogue.PLAIN_RESOURCES:
    urlpatterns.append(
        path(
            f"{resource.id}/",
            gzip_page(conditional_page(catalogue.plain_view(resource).as_view())),
            name=f"api-{resource.id}",
        )
    )
for collection in collections_all():
    if collection.rest and collection.rest_mounted_here:
        items, item = rest_views(collection)
        urlpatterns += [
            path(f"{collection.id}/", gzip_page(items.as_view()), name=f"api-{collection.id}-list"),
            path(f"{collection.id}/<int:pk>/", gzip_page(item.as_view()), name=f"api-{collection.id}-detail"),
        ]

urlpatterns += [
    # Parcels: the layer's reads and the token writes on the same paths.
    path("parcels/", gzip_page(parcels.ParcelCollection.as_view()), name="api-parcels"),
    path("parcels/<int:pk>/", parcels.ParcelItem.as_view(), name="api-parcel"),
    path("parcels/<int:parcel_pk>/links/", parcels.LinkCollection.as_view(), name="api-parcel-links"),
    path("parcels/<int:parcel_pk>/links/<int:pk>/", parcels.LinkItem.as_view(), name="api-parcel-link"),
    # Construction tracking.
    path("tracking/facilities/", tracking.FacilityListView.as_view(), name="tracking-api-facilities"),
    path("tracking/facilities/<int:pk>/", tracking.FacilityDetailView.as_view(), name="tracking-api-facility"),
    path("tracking/facilities/<int:pk>/stages/", tracking.StageCreateView.as_view(), name="tracking-api-stage-create"),
    path("tracking/statuses/", tracking.StatusesView.as_view(), name="tracking-api-statuses"),
    path("tracking/plans/", tracking.PlanListView.as_view(), name="tracking-api-plans"),
    path("tracking/plans/<int:pk>/", tracking.PlanDetailView.as_view(), name="tracking-api-plan"),
    path("tracking/stages/", tracking.StageRecordListView.as_view(), name="tracking-api-stages"),
    # Accessibility analysis.
    path("accessibility/runs/", accessibility.RunListView.as_view(), name="accessibility-api-runs"),
    path("accessibility/runs/<int:pk>/", accessibility.RunDetailView.as_view(), name="accessibility-api-run"),
    path(
        "accessibility/runs/<int:pk>/zones/", accessibility.RunZonesView.as_view(), name="accessibility-api-run-zones"
    ),
    path(
        "accessibility/runs/<int:pk>/distances/",
        accessibility.RunDistancesView.as_view(),
        name="accessibility-api-run-distances",
    ),
    path(
        "accessibility/runs/<int:pk>/sites/", accessibility.RunSitesView.as_view(), name="accessibility-api-run-sites"
    ),
    path(
        "accessibility/runs/<int:pk>/areas/", accessibility.RunAreasView.as_view(), name="accessibility-api-run-areas"
    ),
    path(
        "accessibility/runs/<int:pk>/repeat/",
        accessibility.RunRepeatView.as_view(),
        name="accessibility-api-run-repeat",
    ),
    path(
        "accessibility/runs/<int:pk>/compare/<int:other>/",
        accessibility.RunCompareView.as_view(),
        name="accessibility-api-run-compare",
    ),
    path("accessibility/rasters/", accessibility.RasterListView.as_view(), name="accessibility-api-rasters"),
    path("accessibility/parameters/", accessibility.ParametersView.as_view(), name="accessibility-api-parameters"),
    path("open-data/oc4ids.json", gzip_page(open_data.Oc4idsView.as_view()), name="api-open-data-oc4ids"),
]
