from django.urls import path

from tracking import plan_xlsx_views, population_views, views

app_name = "tracking"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("region/<str:kato>/", views.region_timeline, name="region"),
    path("facility/<int:pk>/", views.facility_detail, name="facility"),
    path("facility/<int:pk>/stages/restore/", views.stage_restore, name="stage_restore"),
    path("files/stage/<int:pk>/<str:field>/", views.stage_file, name="stage_file"),
    # The proving document of a stage record (used by the maps' facility page).
    path("files/stage/<int:pk>/", views.stage_file, {"field": "doc_file"}, name="stage_document"),
    path("plans/", views.plan_list, name="plans"),
    path("plans/xlsx/", plan_xlsx_views.plans_xlsx, name="plans_xlsx"),
    path("plans/<int:pk>/", views.plan_detail, name="plan"),
    path("plans/<int:pk>/xlsx/", plan_xlsx_views.plan_xlsx, name="plan_xlsx"),
    path("plans/<int:pk>/upload/", plan_xlsx_views.plan_upload, name="plan_upload"),
    path("plans/<int:pk>/restore/", views.plan_restore, name="plan_restore"),
    path("plans/<int:pk>/rows/restore/", views.plan_item_restore, name="plan_item_restore"),
    path("measures/", views.measure_list, name="measures"),
    path("kpi/", views.kpi, name="kpi"),
    path("kpi/measured/", views.kpi_measured, name="kpi_measured"),
    path("population/districts/", population_views.population_import, name="population_import"),
    path("reports/", views.report_page, name="reports"),
    path("reports/<int:pk>/<str:fmt>/", views.report_file, name="report_file"),
    path("reminders/", views.reminders, name="reminders"),
    path("disagreements/", views.disagreements, name="disagreements"),
]
