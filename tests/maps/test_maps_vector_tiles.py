"""Working maps switch a layer from embedded GeoJSON to the vector tiles above MAP_VECTOR_TILES_THRESHOLD.

Through Django's test client (the browser side is tests/maps/test_maps_vector_tiles_browser.py).
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.gis.geos import MultiPolygon
from django.urls import set_script_prefix

from facilities.models import Facility
from maps import selectors as map_selectors
from tests.maps.test_maps_views import embedded_feature_collections

ASTANA = "710000000"
needs_parcels = pytest.mark.skipif(not apps.is_installed("parcels"), reason="the parcels app is not installed")


def tile_layers(html: str) -> dict[str, tuple[str, dict]]:
    """{factory: (tile URL template, options)} of every tiled layer in the page's script."""
    decoder = json.JSONDecoder()
    found = {}
    for m in re.finditer(r"PortalMaps\.(\w+)\([^,]+,\s*Object\.assign\(\{url: ", html):
        url, end = decoder.raw_decode(html, m.end())
        options = decoder.raw_decode(html, html.index("{", end))[0]
        found[m.group(1)] = (url, options)
    return found


def make_parcels(count: int, *, kato: str = ASTANA) -> list:
    """`count` parcels in region `kato`, near its facilities (one per facility, the rest without one)."""
    from parcels.models import Parcel

    facilities = list(Facility.objects.filter(region__kato=kato, location__isnull=False).order_by("pk"))
    statuses = ["candidate", "allocated", "act_issued"]
    parcels = []
    for i in range(count):
        anchor = facilities[i % len(facilities)]
        centre = anchor.location.clone()
        centre.x += 0.01 * (1 + i // len(facilities))
        parcels.append(
            Parcel.objects.create(
                facility=anchor if i < len(facilities) else None,
                region=anchor.region,
                cadastral_number=f"71-{100 + i:03d}-123-{4560 + i:04d}",
                geom=MultiPolygon(centre.buffer(0.003), srid=4326),
                declared_area_ha=Decimal("5.0"),
                computed_area_ha=Decimal("5.0"),
                area_srid=32642,
                land_category="settlement",
                right_type="temporary_free",
                status=statuses[i % len(statuses)],
                act_number=f"ACT-TILES-{i}" if statuses[i % len(statuses)] == "act_issued" else "",
                act_date="2024-03-01" if statuses[i % len(statuses)] == "act_issued" else None,
            )
        )
    return parcels


def embedded_facility_ids(html: str) -> set[int]:
    """Ids of the facility features embedded in the page (they alone carry a kind)."""
    return {f["id"] for c in embedded_feature_collections(html) for f in c["features"] if "kind" in f["properties"]}


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    """Web Mercator XYZ address of the tile holding lon/lat at zoom z."""
    n = 2**z
    lat_r = math.radians(lat)
    return z, int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(lat_r)) / math.pi) / 2 * n)


def located(**filters) -> set[int]:
    return set(Facility.objects.filter(location__isnull=False, **filters).values_list("pk", flat=True))


def test_tile_url_template_is_reversed_under_any_prefix(db):
    assert map_selectors.tile_url_template("facilities") == "/tiles/facilities/{z}/{x}/{y}.pbf"
    set_script_prefix("/portal/")
    try:
        assert map_selectors.tile_url_template("facilities") == "/portal/tiles/facilities/{z}/{x}/{y}.pbf"
    finally:
        set_script_prefix("/")
    assert map_selectors.tile_url_template("no-such-layer") is None
    assert map_selectors.tile_url_template("regions") is None  # a collection without tiles


def test_national_map_embeds_facilities_up_to_the_threshold_then_uses_tiles(db, client, planner, settings):
    client.force_login(planner)
    everything = located()
    settings.MAP_VECTOR_TILES_THRESHOLD = len(everything)
    html = client.get("/en/maps/").content.decode()
    assert embedded_facility_ids(html) == everything
    assert tile_layers(html) == {} and "/tiles/" not in html and "VectorGrid" not in html

    settings.MAP_VECTOR_TILES_THRESHOLD = len(everything) - 1
    html = client.get("/en/maps/").content.decode()
    # Only the region choropleth and outlines are still embedded; no facility feature is.
    assert embedded_facility_ids(html) == set()
    assert all(f.name_en not in html for f in Facility.objects.all()[:20])
    url, options = tile_layers(html)["facilityTileLayer"]
    assert url == "/tiles/facilities/{z}/{x}/{y}.pbf"
    assert options["layer"] == "facilities"
    assert {pk for ids in options["statusIds"].values() for pk in ids} == everything
    assert "/static/vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js" in html


def test_tiled_facilities_keep_the_filters_and_the_users_scope(db, client, planner, akimat_a, settings):
    settings.MAP_VECTOR_TILES_THRESHOLD = 0
    client.force_login(planner)
    html = client.get("/en/maps/?kind=art_school").content.decode()
    _url, options = tile_layers(html)["facilityTileLayer"]
    art = located(kind_id="art_school")
    assert art and {pk for ids in options["statusIds"].values() for pk in ids} == art
    # The tiles are public; the akimat's national map still draws only its own region's facilities.
    client.force_login(akimat_a)
    html = client.get("/en/maps/").content.decode()
    _url, options = tile_layers(html)["facilityTileLayer"]
    assert {pk for ids in options["statusIds"].values() for pk in ids} == located(region__kato=ASTANA)


@needs_parcels
def test_region_map_embeds_parcels_up_to_the_threshold_then_uses_tiles(db, client, planner, settings):
    # More parcels than the region has facilities: between the two counts only the parcels switch.
    parcels = make_parcels(len(located(region__kato=ASTANA)) + 3)
    client.force_login(planner)
    settings.MAP_VECTOR_TILES_THRESHOLD = len(parcels)
    html = client.get(f"/en/maps/region/{ASTANA}/").content.decode()
    embedded = {f["id"] for c in embedded_feature_collections(html) for f in c["features"]}
    assert {p.pk for p in parcels} <= embedded
    assert all(p.cadastral_number in html for p in parcels)
    assert "tiles/parcels" not in html

    settings.MAP_VECTOR_TILES_THRESHOLD = len(parcels) - 1
    response = client.get(f"/en/maps/region/{ASTANA}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert all(p.cadastral_number not in html for p in parcels)  # not embedded: the tiles carry them
    url, options = tile_layers(html)["vectorTileLayer"]
    assert url == "/tiles/parcels/{z}/{x}/{y}.pbf"
    assert options["layer"] == "parcels" and options["key"] == "parcels"
    assert options["filter"] == {"region": ASTANA}
    assert options["colorBy"] == "status"
    assert [field[0] for field in options["popupFields"]] == [
        "cadastral_number",
        "status",
        "declared_area_ha",
        "act_number",
        "act_date",
    ]
    assert ["/en/maps/facility/__id__/", "facility", "Facility page"] in options["links"]
    # The page's few facilities stay embedded (their own count is under the threshold).
    assert "facilityTileLayer" not in tile_layers(html)
    # The tiles the page asks for answer with those parcels for this user.
    centre = parcels[0].geom.centroid
    tile = client.get("/tiles/parcels/{}/{}/{}.pbf".format(*tile_of(centre.x, centre.y, 13)))
    assert tile.status_code == 200 and tile["Content-Type"] == "application/vnd.mapbox-vector-tile"
    assert parcels[0].cadastral_number.encode() in tile.content


def test_public_map_draws_its_facilities_from_its_geojson_never_tiles(db, client, settings):
    """The public map uses no tiles, whatever the threshold: its cached GeoJSON (maps/README.md)."""
    settings.MAP_VECTOR_TILES_THRESHOLD = 0
    html = client.get("/en/maps/public/").content.decode()
    assert tile_layers(html) == {}
    assert embedded_feature_collections(html) == [None]
    features = client.get("/en/maps/public/facilities.geojson").json()["features"]
    assert {f["id"] for f in features} == located()


def test_without_the_tiles_route_layers_stay_embedded(db, client, planner, settings, monkeypatch):
    monkeypatch.setattr(map_selectors, "tile_url_template", lambda layer: None)
    settings.MAP_VECTOR_TILES_THRESHOLD = 0
    client.force_login(planner)
    html = client.get("/en/maps/").content.decode()
    assert tile_layers(html) == {}
    assert embedded_facility_ids(html) == located()
