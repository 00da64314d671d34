"""The API speaks English unless the client asks for a language (gis_portal.middleware.LocaleMiddleware).

The site's default language (LANGUAGE_CODE) is Kazakh; the pages under /<lang>/ keep it. These tests send
requests through the test client with no Accept-Language at all: the autouse `english_unless_asked` fixture
only sets the test thread's language, and LocaleMiddleware replaces it per request, so without the API's
own default these requests were answered in Kazakh.
"""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client, override_settings
from rest_framework.test import APIClient

NOT_SIGNED_IN = {
    "en": "Authentication credentials were not provided.",
    "ru": "Учетные данные не были предоставлены.",
    "kk": "Аутентификация деректері берілмеген.",
}
COLLECTIONS = {"en": "Collections", "ru": "Коллекции", "kk": "Жинақтар"}


def _detail(response) -> str:
    assert response["Content-Type"] == "application/problem+json", response["Content-Type"]
    return json.loads(response.content)["detail"]


def test_the_site_default_is_not_english():
    # The premise of these tests: without the API's own default, an API request would get Kazakh.
    assert settings.LANGUAGE_CODE == "kk"


@pytest.mark.parametrize("url", ["/api/v1/parcels/", "/ogc/collections/parcels/items", "/tiles/parcels/5/22/11.pbf"])
def test_an_api_error_is_english_when_no_language_is_asked_for(db, url):
    client = APIClient()
    assert "HTTP_ACCEPT_LANGUAGE" not in client.defaults
    response = client.get(url)
    assert response.status_code == 401
    assert _detail(response) == NOT_SIGNED_IN["en"]
    assert response["Content-Language"] == "en"


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_an_api_error_follows_accept_language(db, language):
    response = APIClient().get("/api/v1/parcels/", HTTP_ACCEPT_LANGUAGE=f"{language},en;q=0.5")
    assert _detail(response) == NOT_SIGNED_IN[language]
    assert response["Content-Language"] == language
    assert "Accept-Language" in response["Vary"]


@pytest.mark.parametrize(("header", "language"), [("de-DE,de;q=0.9", "en"), ("*", "en"), ("de,ru;q=0.8", "ru")])
def test_only_a_supported_language_counts_as_asked(db, header, language):
    response = APIClient().get("/api/v1/parcels/", HTTP_ACCEPT_LANGUAGE=header)
    assert _detail(response) == NOT_SIGNED_IN[language]


def test_the_language_cookie_of_the_site_switcher_counts_as_asked(db):
    client = APIClient()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    assert _detail(client.get("/api/v1/parcels/")) == NOT_SIGNED_IN["ru"]


@override_settings(API_ANON_THROTTLE_RATE="1/min")
def test_the_throttle_message_is_english_by_default(api):
    api.get("/api/v1/regions/?limit=1")
    response = api.get("/api/v1/regions/?limit=1")
    assert response.status_code == 429
    assert "1 per 60 seconds per address" in _detail(response)


@pytest.mark.parametrize(("header", "language"), [(None, "en"), ("ru", "ru"), ("kk", "kk")])
def test_the_ogc_html_pages_are_api_pages(db, header, language):
    extra = {"HTTP_ACCEPT_LANGUAGE": header} if header else {}
    response = Client().get("/ogc/?f=html", **extra)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert f">{COLLECTIONS[language]}</a>" in html


def test_the_pages_under_a_language_prefix_keep_it(db):
    client = Client()
    assert client.get("/kk/", HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "kk"
    assert client.get("/ru/")["Content-Language"] == "ru"
    # The bare root still sends a visitor who asks for nothing to the Kazakh site.
    assert client.get("/")["Location"] == "/kk/"
