"""folium maps for the portal's pages, with Leaflet served by the application.

Every page map starts from `base_map()`:
- the base-map tiles are `settings.BASEMAP_TILES_URL` / `BASEMAP_ATTRIBUTION` (an empty URL
  means no tile layer at all, for offline deployments); it stays the first base layer;
- then the administrator's active base layers (layers.BaseLayer: XYZ, WMTS, WMS, with their
  attribution): those offered on every map, plus the editors-only ones on editor maps
  (`editor_layers=True`); the page's layer switcher lists them (one is added when the page has
  none) and its Content-Security-Policy admits exactly their hosts (gis_portal.csp.allow_images);
- when a tile layer cannot load, the map says so for that layer and keeps working: region
  outlines (EPSG:4326, simplified in PostGIS) are drawn as a vector layer under everything else;
- with `settings.MAP_ASSETS_LOCAL` (default True), Leaflet and every plugin's JS/CSS are
  loaded from our static files (`static/vendor/...`, installed from npm by scripts/_setup.sh
  from maps/assets/package.json), never from a CDN. An element whose assets we do not ship
  raises `MapAssetError` naming the asset, so nothing silently falls back to a CDN.

Pages embed a map with `map_parts(m)` (header links/styles, the map's <div>, its script).

To use another Leaflet plugin: add it (pinned) to maps/assets/package.json, run
`npm install` there, add its dist folder to STATICFILES_DIRS and its asset names to ASSETS.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import folium
from branca.element import CssLink, Figure, JavascriptLink, MacroElement
from django.conf import settings
from django.templatetags.static import static
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from folium.template import Template

from gis_portal.csp import allow_images
from gis_portal.geo.geojson import feature_collection
from layers.base_layer_selectors import BaseLayerSpec, base_layers_offered
from layers.models import BaseLayer, Region

# Centre and zoom that show the whole of Kazakhstan (EPSG:4326, lat/lon).
KAZAKHSTAN_CENTRE = (48.0, 67.5)
KAZAKHSTAN_ZOOM = 5
KAZAKHSTAN_BOUNDS = [[40.5, 46.4], [55.5, 87.4]]

# folium asset name -> path under our static files (None: not needed, dropped).
ASSETS: dict[str, str | None] = {
    "leaflet": "vendor/leaflet/leaflet.js",
    "leaflet_css": "vendor/leaflet/leaflet.css",
    "markerclusterjs": "vendor/leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": "vendor/leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "vendor/leaflet.markercluster/MarkerCluster.Default.css",
    "leaflet_draw_js": "vendor/leaflet-draw/leaflet.draw.js",
    "leaflet_draw_css": "vendor/leaflet-draw/leaflet.draw.css",
    "leaflet_vectorgrid": "vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js",
    "portal_maps_js": "maps/portal-maps.js",
    # folium.Map lists these for folium.Icon (awesome-markers) and notebook styling; the portal
    # draws CircleMarkers/DivIcons instead, so they are not loaded (see _check_no_awesome_icons).
    "jquery": None,
    "bootstrap": None,
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_markers": None,
    "awesome_markers_font_css": None,
    "awesome_markers_css": None,
    "awesome_rotate_css": None,
}


class MapAssetError(RuntimeError):
    """A map element needs a JS/CSS asset that the application does not serve."""


def _localised(assets: list[tuple[str, str]]) -> list[tuple[str, str]]:
    result = []
    for name, url in assets:
        if name not in ASSETS:
            raise MapAssetError(
                f"map asset {name!r} ({url}) is not served locally: add it to maps/assets/package.json, "
                "STATICFILES_DIRS and layers.webmap.builders.ASSETS, or set MAP_ASSETS_LOCAL=False"
            )
        if ASSETS[name] is not None:
            result.append((name, static(ASSETS[name])))
    return result


def _walk(element):
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


class PortalMap(folium.Map):
    """folium.Map that fits inside a page (no full-page styles, zoomable viewport) and loads local assets."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>
                #{{ this.get_name() }} {
                    position: {{this.position}};
                    width: {{this.width[0]}}{{this.width[1]}};
                    height: {{this.height[0]}}{{this.height[1]}};
                }
                .leaflet-container { font-size: {{this.font_size}}; }
            </style>
            <script>
                L_NO_TOUCH = {{ this.global_switches.no_touch |tojson}};
                L_DISABLE_3D = {{ this.global_switches.disable_3d|tojson }};
            </script>
        {% endmacro %}

        {% macro html(this, kwargs) %}
            <div class="folium-map portal-map" id={{ this.get_name()|tojson }}
                 role="region" aria-label={{ this.aria_label|tojson }}></div>
        {% endmacro %}

        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.map(
                {{ this.get_name()|tojson }},
                {
                    center: {{ this.location|tojson }},
                    crs: L.CRS.{{ this.crs }},
                    ...{{this.options|tojavascript}}
                }
            );
            {%- if this.control_scale %}
            L.control.scale().addTo({{ this.get_name() }});
            {%- endif %}
            {%- if this.zoom_control_position %}
            L.control.zoom( { position: {{ this.zoom_control|tojson }} } ).addTo({{ this.get_name() }});
            {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(self, *args, aria_label: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.aria_label = aria_label or _("Map")

    def render(self, **kwargs):
        children = list(self._children.values())
        tiles = [c for c in children if isinstance(c, folium.TileLayer | folium.WmsTileLayer) and c.control]
        if len(tiles) > 1 and not any(isinstance(c, folium.LayerControl) for c in children):
            # Configured base layers must be switchable on pages that do not add a switcher themselves.
            folium.LayerControl(collapsed=True).add_to(self)
        if settings.MAP_ASSETS_LOCAL:
            for element in _walk(self):
                if isinstance(element, folium.Icon):
                    raise MapAssetError(
                        "folium.Icon needs Font Awesome and awesome-markers, which are not shipped; "
                        "use CircleMarker or DivIcon"
                    )
                if hasattr(element, "default_js"):
                    # Instance attributes: folium's add_js_link would otherwise mutate the class lists.
                    element.default_js = _localised(element.default_js)
                    element.default_css = _localised(element.default_css)
        super().render(**kwargs)


class TileFallback(MacroElement):
    """When a tile layer's tiles fail to load, say so while that layer is shown; the vector layers stay.

    `entries` are (tile layer, message, is_base): a failing base layer also marks the map
    (class tiles-unavailable: the outlines then stand on a plain background).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }}, failingBase = 0;
            [
            {%- for layer, message, base in this.entries %}
                [{{ layer.get_name() }}, {{ message|tojson }}, {{ base|tojson }}],
            {%- endfor %}
            ].forEach(function (entry) {
                var layer = entry[0], failures = 0, note = null;
                function show() {
                    if (note || failures < 2 || !map.hasLayer(layer)) { return; }
                    note = L.control({position: "bottomleft"});
                    note.onAdd = function () {
                        var div = L.DomUtil.create("div", "map-note tiles-note");
                        div.setAttribute("role", "status");
                        div.textContent = entry[1];
                        return div;
                    };
                    note.addTo(map);
                    if (entry[2]) {
                        failingBase += 1;
                        map.getContainer().classList.add("tiles-unavailable");
                    }
                }
                function hide() {
                    if (!note) { return; }
                    note.remove();
                    note = null;
                    if (entry[2]) {
                        failingBase -= 1;
                        map.getContainer().classList.toggle("tiles-unavailable", failingBase > 0);
                    }
                }
                layer.on("tileerror", function () { failures += 1; show(); });
                layer.on("add", show);
                layer.on("remove", hide);
            });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, entries: list[tuple[folium.map.Layer, str, bool]]):
        super().__init__()
        self._name = "TileFallback"
        self.entries = entries


def _configured_layer(spec: BaseLayerSpec, *, show: bool) -> folium.map.Layer:
    """A Leaflet tile layer for one configured base layer (tiles requested in EPSG:3857)."""
    if spec.kind == BaseLayer.Kind.WMS:
        return folium.WmsTileLayer(
            url=spec.url,
            layers=spec.wms_layers,
            fmt=spec.wms_format,
            transparent=spec.wms_transparent,
            version=spec.wms_version,
            attr=spec.attribution,
            name=spec.name,
            overlay=spec.overlay,
            show=show,
            min_zoom=spec.min_zoom,
            max_zoom=spec.max_zoom,
        )
    return folium.TileLayer(
        tiles=spec.url,
        attr=spec.attribution,
        name=spec.name,
        overlay=spec.overlay,
        show=show,
        min_zoom=spec.min_zoom,
        max_zoom=spec.max_zoom,
        control=True,
    )


def _add_tile_layers(m: folium.Map, *, editor_layers: bool) -> None:
    entries: list[tuple[folium.map.Layer, str, bool]] = []
    if settings.BASEMAP_TILES_URL:
        default = folium.TileLayer(
            tiles=settings.BASEMAP_TILES_URL,
            attr=settings.BASEMAP_ATTRIBUTION,
            name=_("Base map"),
            max_zoom=18,
            control=True,
        ).add_to(m)
        entries.append((default, _("The base map cannot be loaded; outlines are shown instead."), True))
    offer = base_layers_offered(editors=editor_layers)
    base_shown = bool(entries)
    for spec in offer.layers:
        # Overlays start hidden; without a default base map the first configured base layer is shown.
        show = not spec.overlay and not base_shown
        base_shown = base_shown or show
        layer = _configured_layer(spec, show=show).add_to(m)
        message = (
            _("The layer “%(name)s” cannot be loaded.")
            if spec.overlay
            else _("The base layer “%(name)s” cannot be loaded; outlines are shown instead.")
        ) % {"name": spec.name}
        entries.append((layer, message, not spec.overlay))
    allow_images(offer.img_sources)
    if entries:
        TileFallback(entries).add_to(m)


def region_outlines_geojson(*, simplify_m: float = 2000, precision: int = 3) -> str:
    """Outlines of the regions that have a boundary, as GeoJSON text (EPSG:4326, simplified in metres)."""
    return feature_collection(
        Region.objects.filter(geom__isnull=False),
        geometry="geom",
        properties=["kato"],
        precision=precision,
        simplify_m=simplify_m,
    )


def _outline_style(_feature) -> dict:
    return {"color": "#56606b", "weight": 1, "fill": False}


def base_map(
    *,
    location=None,
    zoom_start=None,
    bounds=None,
    outlines: bool = True,
    height: str = "70vh",
    aria_label: str = "",
    editor_layers: bool = False,
    **kwargs,
) -> folium.Map:
    """A map of Kazakhstan (or of `bounds` [[south, west], [north, east]] in degrees) ready for layers.

    `outlines` draws the region outlines (simplified to 2 km) so the map is readable
    without tiles. `editor_layers` adds the base layers offered to editors only (parcel
    pages) to those offered on every map. Extra keyword arguments go to folium.Map /
    Leaflet's map options.
    """
    m = PortalMap(
        location=location or KAZAKHSTAN_CENTRE,
        zoom_start=zoom_start or KAZAKHSTAN_ZOOM,
        tiles=None,
        height=height,
        control_scale=True,
        aria_label=aria_label,
        **kwargs,
    )
    _add_tile_layers(m, editor_layers=editor_layers)
    if outlines:
        folium.GeoJson(
            region_outlines_geojson(),
            name=_("Region outlines"),
            style_function=_outline_style,
            control=False,
            interactive=False,
        ).add_to(m)
    if bounds or location is None:
        # Fitting (rather than a fixed zoom) shows the whole country on a phone as on a desktop.
        m.fit_bounds(bounds or KAZAKHSTAN_BOUNDS)
    return m


@dataclass(frozen=True)
class MapParts:
    """A rendered map split for a Django template: header (in <head>), html (where the map goes), script."""

    header: SafeString
    html: SafeString
    script: SafeString


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?=[\s>])")


def map_parts(m: folium.Map, *, nonce: str | None = None) -> MapParts:
    """Render `m` and split it into the pieces a page template places (header, html, script).

    `nonce` is added to every inline <script> (see gis_portal.csp: pages run under a strict CSP).
    """
    figure: Figure = m.get_root()
    figure.render()
    links = []
    others = []
    for key, child in figure.header._children.items():
        if key == "meta_http":  # the page template declares its charset itself
            continue
        (links if isinstance(child, JavascriptLink | CssLink) else others).append(child)
    # Stylesheets and scripts first, then the map's own inline styles.
    header = "\n".join(c.render() for c in links) + "\n".join(c.render() for c in others)
    html = figure.html.render()
    script = "<script>\n" + figure.script.render() + "\n</script>"
    if nonce:
        header, html, script = (_INLINE_SCRIPT.sub(f'<script nonce="{nonce}"', part) for part in (header, html, script))
    return MapParts(
        header=mark_safe(header),  # noqa: S308 - folium output from our own data, values JSON-encoded
        html=mark_safe(html),  # noqa: S308
        script=mark_safe(script),  # noqa: S308
    )


def json_for_script(value) -> str:
    """JSON safe to place inside a <script> element (no '</script>' break-out)."""
    # default=str: lazy translations and dates become their text.
    return json.dumps(value, ensure_ascii=False, default=str).replace("<", "\\u003c").replace(">", "\\u003e")


__all__ = [
    "ASSETS",
    "KAZAKHSTAN_BOUNDS",
    "MapAssetError",
    "MapParts",
    "base_map",
    "json_for_script",
    "map_parts",
    "region_outlines_geojson",
]
