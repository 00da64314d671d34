"""A planner places, drags and types a facility's location on the editor's map in headless Chromium.

The server (gunicorn on 127.0.0.1:8251–8259) reads the committed test database, so the user is
committed here and the facility is put back at the end. Browser steps run with no ORM calls in
between (Playwright's event loop would trip Django's async guard).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.live_server import gunicorn_server

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "facility-browser-pw-1!"

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture(scope="module")
def committed(django_db_setup, django_db_blocker):
    """A committed planner and an Astana facility; its data and history are put back afterwards."""
    from accounts.models import Membership
    from accounts.services import user_with_role_ensure
    from facilities.models import Facility
    from gis_portal.history import history_head

    with django_db_blocker.unblock():
        user_with_role_ensure(username="facility_browser", role=Membership.Role.PLANNER, password=PASSWORD)
        facility = Facility.objects.filter(region__kato="710000000", location__isnull=False).order_by("id")[3:4].get()
        start = history_head(facility.events.all())
        target = facility.location.transform(32642, clone=True)  # typed later: 150 m east of the facility
        facility.typed = (target.x + 150.0, target.y)
    yield facility
    with django_db_blocker.unblock():
        Facility.objects.filter(pk=facility.pk).update(location=facility.location, district=facility.district_id)
        facility.events.filter(pgh_id__gt=start).delete()


@pytest.fixture(scope="module")
def server(committed, django_db_blocker):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is needed for browser tests")
    with gunicorn_server(
        name="facilities",
        ports=range(8251, 8260),
        ready_path="/en/accounts/login/",
        django_db_blocker=django_db_blocker,
    ) as base:
        yield base


def _values(page) -> tuple[str, str, str]:
    return page.input_value("#id_crs"), page.input_value("#id_x"), page.input_value("#id_y")


def test_planner_places_drags_and_types_a_location(server, committed, django_db_blocker):
    from playwright.sync_api import sync_playwright

    facility = committed
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(server) else r.abort())
        page.goto(server + "/en/accounts/login/")
        page.fill("input[name=username]", "facility_browser")
        page.fill("input[name=password]", PASSWORD)
        page.press("input[name=password]", "Enter")
        page.wait_for_load_state()
        errors: list[str] = []
        page.on(
            "console", lambda m: errors.append(m.text) if m.type == "error" and "ERR_FAILED" not in m.text else None
        )
        response = page.goto(server + f"/en/maps/facility/{facility.pk}/edit/")
        csp = response.headers.get("content-security-policy", "")
        initial = _values(page)
        box = page.query_selector(".leaflet-container").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        # Click: the marker jumps there and the fields take the point in WGS 84.
        page.mouse.click(cx + 60, cy + 40)
        page.wait_for_timeout(200)
        clicked = _values(page)
        # Drag the marker 80 px to the left.
        icon = page.query_selector(".leaflet-marker-icon").bounding_box()
        mx, my = icon["x"] + icon["width"] / 2, icon["y"] + icon["height"] - 4
        page.mouse.move(mx, my)
        page.mouse.down()
        page.mouse.move(mx - 80, my, steps=10)
        page.mouse.up()
        page.wait_for_timeout(200)
        dragged = _values(page)
        # Type the point in WGS 84 / UTM zone 42N, with a decimal comma, and save.
        page.select_option("#id_crs", "32642")
        page.fill("#id_x", f"{facility.typed[0]:.2f}".replace(".", ","))
        page.fill("#id_y", f"{facility.typed[1]:.2f}")
        page.click("button[name=save]")
        page.wait_for_load_state()
        final_url = page.url
        body = page.inner_text("main")
        browser.close()
    assert "script-src 'self' 'nonce-" in csp
    assert not [e for e in errors if "Content Security Policy" in e], errors
    assert initial[0] == "4326" and abs(float(initial[1]) - facility.location.x) < 1e-6
    assert clicked[0] == "4326" and clicked[1:] != initial[1:]
    assert float(clicked[1]) > facility.location.x and float(clicked[2]) < facility.location.y  # right of and below
    assert float(dragged[1]) < float(clicked[1]) and abs(float(dragged[2]) - float(clicked[2])) < 1e-3
    assert final_url.rstrip("/").endswith(f"/en/maps/facility/{facility.pk}"), body[:2000]
    assert "The facility was saved." in body

    from facilities.models import Facility

    with django_db_blocker.unblock():
        saved = Facility.objects.get(pk=facility.pk).location.transform(32642, clone=True)
    assert abs(saved.x - facility.typed[0]) < 0.01 and abs(saved.y - facility.typed[1]) < 0.01
