"""The API's documentation pages load whole under their Content-Security-Policy, in headless Chromium.

ReDoc (/api/v1/redoc/), Swagger UI (/api/v1/docs/) and the OGC landing page (/ogc/?f=html) are opened
from a gunicorn subprocess serving the test database; every request to another host is aborted (the
pages must need none: their assets come from drf-spectacular-sidecar through our own static files).
Each page must report no `securitypolicyviolation` event, log no CSP error and no script error, and
show its content: ReDoc's operations and its search (which runs in a Web Worker), Swagger UI's
operations, the OGC page's collections.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser import watched_page
from tests.live_server import gunicorn_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

PORTS = range(8371, 8380)


@pytest.fixture(scope="module")
def docs_server(django_db_setup, django_db_blocker):
    with gunicorn_server(
        name="api-docs", ports=PORTS, ready_path="/ogc/?f=json", django_db_blocker=django_db_blocker
    ) as base:
        yield base


def _redoc_rendered(page) -> list[str]:
    page.wait_for_selector("[data-section-id*='operation/']", timeout=60_000)
    found = []
    if page.locator("[data-section-id*='operation/']").count() < 10:
        found.append("ReDoc listed fewer than 10 operations")
    # The search index lives in a Web Worker (created from a blob: URL): a result proves it ran.
    page.fill("[role='search'] input", "facilities")
    try:
        page.wait_for_selector("[data-role='search:results'] [role='menuitem']", timeout=20_000)
    except PlaywrightTimeout:  # reported as a problem of the page
        found.append("ReDoc's search (its Web Worker) found nothing for 'facilities'")
    return found


def _swagger_rendered(page) -> list[str]:
    page.wait_for_selector(".opblock", timeout=60_000)
    return [] if page.locator(".opblock").count() >= 10 else ["Swagger UI listed fewer than 10 operations"]


def _ogc_rendered(page) -> list[str]:
    links = page.locator("a[href^='/ogc/collections/']")
    return [] if links.count() >= 3 else ["the OGC landing page lists no collections"]


PAGES = {"/api/v1/redoc/": _redoc_rendered, "/api/v1/docs/": _swagger_rendered, "/ogc/?f=html": _ogc_rendered}


def _csp_message(message, _blocked) -> str | None:
    return message.text if "Content Security Policy" in message.text or "Refused to" in message.text else None


def test_the_api_docs_pages_load_without_csp_violations(docs_server):
    problems: dict[str, list[str]] = {}
    with watched_page(console_error=_csp_message) as watched:
        for path, rendered in PAGES.items():
            watched.clear()
            response = watched.page.goto(docs_server + path, wait_until="networkidle")
            found = []
            if response.status != 200:
                found.append(f"HTTP {response.status}")
            if "script-src 'self' 'nonce-" not in response.headers.get("content-security-policy", ""):
                found.append("no nonce-based CSP header")
            found += rendered(watched.page)
            watched.page.wait_for_load_state("networkidle")
            found += watched.problems()
            found += [f"request to another host: {url}" for url in watched.blocked]
            if found:
                problems[path] = found
    assert problems == {}, problems
