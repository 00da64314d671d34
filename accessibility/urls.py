from django.urls import path

from accessibility import views

app_name = "accessibility"

urlpatterns = [
    path("", views.run_list, name="run_list"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/districts/", views.run_districts, name="run_districts"),
    path("runs/<int:pk>/rerun/", views.run_rerun, name="run_rerun"),
    path("runs/<int:pk>/repeat/", views.run_repeat, name="run_repeat"),
    path("runs/<int:pk>/compare/<int:other>/", views.run_compare, name="run_compare"),
    path("runs/<int:pk>/download/<slug:what>.<slug:fmt>", views.run_download, name="run_download"),
    path("settlements/import/", views.settlement_import, name="settlement_import"),
    path("rasters/", views.raster_list, name="raster_list"),
]
