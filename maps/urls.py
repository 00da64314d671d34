from django.urls import path

from maps import facility_views, progress_views, public_table_views, public_views, views

app_name = "maps"

urlpatterns = [
    path("", views.national_map, name="national"),
    path("public/", public_views.public_map, name="public"),
    path("public/embed/", public_views.public_embed, name="embed"),
    path("public/facilities.geojson", public_views.public_facilities_geojson, name="public_geojson"),
    path("public/progress/", progress_views.public_progress, name="public_progress"),
    path("public/table/", public_table_views.public_table_page, name="public_table"),
    path("public/table/facilities.csv", public_table_views.public_download, {"fmt": "csv"}, name="public_csv"),
    path("public/table/facilities.xlsx", public_table_views.public_download, {"fmt": "xlsx"}, name="public_xlsx"),
    path(
        "public/table/facilities.geojson",
        public_table_views.public_download,
        {"fmt": "geojson"},
        name="public_table_geojson",
    ),
    path("region/<str:kato>/", views.region_map, name="region"),
    path("facility/<int:pk>/", views.facility_page, name="facility"),
    path("facility/<int:pk>/restore/", views.facility_restore, name="facility_restore"),
    path("facility/new/", facility_views.facility_edit, name="facility_new"),
    path("facility/<int:pk>/edit/", facility_views.facility_edit, name="facility_edit"),
    path("analysis/", views.analysis_map, name="analysis"),
]
