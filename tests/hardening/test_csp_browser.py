"""Every app's pages under the project-wide Content-Security-Policy, in headless Chromium.

A gunicorn subprocess serves the test database (the policy is the production one: gis_portal.csp
on every HTML page, gis_portal.csp on the map pages); all requests to other hosts are aborted. Signed in
as an admin, the browser opens one page of each app — home, admin index, an admin change page with
the OpenLayers map widget, tracking dashboard, parcels list, accessibility run list, public map — and
each must carry a CSP header, report no `securitypolicyviolation` event and log no console error.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connections

from facilities.models import Facility

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
PORTS = range(8151, 8160)
PASSWORD = "csp-admin-pw-12345!"  # the admin committed by tests/hardening/conftest.py
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' '
                    + (e.sourceFile || '') + ':' + e.lineNumber));
"""


def test_every_app_page_satisfies_the_content_security_policy(hardening_server):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium)")
    from playwright.sync_api import sync_playwright

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
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in this thread
    problems: dict[str, list[str]] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            blocked: list[str] = []

            def route(r):
                if urlsplit(r.request.url).hostname == "127.0.0.1":
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            context.route("**/*", route)
            context.add_init_script(RECORD_VIOLATIONS)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.on(
                "console",
                lambda msg: (
                    msg.type == "error"
                    # an aborted request to another host (base-map tiles, offline on purpose) is expected
                    and not (msg.text.startswith("Failed to load resource") and msg.location.get("url") in blocked)
                    and errors.append(f"console: {msg.text} {msg.location.get('url')}")
                ),
            )
            page.goto(hardening_server + "/en/admin/login/?next=/en/admin/")
            page.fill("input[name=username]", "csp_admin")
            page.fill("input[name=password]", PASSWORD)
            with page.expect_navigation():
                page.click("input[type=submit]")
            assert "/login/" not in page.url
            for path in pages:
                errors.clear()
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
                found += page.evaluate("window.__csp") + errors
                if found:
                    problems[path] = found
            browser.close()
            connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
    assert problems == {}, problems
