from django.urls import path

from tracking import api

urlpatterns = [
    path("tracking/facilities/", api.facility_list, name="tracking-api-facilities"),
    path("tracking/facilities/<int:pk>/", api.facility_detail, name="tracking-api-facility"),
    path("tracking/facilities/<int:pk>/stages/", api.stage_create, name="tracking-api-stage-create"),
    path("tracking/statuses/", api.statuses, name="tracking-api-statuses"),
    path("tracking/plans/", api.plan_list, name="tracking-api-plans"),
    path("tracking/plans/<int:pk>/", api.plan_detail, name="tracking-api-plan"),
    path("tracking/stages/", api.stage_record_list, name="tracking-api-stages"),
]
