"""Mounted at /api/v1/ (outside i18n_patterns) by one line in gis_portal/urls.py."""

from django.urls import path
from django.views.decorators.gzip import gzip_page

from parcels import api

urlpatterns = [
    path("parcels/", gzip_page(api.ParcelCollection.as_view()), name="api-parcels"),
    path("parcels/<int:pk>/", api.ParcelItem.as_view(), name="api-parcel"),
    path("parcels/<int:parcel_pk>/links/", api.LinkCollection.as_view(), name="api-parcel-links"),
    path("parcels/<int:parcel_pk>/links/<int:pk>/", api.LinkItem.as_view(), name="api-parcel-link"),
]
