from django.urls import path

from benchapp.views import DrfGisList
from gis_portal.urls import urlpatterns as portal_urlpatterns

urlpatterns = [path("bench/drfgis/", DrfGisList.as_view()), *portal_urlpatterns]
