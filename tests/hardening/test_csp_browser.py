"""Every app's pages under the project-wide Content-Security-Policy, in headless Chromium.

A gunicorn subprocess serves the test database (the policy is the production one: gis_portal.csp
on every HTML page, gis_portal.csp on the map pages); all requests to other hosts are aborted. Signed in
as an admin, the browser opens one page of each app — home, admin index, an admin change page with
the OpenLayers map widget, tracking dashboard, parcels list, accessibility run list, public map — and
each must carry a CSP header, report no `securitypolicyviolation` event and log no console error.
"""

from __future__ import annotations

import pytest

from facilities.models import Facility
from tests.browser import watched_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PORTS = range(8151, 8160)
PASSWORD = "csp-admin-pw-12345!"  # the admin committed by tests/hardening/conftest.py


def _unexpected(message, blocked: list[str]) -> str | None:
    """Every console error but an aborted request to another host (base-map tiles, offline on purpose)."""
    url = message.location.get("url")
    if message.text.startswith("Failed to load resource") and url in blocked:
        return None
    return f"{message.text} {url}"


def test_every_app_page_satisfies_the_content_security_policy(hardening_server):
    facility = Facility.objects.filter(location__isnull=False).order_by("pk").first()
    assert facility is not None
    pages = [
        "/en/",
        "/en/admin/",
        f"/en/admin/facilities/facility/{facility.pk}/change/",
        "/en/tracking/",
        "/en/parcels/",
        "/en/accessibility/",
        "/en/maps/public/",
    ]
    problems: dict[str, list[str]] = {}
    with watched_page(console_error=_unexpected) as watched:
        page = watched.page
        page.goto(hardening_server + "/en/admin/login/?next=/en/admin/")
        page.fill("input[name=username]", "csp_admin")
        page.fill("input[name=password]", PASSWORD)
        with page.expect_navigation():
            page.click("input[type=submit]")
        assert "/login/" not in page.url
        for path in pages:
            watched.clear()
            response = page.goto(hardening_server + path, wait_until="networkidle")
            found = []
            if response.status != 200:
                found.append(f"HTTP {response.status}")
            header = response.headers.get("content-security-policy", "")
            if "script-src 'self' 'nonce-" not in header:
                found.append(f"no nonce-based CSP header: {header!r}")
            if path.endswith("/change/"):
                # the OpenLayers widget really ran (its inline script carries the nonce)
                if page.locator(".dj_map .ol-viewport").count() == 0:
                    found.append("the OpenLayers map widget did not start")
            found += watched.problems()
            if found:
                problems[path] = found
    assert problems == {}, problems
