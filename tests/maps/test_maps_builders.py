"""layers.webmap.builders: base map settings, local assets only, tile fallback, page splitting."""

import json
import re

import folium
import pytest
from django.contrib.staticfiles import finders
from folium.plugins import Draw, MarkerCluster

from layers.webmap.builders import ASSETS, MapAssetError, base_map, map_parts
from layers.webmap.elements import FacilityLayer

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def test_every_local_asset_is_installed_and_found_by_staticfiles():
    for name, path in ASSETS.items():
        if path is not None:
            assert finders.find(path), f"{name}: {path} is not in the static files (run scripts/_setup.sh map_assets)"


def test_base_map_uses_the_basemap_settings(db, settings):
    settings.BASEMAP_TILES_URL = "https://tiles.example.kz/{z}/{x}/{y}.png"
    settings.BASEMAP_ATTRIBUTION = "National base map of Kazakhstan"
    parts = map_parts(base_map())
    assert "https://tiles.example.kz/{z}/{x}/{y}.png" in parts.script
    assert "National base map of Kazakhstan" in parts.script
    assert "tileerror" in parts.script  # the fallback notice is wired to the tile layer


def test_an_empty_tiles_url_means_no_tile_layer_but_outlines(db, settings):
    settings.BASEMAP_TILES_URL = ""
    parts = map_parts(base_map())
    assert "L.tileLayer" not in parts.script
    assert parts.script.count('"type": "Feature"') + parts.script.count('"type":"Feature"') >= 20


def test_rendered_map_loads_no_script_or_style_from_another_host(db, settings):
    settings.MAP_ASSETS_LOCAL = True
    m = base_map()
    MarkerCluster().add_to(m)
    Draw().add_to(m)
    FacilityLayer(data='{"type":"FeatureCollection","features":[]}', name="f", options={}).add_to(m)
    parts = map_parts(m)
    html = parts.header + parts.html + parts.script
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    for path in (
        "vendor/leaflet/leaflet.js",
        "vendor/leaflet/leaflet.css",
        "vendor/leaflet.markercluster/leaflet.markercluster.js",
        "vendor/leaflet-draw/leaflet.draw.js",
        "maps/portal-maps.js",
    ):
        assert f'"/static/{path}"' in parts.header
    # folium's notebook extras (jQuery, Bootstrap, Font Awesome) are not loaded at all.
    assert "jquery" not in parts.header.lower() and "bootstrap" not in parts.header.lower()


def test_cdn_assets_when_local_assets_are_switched_off(db, settings):
    settings.MAP_ASSETS_LOCAL = False
    parts = map_parts(base_map(outlines=False))
    assert "cdn.jsdelivr.net/npm/leaflet" in parts.header


def test_an_asset_we_do_not_ship_is_an_error_not_a_cdn_link(db, settings):
    settings.MAP_ASSETS_LOCAL = True

    class Plugin(folium.elements.JSCSSMixin, folium.map.Layer):
        default_js = [("some_plugin", "https://cdn.example.com/plugin.js")]

    m = base_map(outlines=False)
    Plugin().add_to(m)
    with pytest.raises(MapAssetError, match="some_plugin"):
        map_parts(m)


def test_font_awesome_icons_are_refused(db, settings):
    settings.MAP_ASSETS_LOCAL = True
    m = base_map(outlines=False)
    folium.Marker([51.1, 71.4], icon=folium.Icon(icon="home")).add_to(m)
    with pytest.raises(MapAssetError, match="Icon"):
        map_parts(m)


def test_map_fits_the_page_and_keeps_zoom_for_phones(db):
    parts = map_parts(base_map(outlines=False))
    # folium's full-page styles and its user-scalable=no viewport are not emitted.
    assert "user-scalable=no" not in parts.header
    assert "html, body" not in parts.header
    assert 'role="region"' in parts.html


def test_geojson_text_cannot_break_out_of_the_script(db):
    m = base_map(outlines=False)
    name = "</script><script>alert(1)</script>"
    data = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [{"type": "Feature", "id": 1, "geometry": None, "properties": {"name_en": name}}],
        }
    )
    FacilityLayer(data=data, name="f", options={"lang": "en"}).add_to(m)
    script = map_parts(m).script
    assert "</script><script>alert" not in script
    assert "\\u003c/script\\u003e" in script
