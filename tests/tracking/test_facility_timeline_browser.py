"""The facility timeline in a real headless Chromium against a real server, offline: no JavaScript error,
every step drawn, the parcel's small map drawn with its boundary; a screenshot in
test-artifacts/screenshots/facility_timeline.png."""

from __future__ import annotations

from datetime import date

import pytest

from parcels.models import InfrastructureLink, Utility
from tests.conftest import parcel_with_act
from tests.maps.conftest import browser_page, browser_users, chromium, server_url, sign_in  # noqa: F401
from tracking.models import StageRecord, TrackedFacility
from tracking.services import stage_record_add

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

ACT = "ACT-TIMELINE-1"


@pytest.fixture(scope="module")
def committed_story(django_db_setup, django_db_blocker):
    """Approved demo plans and one Astana facility with a parcel (act issued), a connected link and a
    design record, committed so the server process sees them; removed when the module ends."""
    with django_db_blocker.unblock():
        # The session's approved demo plans (tests/conftest.py) already track the facility.
        tracked = (
            TrackedFacility.objects.filter(facility__region__kato="710000000", facility__measure_id=24)
            .select_related("facility")
            .order_by("id")
            .first()
        )
        facility = tracked.facility
        snapshot = TrackedFacility.objects.filter(pk=tracked.pk).values().get()
        parcel = parcel_with_act(facility, cadastral_number="71-555-555-5551", act_number=ACT)
        InfrastructureLink.objects.create(
            parcel=parcel,
            utility=Utility.objects.get(code="water"),
            region=facility.region,
            status="connected",
            actual_connection_date=date(2024, 8, 20),
            balance_act_number="BA-TIMELINE",
            balance_act_date=date(2024, 8, 22),
        )
        stage_record_add(
            tracked=tracked, stage="design", actual_date=date(2024, 7, 1), doc_number="D-1", doc_date=date(2024, 7, 1)
        )
    yield tracked
    with django_db_blocker.unblock():
        # Back to the session's state: other modules share these committed rows.
        parcel.delete()
        StageRecord.objects.filter(tracked=tracked).delete()
        TrackedFacility.objects.filter(pk=tracked.pk).update(**{k: v for k, v in snapshot.items() if k != "id"})


def test_facility_timeline_page_in_a_browser(browser_page, sign_in, committed_story):  # noqa: F811
    watch = browser_page
    sign_in(watch, "map_planner")
    response = watch.goto(f"/en/tracking/facility/{committed_story.pk}/")
    assert response.status == 200
    steps = watch.page.locator(".facility-timeline > li")
    assert [steps.nth(n).get_attribute("data-step") for n in range(steps.count())] == [
        "plan",
        "parcel",
        "link",
        "infrastructure",
        "design",
        "expertise",
        "construction_started",
        "construction_progress",
        "accepted",
        "opened",
    ]
    assert watch.page.locator(".facility-timeline > li.done").count() >= 4
    assert ACT in watch.page.locator("li[data-step='parcel']").inner_text()
    # The parcel's boundary is drawn on its small map (offline: outlines and vectors only).
    watch.page.wait_for_selector(".parcel-map .portal-map path.leaflet-interactive", state="attached")
    watch.screenshot("facility_timeline")
    assert watch.errors == [], watch.errors
