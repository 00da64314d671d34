from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from facilities import views as facility_views

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
]
urlpatterns += i18n_patterns(
    path("", facility_views.home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    prefix_default_language=True,
)
