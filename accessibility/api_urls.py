from django.urls import path

from accessibility import api

urlpatterns = [
    path("accessibility/runs/", api.runs, name="accessibility-api-runs"),
    path("accessibility/runs/<int:pk>/", api.run_detail, name="accessibility-api-run"),
    path("accessibility/runs/<int:pk>/zones/", api.run_zones, name="accessibility-api-run-zones"),
    path("accessibility/runs/<int:pk>/distances/", api.run_distances, name="accessibility-api-run-distances"),
    path("accessibility/runs/<int:pk>/sites/", api.run_sites, name="accessibility-api-run-sites"),
    path("accessibility/runs/<int:pk>/areas/", api.run_areas, name="accessibility-api-run-areas"),
    path("accessibility/rasters/", api.rasters, name="accessibility-api-rasters"),
    path("accessibility/parameters/", api.parameters_default, name="accessibility-api-parameters"),
]
