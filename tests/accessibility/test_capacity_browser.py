"""The run page's capacity headline and district map in a real headless Chromium against a real server: no
JavaScript error, the three numbers shown, the districts drawn and their tooltip naming the three numbers; a
screenshot in test-artifacts/screenshots/capacity_run.png."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accessibility.models import AnalysisRun, ZoneResult
from layers.models import District, Region
from tests.maps.conftest import browser_page, browser_users, chromium, server_url, sign_in  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture(scope="module")
def committed_capacity_run(django_db_setup, django_db_blocker):
    """A done coverage run of Astana with one district's capacity figures, committed so the server process sees
    it; removed when the module ends."""
    with django_db_blocker.unblock():
        astana = Region.objects.get(kato="710000000")
        district = District.objects.filter(region=astana, geom__isnull=False).order_by("kato").first()
        now = timezone.now()
        run = AnalysisRun.objects.create(
            kind="coverage",
            status="done",
            progress=1.0,
            parameters={"region_ids": [astana.id]},
            summary={
                "children_total": 1000.0,
                "children_served": 300.0,
                "children_over_capacity": 500.0,
                "children_not_covered": 200.0,
                "covered_within_reach_pct": 80.0,
                "served_pct": 30.0,
            },
            started_at=now,
            finished_at=now,
        )
        for zone in ({"region": astana, "district": district}, {"region": astana}, {}):
            ZoneResult.objects.create(run=run, children=1000.0, covered=800.0, served=300.0, **zone)
    yield run, district
    with django_db_blocker.unblock():
        run.delete()


def test_capacity_run_page_in_a_browser(browser_page, sign_in, committed_capacity_run):  # noqa: F811
    run, district = committed_capacity_run
    watch = browser_page
    sign_in(watch, "map_planner")
    response = watch.goto(f"/en/accessibility/runs/{run.pk}/")
    assert response.status == 200
    headline = watch.page.locator("#capacity-headline")
    assert "Served within capacity" in headline.locator("tr.served").inner_text()
    assert "300" in headline.locator("tr.served").inner_text()
    assert "30.0 %" in headline.locator("tr.served").inner_text()
    assert "500" in headline.locator("tr.over-capacity").inner_text()
    assert "80.0 %" in headline.locator("tr.within-reach").inner_text()
    # The districts are drawn; the tooltip of the one with a row names the three numbers.
    watch.page.locator(".leaflet-overlay-pane path.leaflet-interactive").first.wait_for(state="attached")
    shapes = watch.page.locator(".leaflet-overlay-pane path.leaflet-interactive")
    assert shapes.count() >= 1
    tooltips = []
    for n in range(shapes.count()):
        shapes.nth(n).dispatch_event("mouseover")
        tip = watch.page.locator(".leaflet-tooltip")
        if tip.count() and district.name_en in tip.last.inner_text():
            tooltips.append(tip.last.inner_text())
            break
        shapes.nth(n).dispatch_event("mouseout")
    assert tooltips, "no tooltip of the district with a row"
    for label in ("Served within capacity", "Within reach but over capacity", "Not covered"):
        assert label in tooltips[0], tooltips[0]
    watch.screenshot("capacity_run")
    assert watch.errors == [], watch.errors
