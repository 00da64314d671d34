"""GeoDjango admin map widgets that load OpenLayers from our static files, not a CDN.

Django's OSMWidget links OpenLayers from cdn.jsdelivr.net; deployments may be
offline or behind a strict Content-Security-Policy, so the same OpenLayers
release (7.2.2, installed by npm into maps/assets) is served by the application.
"""

from django.contrib.gis.admin import GISModelAdmin
from django.contrib.gis.forms.widgets import OSMWidget

from gis_portal.csp import current_nonce


class LocalOSMWidget(OSMWidget):
    class Media:
        extend = False
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/dist/ol.js", "gis/js/OLMapWidget.js")

    def get_context(self, name, value, attrs):
        # The widget's inline script needs the page's CSP nonce; widget templates get no `request`.
        context = super().get_context(name, value, attrs)
        context["csp_nonce"] = current_nonce()
        return context


class PortalGISModelAdmin(GISModelAdmin):
    """GISModelAdmin with the local OpenLayers widget (EPSG:4326 storage, Web Mercator display)."""

    gis_widget = LocalOSMWidget
