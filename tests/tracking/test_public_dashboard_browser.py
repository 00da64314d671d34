"""The public progress dashboard in headless Chromium, offline, on phones (360 and 430 px wide) and on a
desktop, in kk, ru and en: no JavaScript error, no request off the server, no sideways scrolling, the
charts drawn inside the screen; screenshots in test-artifacts/screenshots/public_progress_*.png."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from layers.models import Region
from tests.maps.conftest import browser_users, chromium, screenshot_dir, server_url  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.mark.parametrize(("lang", "width"), [("kk", 360), ("ru", 360), ("en", 360), ("kk", 430), ("en", 1280)])
def test_dashboard_fits_the_screen(chromium, server_url, screenshot_dir, lang, width):  # noqa: F811
    phone = width < 800
    context = chromium.new_context(viewport={"width": width, "height": 800}, is_mobile=phone, has_touch=phone)
    page = context.new_page()
    errors, blocked = [], []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def route(r):
        if urlsplit(r.request.url).hostname == "127.0.0.1":
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    try:
        response = page.goto(f"{server_url}/{lang}/maps/public/progress/", wait_until="networkidle")
        assert response.status == 200
        assert errors == [] and blocked == []
        scroll = page.evaluate("() => document.documentElement.scrollWidth")
        assert scroll <= width, f"the page scrolls sideways at {width}px in {lang} ({scroll}px)"
        charts = page.locator("figure.chart svg")
        assert charts.count() == 4
        for n in range(charts.count()):
            box = charts.nth(n).bounding_box()
            assert box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5
        # The tables are the charts' text alternative: each has a caption and its header cells.
        assert page.locator("#region-table caption").count() == 1
        assert page.locator("#region-table tbody tr").count() == Region.objects.count()
        assert page.locator("#measure-table tbody tr").count() == 13  # measures 14-26
        page.screenshot(path=str(screenshot_dir / f"public_progress_{lang}_{width}.png"), full_page=True)
    finally:
        context.close()
