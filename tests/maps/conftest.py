"""Browser fixtures: a real gunicorn serving the pytest database, and Debian's headless Chromium.

The server process reads the test database that tests/conftest.py filled and committed;
users for signing in are committed here too (the ordinary user fixtures live in rolled-back
transactions the server cannot see). All traffic to hosts other than 127.0.0.1 is aborted,
so the tests run offline and prove that no page needs a CDN.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connections

from tests.live_server import gunicorn_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PORTS = range(8101, 8110)
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "browser-pw-12345!"


def chromium_missing() -> bool:
    return not Path(CHROMIUM).exists()


@pytest.fixture(scope="session")
def browser_users(django_db_setup, django_db_blocker):
    """Committed users the server can authenticate: a planner and an akimat of Astana."""
    from accounts.models import Membership
    from accounts.services import user_with_role_ensure

    with django_db_blocker.unblock():
        user_with_role_ensure(username="map_planner", role=Membership.Role.PLANNER, password=PASSWORD)
        user_with_role_ensure(
            username="map_akimat", role=Membership.Role.AKIMAT, region_kato="710000000", password=PASSWORD
        )
    return {"planner": "map_planner", "akimat": "map_akimat"}


@pytest.fixture(scope="module")
def server_url(django_db_setup, django_db_blocker, browser_users):
    """Base URL of a gunicorn process serving the test database (static files through WhiteNoise)."""
    if chromium_missing():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium): browser tests need it")
    with gunicorn_server(
        name="maps", ports=PORTS, ready_path="/en/maps/public/embed/", django_db_blocker=django_db_blocker
    ) as base:
        yield base


@pytest.fixture(scope="module")
def chromium():
    """Headless Chromium for one test module. Playwright's sync API keeps an event loop running in
    this thread, which Django's async guard mistakes for async code; the guard is lifted only while
    the browser is up (the ORM calls between browser steps are ordinary synchronous calls)."""
    if chromium_missing():
        pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium): browser tests need it")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS, headless=True)
            yield browser
            browser.close()
            # ORM calls made while Playwright's loop runs get their own connection (asgiref's
            # context-local storage); close it so the test database can be dropped at exit.
            connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class PageWatch:
    """A Playwright page with its JavaScript errors, requests and responses recorded."""

    def __init__(self, page, base: str):
        self.page = page
        self.base = base
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.bodies: list[tuple[str, bytes]] = []
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("console", self._console)
        page.on("request", lambda req: self.requests.append(req.url))
        page.on("response", self._response)

    def _console(self, msg):
        if msg.type != "error":
            return
        where = (msg.location or {}).get("url", "")
        # Base-map tiles from an external host are aborted on purpose (offline test); the page
        # must cope with that, so the browser's "failed to load resource" line for them is expected.
        if where and urlsplit(where).hostname == urlsplit(settings.BASEMAP_TILES_URL).hostname:
            return
        self.errors.append(f"console: {msg.text} ({where})")

    def _response(self, response):
        if urlsplit(response.url).hostname == "127.0.0.1":
            try:
                self.bodies.append((response.url, response.body()))
            except Exception:  # noqa: BLE001 - redirects and aborted responses have no body to read
                pass

    def goto(self, path: str, **kwargs):
        response = self.page.goto(self.base + path, wait_until="networkidle", **kwargs)
        return response

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def browser_page(chromium, server_url):
    """A fresh offline browser context (1280×900) per test; yields a PageWatch."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    watch = PageWatch(page, server_url)

    def route(route_obj):
        host = urlsplit(route_obj.request.url).hostname
        if host == "127.0.0.1":
            route_obj.continue_()
        else:
            watch.blocked.append(route_obj.request.url)
            route_obj.abort()

    page.route("**/*", route)
    yield watch
    context.close()


def _sign_in(watch: PageWatch, username: str, lang: str = "en") -> None:
    watch.goto(f"/{lang}/accounts/login/")
    watch.page.fill("input[name=username]", username)
    watch.page.fill("input[name=password]", PASSWORD)
    with watch.page.expect_navigation():
        watch.page.click("main form [type=submit]")
    assert "/accounts/login/" not in watch.page.url, f"signing in as {username} failed"


@pytest.fixture
def sign_in():
    """sign_in(watch, username): sign in through the login form."""
    return _sign_in


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


SECRET_CADASTRAL = "71-999-999-9991"
SECRET_ACT = "ACT-MAPS-SECRET-77"
SECRET_BALANCE_ACT = "BAL-MAPS-SECRET-55"
SECRET_COST = "987654321"
SECRET_PLAN_NOTE = "DRAFT-PLAN-MAPS-SECRET"


def sensitive_strings() -> set[str]:
    """Strings that must never reach the public map: every cadastral/act number, cost and draft plan
    note in the database (parcels and tracking apps, when installed)."""
    from django.apps import apps

    found: set[str] = set()
    if apps.is_installed("parcels"):
        from parcels.models import InfrastructureLink, Parcel, ParcelDocument

        for cadastral, act in Parcel.objects.values_list("cadastral_number", "act_number"):
            found |= {cadastral, act}
        for balance, cost in InfrastructureLink.objects.values_list("balance_act_number", "cost_kzt"):
            found |= {balance, str(int(cost)) if cost else ""}
        found |= set(ParcelDocument.objects.values_list("title", flat=True))
    if apps.is_installed("tracking"):
        from tracking.models import Plan, StageRecord

        found |= set(Plan.objects.exclude(status="approved").values_list("note", flat=True))
        found |= set(StageRecord.objects.values_list("doc_number", flat=True))
    return {s for s in found if s and len(s) >= 5}


@pytest.fixture(scope="module")
def sensitive_records(django_db_setup, django_db_blocker):
    """Committed parcel, infrastructure link and draft plan with recognisable secrets, removed when the
    module ends (module scope, and Astana's last facility, so the parcels tests never meet them)."""
    from decimal import Decimal

    from django.apps import apps
    from django.contrib.gis.geos import MultiPolygon

    from facilities.models import Facility

    created = []
    with django_db_blocker.unblock():
        facility = Facility.objects.filter(region__kato="710000000", location__isnull=False).order_by("-pk").first()
        if apps.is_installed("parcels"):
            from parcels.models import InfrastructureLink, Parcel, Utility

            parcel = Parcel.objects.create(
                facility=facility,
                region=facility.region,
                district=facility.district,
                cadastral_number=SECRET_CADASTRAL,
                geom=MultiPolygon(facility.location.buffer(0.001), srid=4326),
                declared_area_ha=Decimal("1.5"),
                computed_area_ha=Decimal("1.5"),
                area_srid=32642,
                land_category="settlement",
                right_type="temporary_free",
                act_number=SECRET_ACT,
                act_date="2024-03-01",
                status="act_issued",
            )
            link = InfrastructureLink.objects.create(
                parcel=parcel,
                utility=Utility.objects.order_by("code").first(),
                region=facility.region,
                status="planned",
                balance_act_number=SECRET_BALANCE_ACT,
                cost_kzt=Decimal(SECRET_COST + ".55"),
            )
            created += [link, parcel]
        if apps.is_installed("tracking"):
            from tracking.models import Plan

            version = (
                Plan.objects.filter(plan_measure_id=12).order_by("-version").values_list("version", flat=True).first()
                or 0
            ) + 1
            created.append(
                Plan.objects.create(plan_measure_id=12, version=version, status="draft", note=SECRET_PLAN_NOTE)
            )
    yield {
        "facility": facility,
        "created": created,
        "cadastral": SECRET_CADASTRAL if apps.is_installed("parcels") else None,
    }
    with django_db_blocker.unblock():
        for obj in created:
            type(obj).objects.filter(pk=obj.pk).delete()


@pytest.fixture
def map_secrets(sensitive_records, django_db_blocker) -> set[str]:
    """Every sensitive string in the database, including the committed test secrets."""
    from django.apps import apps

    with django_db_blocker.unblock():
        found = sensitive_strings()
    if apps.is_installed("parcels"):
        found |= {SECRET_ACT, SECRET_BALANCE_ACT, SECRET_CADASTRAL, SECRET_COST}
    if apps.is_installed("tracking"):
        found.add(SECRET_PLAN_NOTE)
    return found
