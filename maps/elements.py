"""folium elements that draw the portal's layers with maps/static/maps/portal-maps.js.

Each element embeds its GeoJSON (text from PostGIS, EPSG:4326) and options as JSON
in the map's script and calls one PortalMaps factory; folium's LayerControl lists
them like any other layer.
"""

from __future__ import annotations

from django.templatetags.static import static
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.plugins import MarkerCluster
from folium.template import Template

from maps.builders import json_for_script


def _portal_js() -> list[tuple[str, str]]:
    return [("portal_maps_js", static("maps/portal-maps.js"))]


def _raw_json(text: str) -> str:
    """GeoJSON text safe inside <script>: '<' only occurs inside JSON strings, where \\u003c is equivalent."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


class PortalLayer(JSCSSMixin, Layer):
    """A layer built in the browser by `PortalMaps.<factory>(map, {data, ...options})`."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = PortalMaps.{{ this.factory }}({{ this._parent.get_name() }},
                Object.assign({data: {{ this.data_json }}}, {{ this.options_json }}));
        {% endmacro %}
        """
    )
    factory = "featureLayer"

    def __init__(self, *, data: str, name: str, options: dict, show: bool = True, control: bool = True):
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "PortalLayer"
        self.data_json = _raw_json(data)
        self.options_json = json_for_script(options)
        # Our own script is always local; plugin URLs are replaced by local ones in maps.builders.
        self.default_js = _portal_js()
        self.default_css = []


class FacilityLayer(PortalLayer):
    factory = "facilityLayer"

    def __init__(self, *, data: str, name: str, options: dict, cluster: bool = True, **kwargs):
        super().__init__(data=data, name=name, options={**options, "cluster": cluster}, **kwargs)
        if cluster:
            self.default_js = list(MarkerCluster.default_js) + _portal_js()
            self.default_css = list(MarkerCluster.default_css)


class FeatureLayer(PortalLayer):
    """Any GeoJSON layer. Options (all optional):

    key: name under PortalMaps.registry[map id].layers; style: Leaflet path style (points are
    circle markers, `radius` in px); colorBy + colors {value: colour} + fallbackColor: colour
    by a property; title: property shown bold (``name`` picks name_<lang>); popupFields:
    [[property, label, {value: label}?]]; links: [[URL template with __id__, id property or
    None for the feature id, label]] (or urlTemplate/urlProp/urlLabel for one link);
    className: CSS class of the popup; lang: language code for ``title``.
    """

    factory = "featureLayer"


class ChoroplethLayer(PortalLayer):
    factory = "choropleth"
