"""The cached public map in headless Chromium: the markers come from the GeoJSON endpoint, the page
draws within 2 s and moves less than 1 MB (page, scripts, styles and data; base-map tiles are offline)."""

from __future__ import annotations

import time

import pytest

from facilities.models import Facility
from tests.maps.test_maps_browser import assert_clean, markers

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

TRANSFERRED_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return performance.getEntriesByType('resource').reduce((n, e) => n + e.transferSize, nav.transferSize);
}"""


def test_public_map_draws_its_markers_from_the_geojson_fast_and_light(browser_page):
    watch = browser_page
    located = Facility.objects.filter(location__isnull=False).count()
    watch.goto("/en/maps/public/")
    # Warm every server process (the test server's cache is per process; production's is shared).
    for _ in range(6):
        for path in ("/en/maps/public/", "/en/maps/public/facilities.geojson"):
            assert watch.page.request.get(watch.base + path).ok
    watch.page.context.clear_cookies()
    started = time.monotonic()
    watch.page.goto(watch.base + "/en/maps/public/", wait_until="commit")
    counts = markers(watch)
    elapsed = time.monotonic() - started
    assert counts == {"layers": located, "shown": located, "attribute": located}
    assert elapsed < 2.0, elapsed
    assert any(url.endswith("/en/maps/public/facilities.geojson") for url in watch.requests)
    watch.page.wait_for_load_state("networkidle")
    transferred = watch.page.evaluate(TRANSFERRED_JS)
    assert 0 < transferred < 1_000_000, transferred
    assert_clean(watch)
