"""The map pages in a real headless Chromium against a real server, offline.

Each page: no JavaScript errors, facility markers = database, screenshots in
test-artifacts/screenshots/. Filters, the language switch, the share link, the
iframe and the public page's traffic (no secrets) are checked as a visitor sees them.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from facilities.models import Facility, FacilityKind
from maps import selectors as map_selectors

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

COUNT_JS = """() => {
  const map = document.querySelector('.portal-map');
  const entry = PortalMaps.registry[map.id];
  let shown = map.querySelectorAll('.facility-marker').length;
  map.querySelectorAll('.marker-cluster span').forEach(s => { shown += parseInt(s.textContent, 10); });
  return {layers: entry.layers.facilities.getLayers().length, shown: shown,
          attribute: parseInt(map.getAttribute('data-facility-count'), 10)};
}"""


def markers(watch) -> dict:
    watch.page.wait_for_selector(".portal-map[data-facility-count]", state="attached")
    return watch.page.evaluate(COUNT_JS)


def assert_clean(watch) -> None:
    assert watch.errors == [], watch.errors
    foreign = [u for u in watch.requests if urlsplit(u).hostname not in ("127.0.0.1",) and not u.startswith("data:")]
    # Only base-map tiles may be asked of another host (the route aborts them all).
    tile_host = urlsplit(settings.BASEMAP_TILES_URL).hostname
    assert {urlsplit(u).hostname for u in foreign} <= {tile_host}, foreign
    external_assets = watch.page.evaluate(
        """() => [...document.querySelectorAll('script[src], link[rel=stylesheet]')]
              .map(e => e.src || e.href).filter(u => !u.startsWith(location.origin))"""
    )
    assert external_assets == []


def located() -> int:
    return Facility.objects.filter(location__isnull=False).count()


def test_public_map_offline_every_facility_and_no_secrets(browser_page, map_secrets):
    watch = browser_page
    response = watch.goto("/en/maps/public/")
    assert response.status == 200
    counts = markers(watch)
    assert counts == {"layers": located(), "shown": located(), "attribute": located()}
    assert_clean(watch)
    # Tiles were refused (offline): the page says so and still draws the region outlines.
    watch.page.wait_for_selector(".tiles-note", timeout=10_000)
    assert watch.page.locator(".portal-map path.leaflet-interactive, .portal-map svg path").count() >= 20
    watch.screenshot("public_map")
    secrets = map_secrets
    assert secrets  # the check below must have something to look for
    html = watch.page.content()
    bodies = [body.decode("utf-8", "replace") for _url, body in watch.bodies]
    for secret in secrets:
        assert secret not in html, secret
        for text in bodies:
            assert secret not in text, secret


def test_share_link_opens_the_facility(browser_page):
    facility = Facility.objects.filter(location__isnull=False).order_by("pk")[10]
    watch = browser_page
    watch.goto(f"/en/maps/public/?facility={facility.pk}")
    popup = watch.page.wait_for_selector(f".leaflet-popup .facility-popup[data-facility='{facility.pk}']")
    assert facility.name_en in popup.inner_text()
    share = watch.page.locator(".leaflet-popup a.share").get_attribute("href")
    assert share.endswith(f"?facility={facility.pk}")
    assert_clean(watch)
    watch.screenshot("public_map_shared_facility")


def test_embed_works_inside_an_iframe(browser_page, server_url):
    watch = browser_page
    watch.goto("/en/maps/")  # any page of the origin, then an iframe from a blank document
    watch.page.set_content(f'<iframe src="{server_url}/en/maps/public/embed/" width="800" height="500"></iframe>')
    frame = watch.page.frame_locator("iframe")
    frame.locator(".portal-map[data-facility-count]").wait_for(state="attached", timeout=15_000)
    assert frame.locator(".portal-map").get_attribute("data-facility-count") == str(located())
    watch.screenshot("public_map_embedded")


def test_language_switch_keeps_the_page(browser_page):
    watch = browser_page
    watch.goto("/en/maps/public/")
    with watch.page.expect_navigation():
        watch.page.click(".lang-switch button[value=ru]")
    assert urlsplit(watch.page.url).path == "/ru/maps/public/"
    assert watch.page.get_attribute("html", "lang") == "ru"
    assert "Публичная карта" in watch.page.inner_text("h1")
    assert markers(watch)["layers"] == located()
    with watch.page.expect_navigation():
        watch.page.click(".lang-switch button[value=kk]")
    assert urlsplit(watch.page.url).path == "/kk/maps/public/"
    assert watch.page.get_attribute("html", "lang") == "kk"
    assert_clean(watch)
    watch.screenshot("public_map_kk")


def test_national_map_filters_date_and_metric(browser_page, browser_users, sign_in):
    watch = browser_page
    watch.goto("/en/maps/")
    assert "/accounts/login/" in watch.page.url  # sign-in required
    sign_in(watch, browser_users["planner"])
    watch.goto("/en/maps/")
    assert markers(watch) == {"layers": located(), "shown": located(), "attribute": located()}
    assert_clean(watch)
    watch.screenshot("national_map")

    kind = FacilityKind.objects.get(code="art_school")
    watch.page.select_option("#id_kind", kind.code)
    with watch.page.expect_navigation():
        watch.page.click("#map-filters button[type=submit]")
    expected = Facility.objects.filter(kind=kind, location__isnull=False).count()
    assert 0 < expected < located()
    assert markers(watch)["layers"] == expected
    assert watch.page.locator(".facility-marker.kind-health_centre").count() == 0

    # A past date and a status: the markers are those with that status on that date.
    as_of = date(2025, 7, 5)
    ids = list(Facility.objects.filter(location__isnull=False).values_list("pk", flat=True))
    statuses = map_selectors.facility_statuses(as_of=as_of, facility_ids=ids)
    status = max(set(statuses.values()), key=list(statuses.values()).count)
    watch.goto(f"/en/maps/?as_of={as_of.isoformat()}&status={status}")
    assert markers(watch)["layers"] == list(statuses.values()).count(status)
    assert "05.07.2025" in watch.page.inner_text("h1")

    # The choropleth switches metric in place (no reload) and its legend follows.
    watch.page.select_option("#id_metric", "recreation_coverage")
    assert watch.page.get_attribute(".portal-map", "data-metric") == "recreation_coverage"
    assert watch.page.is_visible("[data-legend-metric=recreation_coverage]")
    assert not watch.page.is_visible("[data-legend-metric=progress]")
    assert_clean(watch)
    watch.screenshot("national_map_filtered")


def test_region_and_facility_pages(browser_page, browser_users, sensitive_records, sign_in):
    watch = browser_page
    sign_in(watch, browser_users["akimat"])
    watch.goto("/en/maps/region/710000000/")
    expected = Facility.objects.filter(region__kato="710000000", location__isnull=False).count()
    assert markers(watch) == {"layers": expected, "shown": expected, "attribute": expected}
    assert watch.page.locator(".leaflet-control-layers").count() == 1
    if sensitive_records["cadastral"]:
        # Positive control for the public-map check: the akimat's own map does carry the parcel.
        assert sensitive_records["cadastral"] in watch.page.content()
        assert watch.page.evaluate(
            "() => !!PortalMaps.registry[document.querySelector('.portal-map').id].layers.parcels"
        )
    assert_clean(watch)
    watch.screenshot("region_map")

    # A facility's popup links to its page, which shows its parcel and the stages.
    facility = sensitive_records["facility"]
    watch.page.evaluate(
        "id => { const e = PortalMaps.registry[document.querySelector('.portal-map').id]; e.markers[id].openPopup(); }",
        facility.pk,
    )
    with watch.page.expect_navigation():
        watch.page.click(".leaflet-popup a.details")
    assert urlsplit(watch.page.url).path == f"/en/maps/facility/{facility.pk}/"
    watch.page.wait_for_selector(".portal-map[data-facility-count='1']", state="attached")
    assert watch.page.is_visible("#timeline") and watch.page.is_visible("#documents")
    assert_clean(watch)
    watch.screenshot("facility_page")


def test_analysis_map_slot(browser_page, browser_users, sign_in):
    watch = browser_page
    sign_in(watch, browser_users["planner"])
    watch.goto("/en/maps/analysis/")
    assert markers(watch)["layers"] == located()
    assert_clean(watch)
    watch.screenshot("analysis_map")


def test_public_map_on_a_phone_with_the_keyboard(chromium, server_url, screenshot_dir):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.route("**/*", lambda r: r.continue_() if urlsplit(r.request.url).hostname == "127.0.0.1" else r.abort())
    try:
        page.goto(server_url + "/en/maps/public/", wait_until="networkidle")
        assert errors == []
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
        box = page.locator(".portal-map").bounding_box()
        assert box["width"] >= 300 and box["height"] >= 300
        # Tab through the page: the map's zoom and layer controls and the markers take focus.
        reached = set()
        for _ in range(300):
            if {"zoom", "layers", "marker"} <= reached:
                break
            page.keyboard.press("Tab")
            reached.add(
                page.evaluate(
                    """() => { const e = document.activeElement, c = e.classList;
                     return c.contains('leaflet-control-zoom-in') ? 'zoom'
                     : c.contains('leaflet-control-layers-toggle') ? 'layers'
                     : e.closest('.facility-marker, .marker-cluster') ? 'marker' : e.tagName; }"""
                )
            )
        assert {"zoom", "layers", "marker"} <= reached, reached
        page.screenshot(path=str(screenshot_dir / "public_map_phone.png"), full_page=True)
    finally:
        context.close()


def test_feature_layer_api_for_other_apps(browser_page):
    """PortalMaps.featureLayer (used by the analysis layers): points as circles, colours, popups, links."""
    watch = browser_page
    watch.goto("/en/maps/public/")
    result = watch.page.evaluate(
        """() => {
          const entry = PortalMaps.registry[document.querySelector('.portal-map').id];
          const data = {type: 'FeatureCollection', features: [
            {type: 'Feature', id: 7, geometry: {type: 'Point', coordinates: [71.43, 51.13]},
             properties: {state: 'covered', label: '<b>x</b>', parcel: 3}},
            {type: 'Feature', id: 8,
             geometry: {type: 'Polygon', coordinates: [[[71, 51], [71.1, 51], [71.1, 51.1], [71, 51]]]},
             properties: {state: 'uncovered', label: 'area', parcel: null}}]};
          const layer = PortalMaps.featureLayer(entry.map, {data: data, key: 'test', colorBy: 'state',
            colors: {covered: '#00ff00', uncovered: '#ff0000'}, style: {radius: 9}, title: 'label',
            popupFields: [['state', 'State', {covered: 'Covered'}]],
            links: [['/en/maps/facility/__id__/', 'parcel', 'Page']]});
          const layers = layer.getLayers();
          layers[0].openPopup();
          const popup = document.querySelector('.leaflet-popup-content').innerHTML;
          return {n: layers.length, circle: layers[0] instanceof L.CircleMarker, radius: layers[0].getRadius(),
                  colour: layers[0].options.fillColor, other: layers[1].options.color, popup: popup};
        }"""
    )
    assert result["n"] == 2 and result["circle"] and result["radius"] == 9
    assert (result["colour"], result["other"]) == ("#00ff00", "#ff0000")
    assert "Covered" in result["popup"] and 'href="/en/maps/facility/3/"' in result["popup"]
    assert "<b>x</b>" not in result["popup"] and "&lt;b&gt;x&lt;/b&gt;" in result["popup"]  # text is escaped
    assert watch.errors == []
