"""The API's documentation pages load whole under their Content-Security-Policy, in headless Chromium.

ReDoc (/api/v1/redoc/), Swagger UI (/api/v1/docs/) and the OGC landing page (/ogc/?f=html) are opened
from a gunicorn subprocess serving the test database; every request to another host is aborted (the
pages must need none: their assets come from drf-spectacular-sidecar through our own static files).
Each page must report no `securitypolicyviolation` event, log no CSP error and no script error, and
show its content: ReDoc's operations and its search (which runs in a Web Worker), Swagger UI's
operations, the OGC page's collections.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connections

from tests.live_server import gunicorn_server

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

CHROMIUM = "/usr/bin/chromium"
PORTS = range(8371, 8380)
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' '
                    + (e.sourceFile || '') + ':' + e.lineNumber));
"""


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
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError; reported as a problem of the page
        found.append("ReDoc's search (its Web Worker) found nothing for 'facilities'")
    return found


def _swagger_rendered(page) -> list[str]:
    page.wait_for_selector(".opblock", timeout=60_000)
    return [] if page.locator(".opblock").count() >= 10 else ["Swagger UI listed fewer than 10 operations"]


def _ogc_rendered(page) -> list[str]:
    links = page.locator("a[href^='/ogc/collections/']")
    return [] if links.count() >= 3 else ["the OGC landing page lists no collections"]


PAGES = {"/api/v1/redoc/": _redoc_rendered, "/api/v1/docs/": _swagger_rendered, "/ogc/?f=html": _ogc_rendered}


def test_the_api_docs_pages_load_without_csp_violations(docs_server):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in this thread
    problems: dict[str, list[str]] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            elsewhere: list[str] = []

            def route(r):
                if urlsplit(r.request.url).hostname == "127.0.0.1" or r.request.url.startswith(("blob:", "data:")):
                    r.continue_()
                else:
                    elsewhere.append(r.request.url)
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
                    and ("Content Security Policy" in msg.text or "Refused to" in msg.text)
                    and errors.append(f"console: {msg.text}")
                ),
            )
            for path, rendered in PAGES.items():
                errors.clear()
                elsewhere.clear()
                response = page.goto(docs_server + path, wait_until="networkidle")
                found = []
                if response.status != 200:
                    found.append(f"HTTP {response.status}")
                if "script-src 'self' 'nonce-" not in response.headers.get("content-security-policy", ""):
                    found.append("no nonce-based CSP header")
                found += rendered(page)
                page.wait_for_load_state("networkidle")
                found += page.evaluate("window.__csp") + errors
                found += [f"request to another host: {url}" for url in elsewhere]
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
