"""The isochrone layer of the analysis map in a real headless Chromium against a real server: no JavaScript error,
the nested polygons drawn largest first with the lighter fill, and their tooltip naming the facility, the minutes
and the area; a screenshot in test-artifacts/screenshots/isochrones_map.png."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.utils import timezone

from accessibility.models import AnalysisRun, Isochrone
from facilities.models import Facility
from layers.models import Region
from tests.maps.conftest import browser_page, browser_users, chromium, server_url, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture(scope="module")
def committed_isochrone_run(django_db_setup, django_db_blocker):
    """A done travel-time coverage run of Astana with two nested isochrones of one facility (squares of 0.02° and
    0.05° around it: what the map draws, not how they are computed), committed so the server process sees them;
    removed when the module ends."""
    with django_db_blocker.unblock():
        astana = Region.objects.get(kato="710000000")
        facility = Facility.objects.filter(region=astana, location__isnull=False).order_by("pk").first()
        now = timezone.now()
        run = AnalysisRun.objects.create(
            kind="coverage",
            status="done",
            progress=1.0,
            parameters={
                "region_ids": [astana.id],
                "travel": {"network": 1, "thresholds_min": [15, 30], "max_snap_m": 5000},
            },
            started_at=now,
            finished_at=now,
        )
        x, y = facility.location.x, facility.location.y
        for minutes, half in ((15, 0.02), (30, 0.05)):
            square = Polygon.from_bbox((x - half, y - half, x + half, y + half))
            Isochrone.objects.create(run=run, facility=facility, minutes=minutes, geom=MultiPolygon(square, srid=4326))
    yield run, facility
    with django_db_blocker.unblock():
        run.delete()


def test_isochrones_on_the_analysis_map_in_a_browser(browser_page, sign_in, committed_isochrone_run):  # noqa: F811
    run, facility = committed_isochrone_run
    watch = browser_page
    sign_in(watch, "map_planner")
    response = watch.goto(f"/en/maps/analysis/?run={run.pk}")
    assert response.status == 200
    watch.page.locator(".leaflet-overlay-pane path.leaflet-interactive").first.wait_for(state="attached")
    shapes = watch.page.locator(".leaflet-overlay-pane path.leaflet-interactive")
    fills = [shapes.nth(n).get_attribute("fill") for n in range(shapes.count())]
    # Drawn largest first (below), the lighter fill; the 15-minute square on top, the darkest.
    assert fills[-2:] == ["#90caf9", "#0d47a1"], fills
    # The tooltip of the top polygon: facility, minutes, area.
    shapes.last.dispatch_event("mouseover")
    tip = watch.page.locator(".leaflet-tooltip").last.inner_text()
    assert facility.name_en in tip and "minutes of travel" in tip and "15" in tip and "area, km²" in tip, tip
    area = Isochrone.objects.get(run=run, minutes=15).area_km2
    assert f"{area:.1f}" in tip, tip
    watch.screenshot("isochrones_map")
    assert watch.errors == [], watch.errors
