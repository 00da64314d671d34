from django.urls import path

from parcels import import_views, views

app_name = "parcels"

urlpatterns = [
    path("", views.parcel_list, name="list"),
    path("new/", views.parcel_edit, name="create"),
    path("<int:pk>/", views.parcel_detail, name="detail"),
    path("<int:pk>/edit/", views.parcel_edit, name="edit"),
    path("<int:pk>/revoke/", views.parcel_revoke, name="revoke"),
    path("<int:pk>/restore/", views.parcel_restore, name="restore"),
    path("<int:parcel_pk>/links/new/", views.link_edit, name="link_create"),
    path("<int:parcel_pk>/links/<int:pk>/", views.link_edit, name="link_edit"),
    path("<int:parcel_pk>/links/<int:pk>/delete/", views.link_delete, name="link_delete"),
    path("<int:parcel_pk>/links/<int:pk>/restore/", views.link_restore, name="link_restore"),
    path("<int:parcel_pk>/documents/", views.document_upload, name="document_upload"),
    path("<int:parcel_pk>/documents/restore/", views.document_restore, name="document_restore"),
    path("documents/<int:pk>/", views.document_download, name="document_download"),
    path("import/", import_views.import_upload, name="import"),
    path("import/<str:token>/", import_views.import_preview, name="import_preview"),
    path("import/<str:token>/choices/", import_views.import_choices, name="import_choices"),
    path("import/<str:token>/confirm/", import_views.import_confirm, name="import_confirm"),
    path("import/<str:token>/columns/", import_views.import_columns, name="import_columns"),
    path("export/", views.export, name="export"),
    path("compliance/", views.compliance, name="compliance"),
]
