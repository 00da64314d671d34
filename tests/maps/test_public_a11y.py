"""axe-core on every anonymous page, in headless Chromium, in kk, ru and en: no serious or critical violations.

axe-core comes from npm (maps/assets/package.json, devDependency, installed by scripts/_setup.sh's
`npm ci`); it is never served by the application: the test evaluates its source through the
browser driver, which the page's Content-Security-Policy does not govern, so the pages are checked
under their production policy. A new public page is covered by adding one line to PUBLIC_PAGES.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from maps import selectors as map_selectors
from tests.maps.conftest import PageWatch

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

AXE_JS = Path(settings.MAP_ASSETS_DIR) / "axe-core" / "axe.min.js"
LANGUAGES = ("kk", "ru", "en")
BLOCKING_IMPACTS = {"serious", "critical"}

# Every page an anonymous visitor can open; {facility} is a facility of the approved plans.
PUBLIC_PAGES = (
    "/{lang}/",
    "/{lang}/maps/public/",
    "/{lang}/maps/public/?measure=14",
    "/{lang}/maps/public/embed/",
    "/{lang}/maps/public/progress/",
    "/{lang}/maps/public/table/",
    "/{lang}/maps/facility/{facility}/",
    "/{lang}/accounts/login/",
)

RUN_AXE_JS = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `npm ci` in maps/assets (scripts/_setup.sh does)")
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def public_facility(django_db_setup, django_db_blocker) -> int:
    with django_db_blocker.unblock():
        located = map_selectors.facility_queryset().filter(location__isnull=False)
        first = located.order_by("pk").values_list("pk", flat=True).first()
    assert first is not None, "the test database has no facility of an approved plan"
    return first


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("template", PUBLIC_PAGES)
def test_public_page_has_no_serious_accessibility_violation(
    chromium, server_url, axe_source, public_facility, template, lang
):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.route("**/*", lambda r: r.continue_() if urlsplit(r.request.url).hostname == "127.0.0.1" else r.abort())
    watch = PageWatch(page, server_url)
    try:
        path = template.format(lang=lang, facility=public_facility)
        response = watch.goto(path)
        assert response.status == 200, path
        assert "script-src 'self' 'nonce-" in response.headers.get("content-security-policy", "")
        page.evaluate(axe_source)
        violations = page.evaluate(RUN_AXE_JS)
        blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
        assert blocking == [], f"{path}: {blocking}"
    finally:
        context.close()


def test_phone_width_has_no_serious_accessibility_violation(chromium, server_url, axe_source):
    """The phone layout (folded filters, cards) is checked too, not only the desktop one."""
    context = chromium.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.route("**/*", lambda r: r.continue_() if urlsplit(r.request.url).hostname == "127.0.0.1" else r.abort())
    watch = PageWatch(page, server_url)
    try:
        found = {}
        for path in ("/kk/", "/kk/maps/public/"):
            assert watch.goto(path).status == 200
            page.evaluate(axe_source)
            blocking = [v for v in page.evaluate(RUN_AXE_JS) if v["impact"] in BLOCKING_IMPACTS]
            if blocking:
                found[path] = blocking
        assert found == {}
    finally:
        context.close()


def test_public_map_has_a_keyboard_path(chromium, server_url):
    """A skip link jumps over the map; tabbing into the map reaches the facilities (groups or markers)."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.route("**/*", lambda r: r.continue_() if urlsplit(r.request.url).hostname == "127.0.0.1" else r.abort())
    watch = PageWatch(page, server_url)
    try:
        assert watch.goto("/en/maps/public/").status == 200
        page.wait_for_selector(".portal-map .marker-cluster, .portal-map .facility-marker")
        page.focus(".skip-link")
        box = page.locator(".skip-link").bounding_box()
        assert box is not None and box["width"] > 40 and box["x"] >= 0, box  # visible while focused
        reached = []
        for _ in range(40):
            page.keyboard.press("Tab")
            reached.append(page.evaluate("document.activeElement.className || document.activeElement.tagName"))
            if "marker-cluster" in reached[-1] or "facility-marker" in reached[-1]:
                break
        assert "marker-cluster" in reached[-1] or "facility-marker" in reached[-1], reached
        page.focus(".skip-link")
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#legend-title"
    finally:
        context.close()


def test_axe_finds_a_violation_planted_in_a_public_page(chromium, server_url, axe_source):
    """The check can fail: a nameless button planted in the home page is reported as critical."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.route("**/*", lambda r: r.continue_() if urlsplit(r.request.url).hostname == "127.0.0.1" else r.abort())
    watch = PageWatch(page, server_url)
    try:
        assert watch.goto("/en/").status == 200
        page.evaluate("document.querySelector('main').appendChild(document.createElement('button'))")
        page.evaluate(axe_source)
        found = {v["id"]: v["impact"] for v in page.evaluate(RUN_AXE_JS)}
        assert found.get("button-name") in BLOCKING_IMPACTS, found
    finally:
        context.close()
