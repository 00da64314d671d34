"""The public table in a real headless Chromium, offline: sorted by a click on a column header, and
on a phone (390 px, mobile emulation) one card per facility with no sideways scrolling."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from facilities.models import Facility
from tests.maps.conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

OVERFLOW_JS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
# What sticks out on the right, for the failure message.
WIDE_JS = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .map(e => `${e.tagName}.${e.className}#${e.id} ${Math.round(e.getBoundingClientRect().right)}`).slice(0, 10)"""


def _offline(page) -> None:
    page.route("**/*", lambda r: r.continue_() if urlsplit(r.request.url).hostname == "127.0.0.1" else r.abort())


def test_table_sorts_by_a_click_on_a_column_header(browser_page):
    watch = browser_page
    assert watch.goto("/en/maps/public/table/").status == 200
    watch.page.click('th[data-key="planned"] a')
    watch.page.wait_for_url("**sort=planned*")
    watch.page.click('th[data-key="planned"] a')
    watch.page.wait_for_url("**sort=-planned*")
    years = watch.page.eval_on_selector_all(
        "#facility-table tbody tr", "rows => rows.map(r => parseInt(r.children[5].textContent, 10))"
    )
    assert (
        years == sorted(years, reverse=True) and len(years) == Facility.objects.filter(location__isnull=False).count()
    )
    assert watch.page.get_attribute('th[data-key="planned"]', "aria-sort") == "descending"
    assert watch.errors == []


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_table_is_cards_on_a_phone_without_overflow(chromium, server_url, lang):
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        _offline(page)
        response = page.goto(f"{server_url}/{lang}/maps/public/table/?region=710000000", wait_until="networkidle")
        assert response.status == 200
        assert page.evaluate(OVERFLOW_JS) <= 0, page.evaluate(WIDE_JS)
        # Each row is a block (a card) as wide as the page, its cells labelled.
        display = page.eval_on_selector("#facility-table tbody tr", "r => getComputedStyle(r).display")
        assert display == "block"
        width = page.eval_on_selector("#facility-table tbody tr", "r => r.getBoundingClientRect().width")
        assert 300 < width <= 390
        label = page.eval_on_selector(
            "#facility-table tbody td[data-label]", "td => getComputedStyle(td, '::before').content"
        )
        assert label.strip('"').endswith(": ")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"public-table-phone-{lang}.png"), full_page=True)
    finally:
        context.close()
