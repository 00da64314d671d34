"""Configured base layers in headless Chromium against a real server (gunicorn on 127.0.0.1:8241–8249).

Tiles of outside hosts cannot load in tests: the browser's requests to the configured imagery host
are answered with a tiny PNG by the test (Playwright's route), those to the cadastral WMS are aborted
(its layer's own notice must appear) and everything else outside 127.0.0.1 is aborted too. A request
reaches the route only if the page's CSP admitted its host. Browser steps run with no ORM calls.
"""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.live_server import gunicorn_server

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "base-layers-browser-1!"
IMAGERY = "imagery.browser.example.kz"
CADASTRE = "wms.browser.example.kz"
# A 1×1 transparent PNG: the imagery "tile".
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture(scope="module")
def committed(django_db_setup, django_db_blocker):
    """Committed users (an Astana akimat, an administrator), two editors-only layers and a facility."""
    from accounts.models import Membership
    from accounts.services import user_with_role_ensure
    from facilities.models import Facility
    from layers.models import BaseLayer
    from layers.services import base_layer_delete, base_layer_save

    with django_db_blocker.unblock():
        user_with_role_ensure(
            username="layers_browser", role=Membership.Role.AKIMAT, region_kato="710000000", password=PASSWORD
        )
        user_with_role_ensure(username="layers_browser_admin", role=Membership.Role.ADMIN, password=PASSWORD)
        imagery = base_layer_save(
            layer=BaseLayer(
                name_kk="Ғарыштық түсірілім",
                name_ru="Космоснимки",
                name_en="Satellite imagery",
                kind=BaseLayer.Kind.XYZ,
                url=f"https://{IMAGERY}/tiles/{{z}}/{{x}}/{{y}}.png",
                attribution="© Imagery licensor, 2025",
            )
        )
        cadastre = base_layer_save(
            layer=BaseLayer(
                name_kk="Кадастрлық карта",
                name_ru="Кадастровая карта",
                name_en="National cadastral map",
                kind=BaseLayer.Kind.WMS,
                url=f"https://{CADASTRE}/geoserver/wms",
                wms_layers="cadastre:parcels",
                attribution="© Land cadastre",
                is_overlay=True,
                order=1,
            )
        )
        facility = Facility.objects.filter(region__kato="710000000", location__isnull=False).order_by("id").first()
    yield facility
    with django_db_blocker.unblock():
        base_layer_delete(layer_ids=[imagery.pk, cadastre.pk])


@pytest.fixture(scope="module")
def server(committed, django_db_blocker):
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is needed for browser tests")
    with gunicorn_server(
        name="base-layers",
        ports=range(8241, 8250),
        ready_path="/en/accounts/login/",
        django_db_blocker=django_db_blocker,
    ) as base:
        yield base


class Offline:
    """Routes: our server through, the imagery host answered with PNG, everything else aborted."""

    def __init__(self, server: str):
        self.server = server
        self.imagery: list[str] = []
        self.cadastre: list[str] = []

    def __call__(self, route):
        url = route.request.url
        host = urlsplit(url).hostname
        if url.startswith(self.server):
            route.continue_()
        elif host == IMAGERY:
            self.imagery.append(url)
            route.fulfill(status=200, content_type="image/png", body=PNG)
        else:
            if host == CADASTRE:
                self.cadastre.append(url)
            route.abort()


def _sign_in(page, server: str, username: str) -> None:
    page.goto(server + "/en/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_load_state()


def _poll(page, check, tries: int = 80) -> bool:
    # The pages' CSP forbids eval, so poll from here instead of wait_for_function.
    for _ in range(tries):
        if check():
            return True
        page.wait_for_timeout(100)
    return False


NOTES_JS = "() => [...document.querySelectorAll('.tiles-note')].map(n => n.textContent.trim()).filter(Boolean)"
LOADED_TILES_JS = f"""() => [...document.querySelectorAll('img.leaflet-tile')]
    .filter(i => i.src.includes('{IMAGERY}') && i.complete && i.naturalWidth > 0).length"""


def test_parcel_editor_switches_to_the_configured_layers(server, committed):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        routes = Offline(server)
        page.route("**/*", routes)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        _sign_in(page, server, "layers_browser")
        response = page.goto(server + f"/en/parcels/new/?facility={committed.pk}")
        csp = response.headers.get("content-security-policy", "")
        page.wait_for_selector(".leaflet-control-layers")
        page.hover(".leaflet-control-layers")
        bases = page.locator(".leaflet-control-layers-base label").all_inner_texts()
        overlays = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
        # The default base map's tiles are aborted: its notice is shown first.
        base_note = _poll(page, lambda: any("base map cannot" in n for n in page.evaluate(NOTES_JS)))
        page.locator(".leaflet-control-layers-base label", has_text="Satellite imagery").locator("input").check()
        imagery_loaded = _poll(page, lambda: page.evaluate(LOADED_TILES_JS) > 0)
        attribution = page.inner_text(".leaflet-control-attribution")
        notes_after_switch = page.evaluate(NOTES_JS)
        page.locator(".leaflet-control-layers-overlays label", has_text="National cadastral map").locator(
            "input"
        ).check()
        cadastre_note = _poll(page, lambda: any("National cadastral map" in n for n in page.evaluate(NOTES_JS)))
        page.screenshot(path=str(Path("test-artifacts/screenshots").resolve() / "parcel_editor_base_layers.png"))
        browser.close()
    assert f"https://{IMAGERY}" in csp and f"https://{CADASTRE}" in csp
    assert errors == [], errors
    assert [b.strip() for b in bases] == ["Base map", "Satellite imagery"]
    assert [o.strip() for o in overlays if "National" in o] == ["National cadastral map"]
    assert base_note
    assert imagery_loaded and routes.imagery, "switching to the imagery layer did not load its tiles"
    assert "© Imagery licensor, 2025" in attribution
    # Per layer: the base map's notice left with the base map, the imagery has none.
    assert not [n for n in notes_after_switch if "base map cannot" in n or "Satellite" in n], notes_after_switch
    query = {k.upper(): v for k, v in parse_qs(urlsplit(routes.cadastre[0]).query).items()}
    assert query["REQUEST"] == ["GetMap"] and query["LAYERS"] == ["cadastre:parcels"]
    assert cadastre_note


def test_facility_admin_widget_switches_to_the_configured_layers(server, committed):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        routes = Offline(server)
        page.route("**/*", routes)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server + "/en/admin/login/")
        page.fill("input[name=username]", "layers_browser_admin")
        page.fill("input[name=password]", PASSWORD)
        page.press("input[name=password]", "Enter")
        page.wait_for_load_state()
        page.goto(server + f"/en/admin/facilities/facility/{committed.pk}/change/")
        switcher = page.wait_for_selector("fieldset.portal-base-layers")
        labels = [t.strip() for t in page.locator("fieldset.portal-base-layers label").all_inner_texts()]
        requested_before = len(routes.imagery)
        page.locator("fieldset.portal-base-layers label", has_text="Satellite imagery").locator("input").check()
        switched = _poll(page, lambda: len(routes.imagery) > requested_before)
        page.locator("fieldset.portal-base-layers label", has_text="National cadastral map").locator("input").check()
        cadastre_requested = _poll(page, lambda: bool(routes.cadastre))
        browser.close()
    assert switcher is not None
    assert errors == [], errors
    assert [label.split(" cannot")[0] for label in labels] == [
        "Base map",
        "Satellite imagery",
        "National cadastral map",
    ], labels
    # OpenStreetMap's tiles were aborted: the switcher says so next to that layer only.
    assert labels[0] == "Base map cannot be loaded" and labels[1] == "Satellite imagery", labels
    assert requested_before == 0 and switched
    assert cadastre_requested
