"""Headless Chromium (Debian's) for tests of pages as a person sees them, offline and watched.

`watched_page()` opens one page in a new browser whose requests to any host but the test server
(127.0.0.1) are aborted and listed, and records what a person would not see but should never happen:
`securitypolicyviolation` events (an init script collects them in `window.__csp`), script errors and
the console errors the caller's filter keeps. Shared by the CSP tests of the app pages and of the API
documentation pages.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connections
from playwright.sync_api import ConsoleMessage, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' '
                    + (e.sourceFile || '') + ':' + e.lineNumber));
"""


@dataclass
class WatchedPage:
    page: Page
    errors: list[str] = field(default_factory=list)  # script errors and the console errors kept
    blocked: list[str] = field(default_factory=list)  # requests to other hosts, aborted

    def clear(self) -> None:
        """Forget what the previous page recorded (the CSP list resets itself on navigation)."""
        self.errors.clear()
        self.blocked.clear()

    def problems(self) -> list[str]:
        """CSP violations and the errors recorded since the last `clear()`."""
        return [*self.page.evaluate("window.__csp"), *self.errors]


@contextmanager
def watched_page(*, console_error: Callable[[ConsoleMessage, list[str]], str | None]) -> Iterator[WatchedPage]:
    """A page of a fresh offline headless Chromium; `console_error(message, blocked)` says which
    console errors are problems (returns the text to record, or None to ignore the message)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium)")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in this thread
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
            )
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            watched = WatchedPage(page=context.new_page())

            def route(r):
                url = r.request.url
                if urlsplit(url).hostname == "127.0.0.1" or url.startswith(("blob:", "data:")):
                    r.continue_()
                else:
                    watched.blocked.append(url)
                    r.abort()

            def console(message: ConsoleMessage) -> None:
                if message.type == "error" and (text := console_error(message, watched.blocked)):
                    watched.errors.append(f"console: {text}")

            context.route("**/*", route)
            context.add_init_script(RECORD_VIOLATIONS)
            watched.page.on("pageerror", lambda exc: watched.errors.append(f"pageerror: {exc}"))
            watched.page.on("console", console)
            try:
                yield watched
            finally:
                browser.close()
                connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
