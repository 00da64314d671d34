"""An akimat user draws a parcel on the map form in headless Chromium and saves it (real server process).

The server (gunicorn on 127.0.0.1:8131–8139) reads the committed test database, so the user is
committed here and the parcel is removed again at the end. Browser steps run with no ORM calls
in between (Playwright's event loop would trip Django's async guard).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.live_server import gunicorn_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "parcel-browser-pw-1!"

# django_db: so pytest-django sets up the test database even when this module runs alone.
pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture(scope="module")
def committed(django_db_setup, django_db_blocker):
    """A committed akimat user of Astana and an Astana facility without a parcel; cleaned up afterwards."""
    from accounts.models import Membership
    from accounts.services import user_with_role_ensure
    from facilities.models import Facility
    from parcels.models import Parcel

    with django_db_blocker.unblock():
        user_with_role_ensure(
            username="parcel_browser", role=Membership.Role.AKIMAT, region_kato="710000000", password=PASSWORD
        )
        facility = (
            Facility.objects.filter(region__kato="710000000", location__isnull=False, parcels__isnull=True)
            .order_by("id")[2:3]
            .get()
        )
    yield facility
    with django_db_blocker.unblock():
        for parcel in Parcel.objects.filter(facility=facility):
            Parcel.pgh_event_model.objects.filter(pgh_obj_id=parcel.pk).delete()
            parcel.delete()


@pytest.fixture(scope="module")
def server(committed, django_db_blocker):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is needed for browser tests")
    with gunicorn_server(
        name="parcels", ports=range(8131, 8140), ready_path="/en/accounts/login/", django_db_blocker=django_db_blocker
    ) as base:
        yield base


def test_akimat_draws_and_saves_a_parcel(server, committed, django_db_blocker):
    from playwright.sync_api import sync_playwright

    facility = committed
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        # Offline: anything not served by our server is aborted (no CDN is needed for the form).
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) else r.abort())
        page.goto(server + "/en/accounts/login/")
        page.fill("input[name=username]", "parcel_browser")
        page.fill("input[name=password]", PASSWORD)
        page.press("input[name=password]", "Enter")
        page.wait_for_load_state()
        errors: list[str] = []
        page.on(
            "console", lambda m: errors.append(m.text) if m.type == "error" and "ERR_FAILED" not in m.text else None
        )
        response = page.goto(server + f"/en/parcels/new/?facility={facility.pk}")
        csp = response.headers.get("content-security-policy", "")
        page.click(".leaflet-draw-draw-rectangle")
        box = page.query_selector(".leaflet-container").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(cx - 50, cy - 50)
        page.mouse.down()
        page.mouse.move(cx + 50, cy + 50, steps=8)
        page.mouse.up()
        for _ in range(50):  # the page's CSP forbids eval, so poll from here instead of wait_for_function
            drawn = page.input_value("#id_geom")
            if "Polygon" in drawn:
                break
            page.wait_for_timeout(100)
        page.fill("#id_declared_area_ha", "1")
        page.select_option("#id_status", "allocated")
        page.click("button[name=save]")
        page.wait_for_load_state()
        final_url = page.url
        body = page.inner_text("main")
        browser.close()
    assert "script-src 'self' 'nonce-" in csp
    assert not [e for e in errors if "Content Security Policy" in e], errors
    assert '"Polygon"' in drawn
    assert "/en/parcels/" in final_url and final_url.rstrip("/").split("/")[-1].isdigit(), body[:2000]
    assert "The parcel was saved." in body

    from parcels.models import Parcel

    with django_db_blocker.unblock():
        parcel = Parcel.objects.get(facility=facility)
        assert parcel.region_id == facility.region_id and parcel.status == "allocated"
        assert parcel.computed_area_ha > 0 and parcel.area_srid == 32642
