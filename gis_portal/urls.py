from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from facilities import views as facility_views

handler404 = "gis_portal.errors.page_not_found"
handler500 = "gis_portal.errors.server_error"

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("api.urls")),  # /api/v1/, /ogc/, /tiles/
]
urlpatterns += i18n_patterns(
    path("", facility_views.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("maps/", include("maps.urls")),  # issue 5
    path("tracking/", include("tracking.urls")),  # issue 4
    path("parcels/", include("parcels.urls")),  # issue 3
    path("accessibility/", include("accessibility.urls")),  # issue 7
    prefix_default_language=True,
)
