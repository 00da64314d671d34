"""folium elements that draw the portal's layers with maps/static/maps/portal-maps.js.

Each element embeds its GeoJSON (text from PostGIS, EPSG:4326) and options as JSON
in the map's script and calls one PortalMaps factory; folium's LayerControl lists
them like any other layer. Layers with too many features to embed are drawn from
the api app's vector tiles instead (VectorTileLayer, Leaflet.VectorGrid).
"""

from __future__ import annotations

from django.templatetags.static import static
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.plugins import MarkerCluster
from folium.template import Template

from layers.webmap.builders import json_for_script


def _portal_js() -> list[tuple[str, str]]:
    return [("portal_maps_js", static("maps/portal-maps.js"))]


def _vectorgrid_js() -> list[tuple[str, str]]:
    # The bundled build carries its protobuf decoders (pbf, vector-tile); served locally (builders.ASSETS).
    return [("leaflet_vectorgrid", static("vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"))]


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
        # Our own script is always local; plugin URLs are replaced by local ones in layers.webmap.builders.
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
    className: CSS class of the popup; lang: language code for ``title``; decimals: {property:
    digits} rounding numbers in the popup; tooltipFromPopup: the hover tooltip shows the popup's
    title and fields (else the title alone).
    """

    factory = "featureLayer"


class ChoroplethLayer(PortalLayer):
    factory = "choropleth"


class VectorTileLayer(JSCSSMixin, Layer):
    """A layer drawn from Mapbox Vector Tiles: `PortalMaps.<factory>(map, {url, ...options})`.

    `url` is a Leaflet URL template (`.../{z}/{x}/{y}.pbf`, same origin: the session cookie
    carries the user's rights). Options of vectorTileLayer (all optional besides `layer`):
    layer: the tiles' layer name; key, colorBy, colors, fallbackColor, style, title,
    popupFields, links, className, lang: as FeatureLayer (a link's id property None means
    the tile feature's id); filter: {property: value} draws only the matching features.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = PortalMaps.{{ this.factory }}({{ this._parent.get_name() }},
                Object.assign({url: {{ this.url_json }}}, {{ this.options_json }}));
        {% endmacro %}
        """
    )
    factory = "vectorTileLayer"

    def __init__(self, *, url: str, name: str, options: dict, show: bool = True, control: bool = True):
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "VectorTileLayer"
        self.url_json = json_for_script(url)
        self.options_json = json_for_script(options)
        self.default_js = _vectorgrid_js() + _portal_js()
        self.default_css = []


class FacilityTileLayer(VectorTileLayer):
    """Facilities from the vector tiles, fill = status, ring = kind; `statusIds` {status: [ids]}
    are the facilities to draw (filters and the user's scope were applied by the page)."""

    factory = "facilityTileLayer"
