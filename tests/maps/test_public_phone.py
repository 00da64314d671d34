"""The public map on phones: Chromium's mobile emulation at 360, 390 and 430 px in kk, ru and en.

On every width and language: nothing overflows sideways (the page is never wider than the
screen), the map starts inside the first screen, the filters are folded behind one control that
opens them, and the filter control and the header's links and buttons are at least 44 px tall
(WCAG 2.5.5 target size). Screenshots land in test-artifacts/screenshots/phone-*.png.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.maps.conftest import PageWatch

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

WIDTHS = (360, 390, 430)
LANGUAGES = ("kk", "ru", "en")
PHONE_HEIGHT = 740
TOUCH_TARGET_PX = 44

LAYOUT_JS = """() => {
  const box = el => { const r = el.getBoundingClientRect(); return {w: r.width, h: r.height, top: r.top}; };
  const map = document.querySelector('.portal-map');
  const toggle = document.querySelector('.filters-fold > summary');
  const header = [...document.querySelectorAll('.topbar a, .topbar button, .topbar summary')]
    .filter(el => el.getClientRects().length)
    .map(el => ({text: el.textContent.trim(), ...box(el)}));
  return {
    scrollWidth: document.scrollingElement.scrollWidth,
    innerWidth: window.innerWidth,
    innerHeight: window.innerHeight,
    mapTop: map ? box(map).top : null,
    mapHeight: map ? box(map).h : null,
    toggle: toggle ? box(toggle) : null,
    filtersOpen: document.querySelector('.filters-fold').open,
    header: header,
  };
}"""


def phone_page(chromium, server_url, *, width: int, lang: str):
    context = chromium.new_context(
        viewport={"width": width, "height": PHONE_HEIGHT},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale={"kk": "kk-KZ", "ru": "ru-RU", "en": "en-GB"}[lang],
    )
    page = context.new_page()
    watch = PageWatch(page, server_url)
    page.route("**/*", lambda r: r.continue_() if urlsplit(r.request.url).hostname == "127.0.0.1" else r.abort())
    return context, watch


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("width", WIDTHS)
def test_public_map_fits_a_phone(chromium, server_url, width, lang):
    context, watch = phone_page(chromium, server_url, width=width, lang=lang)
    try:
        response = watch.goto(f"/{lang}/maps/public/")
        assert response.status == 200
        watch.page.wait_for_selector(".portal-map[data-facility-count]", state="attached")
        layout = watch.page.evaluate(LAYOUT_JS)
        watch.screenshot(f"phone-public-{width}-{lang}")
        # A mobile browser widens its layout viewport to overflowing content, so both must hold.
        assert layout["scrollWidth"] <= width, layout
        assert layout["innerWidth"] == width, layout
        assert layout["mapTop"] is not None and layout["mapTop"] < layout["innerHeight"], layout
        assert layout["mapHeight"] >= 240, layout
        # The filters are folded behind one control that is big enough to hit with a thumb.
        assert layout["filtersOpen"] is False
        assert layout["toggle"]["h"] >= TOUCH_TARGET_PX, layout["toggle"]
        small = [t for t in layout["header"] if t["h"] < TOUCH_TARGET_PX or t["w"] < TOUCH_TARGET_PX]
        assert small == [], small
        # Opening the control shows the filters; the page still fits the screen.
        watch.page.click(".filters-fold > summary")
        assert watch.page.is_visible(".map-filters select")
        opened = watch.page.evaluate(LAYOUT_JS)
        assert opened["filtersOpen"] is True
        assert opened["scrollWidth"] <= width and opened["innerWidth"] == width, opened
        assert watch.errors == [], watch.errors
    finally:
        context.close()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_home_page_fits_a_phone_and_tables_read_as_cards(chromium, server_url, lang):
    context, watch = phone_page(chromium, server_url, width=360, lang=lang)
    try:
        assert watch.goto(f"/{lang}/").status == 200
        layout = watch.page.evaluate(
            """() => ({scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth,
                       cells: [...document.querySelectorAll('table.cards-on-phone tbody td')]
                         .filter(td => td.getClientRects().length)
                         .map(td => ({display: getComputedStyle(td).display,
                                      label: getComputedStyle(td, '::before').content}))})"""
        )
        watch.screenshot(f"phone-home-360-{lang}")
        assert layout["scrollWidth"] <= 360 and layout["innerWidth"] == 360, layout["scrollWidth"]
        assert layout["cells"], "the home page has no table marked to read as cards on phones"
        # Each cell is its own line, labelled with its column's heading.
        assert {c["display"] for c in layout["cells"]} == {"block"}
        assert all(c["label"] not in ("none", "normal", '""') for c in layout["cells"]), layout["cells"][:3]
    finally:
        context.close()


def test_embed_fits_a_phone(chromium, server_url):
    context, watch = phone_page(chromium, server_url, width=360, lang="kk")
    try:
        assert watch.goto("/kk/maps/public/embed/").status == 200
        layout = watch.page.evaluate(LAYOUT_JS.replace("document.querySelector('.filters-fold').open", "null"))
        watch.screenshot("phone-embed-360-kk")
        assert layout["scrollWidth"] <= 360 and layout["innerWidth"] == 360, layout
        assert layout["mapTop"] < layout["innerHeight"]
    finally:
        context.close()
