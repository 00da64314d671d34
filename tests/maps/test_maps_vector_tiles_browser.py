"""The planners' maps drawing parcels and facilities from the vector tiles, in headless Chromium.

The server runs with MAP_VECTOR_TILES_THRESHOLD=0, so every working-map layer that can be tiled
is: the page asks /tiles/<layer>/{z}/{x}/{y}.pbf of our own server (offline, under the nonce
CSP), Leaflet.VectorGrid draws the features as SVG in its own pane, and a click opens a popup.
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.apps import apps

from facilities.models import Facility
from maps.pages import PARCEL_STATUS_COLORS
from tests.live_server import gunicorn_server
from tests.maps.conftest import PORTS, chromium_missing
from tests.maps.test_maps_browser import assert_clean

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

ASTANA = "710000000"
AKMOLA = "110000000"
PANE = ".leaflet-portalVectorTiles-pane"
CSP_WATCH = """
performance.setResourceTimingBufferSize(5000);
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
"""
# Feature ids VectorGrid drew in the loaded tiles of a layer (features hidden by the style are not kept).
DRAWN_JS = """key => {
  const grid = PortalMaps.registry[document.querySelector('.portal-map').id].layers[key];
  const ids = new Set();
  Object.values(grid._vectorTiles).forEach(t => Object.keys(t._features).forEach(id => ids.add(Number(id))));
  return [...ids];
}"""
# Screen position of lon/lat after centring the map there at `zoom` (for clicking a feature).
CENTRE_JS = """([lat, lon, zoom]) => {
  const el = document.querySelector('.portal-map'), map = PortalMaps.registry[el.id].map;
  map.setView([lat, lon], zoom, {animate: false});
  const p = map.latLngToContainerPoint([lat, lon]), box = el.getBoundingClientRect();
  return {x: box.left + p.x, y: box.top + p.y};
}"""


@pytest.fixture(scope="module")
def server_url(django_db_setup, django_db_blocker, browser_users):
    """This module's own server: every layer above 0 features comes from the tiles."""
    if chromium_missing():
        pytest.skip("/usr/bin/chromium is not installed (Debian package chromium): browser tests need it")
    with gunicorn_server(
        name="maps-tiles",
        ports=PORTS,
        ready_path="/en/maps/public/embed/",
        django_db_blocker=django_db_blocker,
        extra_env={"MAP_VECTOR_TILES_THRESHOLD": "0"},
    ) as base:
        yield base


@pytest.fixture(scope="module")
def tile_parcels(django_db_setup, django_db_blocker):
    """Committed parcels near Astana's facilities (the server must see them), removed at module end.

    One more is recorded in Akmola region but lies inside Astana's view: the region map's filter
    must leave it out. Astana's last facility is not used (other modules give it a parcel).
    """
    if not apps.is_installed("parcels"):
        pytest.skip("the parcels app is not installed")
    from django.contrib.gis.geos import MultiPolygon

    from layers.models import Region
    from parcels.models import Parcel

    statuses = ["candidate", "allocated", "act_issued"]
    with django_db_blocker.unblock():
        facilities = list(Facility.objects.filter(region__kato=ASTANA, location__isnull=False).order_by("pk"))[:-1]
        created = []
        for i, facility in enumerate(facilities):
            centre = facility.location.clone()
            centre.x += 0.012  # beside the facility, so a click at the parcel's centre hits the parcel
            status = statuses[i % len(statuses)]
            created.append(
                Parcel.objects.create(
                    facility=facility,
                    region=facility.region,
                    cadastral_number=f"71-{200 + i:03d}-321-{7000 + i:04d}",
                    geom=MultiPolygon(centre.buffer(0.004), srid=4326),
                    declared_area_ha=Decimal("12.5"),
                    computed_area_ha=Decimal("12.5"),
                    area_srid=32642,
                    land_category="settlement",
                    right_type="temporary_free",
                    status=status,
                    act_number=f"ACT-TILES-{i}" if status == "act_issued" else "",
                    act_date="2024-03-01" if status == "act_issued" else None,
                )
            )
        centre = facilities[0].location.clone()
        centre.y += 0.02
        other = Parcel.objects.create(
            region=Region.objects.get(kato=AKMOLA),
            cadastral_number="11-999-321-7999",
            geom=MultiPolygon(centre.buffer(0.004), srid=4326),
            declared_area_ha=Decimal("12.5"),
            computed_area_ha=Decimal("12.5"),
            area_srid=32642,
            land_category="settlement",
            right_type="temporary_free",
        )
    yield {"astana": created, "other": other}
    with django_db_blocker.unblock():
        Parcel.objects.filter(pk__in=[p.pk for p in [*created, other]]).delete()


class TileWatch:
    """Status and decoded body size of every /tiles/ response of a page.

    Sizes come from the browser's Resource Timing entries: Playwright's response.body() reads
    empty for these fetch() responses on a routed page, the browser's own figures do not.
    """

    def __init__(self, page):
        self.page = page
        self.statuses: dict[str, int] = {}
        page.on("response", self._response)

    def _response(self, response):
        path = urlsplit(response.url).path
        if path.startswith("/tiles/"):
            self.statuses[path] = response.status

    def of(self, layer: str) -> list[tuple[str, int, int]]:
        """[(path, status, decoded body bytes)] of the layer's tiles loaded so far."""
        sizes = self.page.evaluate(
            """() => performance.getEntriesByType('resource')
                 .filter(e => new URL(e.name).pathname.startsWith('/tiles/'))
                 .map(e => [new URL(e.name).pathname, e.decodedBodySize])"""
        )
        prefix = f"/tiles/{layer}/"
        return [(path, self.statuses.get(path, 0), size) for path, size in sizes if path.startswith(prefix)]


def assert_no_csp_violation(watch) -> None:
    assert watch.page.evaluate("() => window.__cspViolations") == []


def isolated_facility() -> Facility:
    """A located facility with no other within 0.05° (3–5 km; so a click on it hits it alone)."""
    for facility in Facility.objects.filter(location__isnull=False).order_by("pk"):
        near = Facility.objects.filter(location__dwithin=(facility.location, 0.05)).exclude(pk=facility.pk)
        if not near.exists():
            return facility
    raise AssertionError("every facility has a neighbour within 0.05°")


def test_region_map_draws_parcels_from_vector_tiles(browser_page, browser_users, sign_in, tile_parcels):
    watch = browser_page
    watch.page.add_init_script(CSP_WATCH)
    tiles = TileWatch(watch.page)
    sign_in(watch, browser_users["planner"])
    response = watch.goto(f"/en/maps/region/{ASTANA}/")
    assert response.status == 200
    assert "content-security-policy" in response.headers  # (Playwright lower-cases names)
    watch.page.wait_for_selector(".portal-map[data-tiles-loaded-parcels]", state="attached", timeout=30_000)

    requested = tiles.of("parcels")
    assert requested, tiles.statuses
    assert all(status == 200 for _path, status, _size in requested), requested
    assert any(size > 0 for _path, _status, size in requested), requested
    # Every Astana parcel is drawn, the one recorded in another region is filtered out.
    drawn = set(watch.page.evaluate(DRAWN_JS, "parcels"))
    assert drawn == {p.pk for p in tile_parcels["astana"]}
    assert tile_parcels["other"].pk not in drawn
    # Drawn as SVG paths in the tiles' pane, coloured by status like the embedded layer.
    fills = watch.page.eval_on_selector_all(
        f"{PANE} path.leaflet-interactive", "paths => paths.map(p => p.getAttribute('fill'))"
    )
    assert len(fills) >= len(drawn)
    assert {PARCEL_STATUS_COLORS[s] for s in ("candidate", "allocated", "act_issued")} <= set(fills)
    # The parcels are not in the page itself: they came from the tiles.
    assert tile_parcels["astana"][0].cadastral_number not in watch.page.content()
    watch.screenshot("region_map_vector_tiles")

    # A click on a parcel opens its popup with its properties and links.
    parcel = next(p for p in tile_parcels["astana"] if p.status == "act_issued")
    centre = parcel.geom.centroid
    watch.page.evaluate("() => document.querySelector('.portal-map').removeAttribute('data-tiles-loaded-parcels')")
    point = watch.page.evaluate(CENTRE_JS, [centre.y, centre.x, 15])
    watch.page.wait_for_selector(".portal-map[data-tiles-loaded-parcels]", state="attached", timeout=30_000)
    watch.page.mouse.click(point["x"], point["y"])
    popup = watch.page.wait_for_selector(".leaflet-popup .parcel-popup", timeout=10_000)
    text = popup.inner_text()
    assert parcel.cadastral_number in text and parcel.act_number in text and "act issued" in text.lower()
    hrefs = popup.eval_on_selector_all("a.details", "links => links.map(a => a.getAttribute('href'))")
    assert f"/en/maps/facility/{parcel.facility_id}/" in hrefs
    assert any(href.rstrip("/").endswith(f"/{parcel.pk}") for href in hrefs), hrefs

    assert all(status == 200 for status in tiles.statuses.values()), tiles.statuses
    assert_no_csp_violation(watch)
    assert_clean(watch)  # no console errors, nothing from another host but the (aborted) base map
    watch.screenshot("region_map_vector_tiles_popup")


def test_national_map_draws_facilities_from_vector_tiles(browser_page, browser_users, sign_in):
    watch = browser_page
    watch.page.add_init_script(CSP_WATCH)
    tiles = TileWatch(watch.page)
    sign_in(watch, browser_users["planner"])
    watch.goto("/en/maps/")
    watch.page.wait_for_selector(".portal-map[data-tiles-loaded-facilities]", state="attached", timeout=30_000)

    located = set(Facility.objects.filter(location__isnull=False).values_list("pk", flat=True))
    requested = tiles.of("facilities")
    assert requested and all(status == 200 for _path, status, _size in requested), requested
    assert any(size > 0 for _path, _status, size in requested), requested
    assert int(watch.page.get_attribute(".portal-map", "data-facility-count")) == len(located)
    assert set(watch.page.evaluate(DRAWN_JS, "facilities")) == located
    assert watch.page.locator(f"{PANE} path.leaflet-interactive").count() >= len(located)
    assert watch.page.locator(".facility-marker").count() == 0  # no embedded markers
    assert_no_csp_violation(watch)
    assert_clean(watch)
    watch.screenshot("national_map_vector_tiles")

    # Clicking a facility opens the same popup as its marker would.
    facility = isolated_facility()
    watch.page.evaluate("() => document.querySelector('.portal-map').removeAttribute('data-tiles-loaded-facilities')")
    point = watch.page.evaluate(CENTRE_JS, [facility.location.y, facility.location.x, 12])
    watch.page.wait_for_selector(".portal-map[data-tiles-loaded-facilities]", state="attached", timeout=30_000)
    watch.page.mouse.click(point["x"], point["y"])
    popup = watch.page.wait_for_selector(f".leaflet-popup .facility-popup[data-facility='{facility.pk}']")
    assert facility.name_en in popup.inner_text()
    assert popup.query_selector("a.details").get_attribute("href") == f"/en/maps/facility/{facility.pk}/"

    # The page's filters still apply to the tiled layer.
    watch.goto("/en/maps/?kind=art_school")
    watch.page.wait_for_selector(".portal-map[data-tiles-loaded-facilities]", state="attached", timeout=30_000)
    art = set(Facility.objects.filter(location__isnull=False, kind_id="art_school").values_list("pk", flat=True))
    assert art and set(watch.page.evaluate(DRAWN_JS, "facilities")) == art
    assert_no_csp_violation(watch)
    assert_clean(watch)
