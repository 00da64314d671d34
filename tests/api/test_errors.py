"""One error format (RFC 9457 problem details) for every 4xx/5xx under /api/, /ogc/ and /tiles/, and
401 (with its challenge) versus 403: api/errors.py, gis_portal/problems.py."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client, override_settings
from rest_framework.test import APIClient

from tests.clients import problem_fields

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance"}


def problem(response) -> dict:
    assert response["Content-Type"] == "application/problem+json", (response.status_code, response["Content-Type"])
    body = json.loads(response.content)
    assert PROBLEM_MEMBERS <= set(body), body
    assert body["status"] == response.status_code and body["detail"], body
    return body


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("get", "/api/v1/nothing-here/", 404),
        ("get", "/api/v1/facilities/999999999/", 404),
        ("get", "/ogc/collections/nothing", 404),
        ("get", "/ogc/collections/regions/items/abc", 404),
        ("get", "/tiles/nothing/1/1/1.pbf", 404),
        ("get", "/api/v1/facilities/?bbox=1,2", 400),
        ("get", "/ogc/collections/facilities/items?limit=0", 400),
        ("get", "/api/v1/measures/?offset=x", 400),
        ("get", "/api/v1/facilities/?name=%00", 400),
        ("post", "/api/v1/facilities/", 405),
        ("get", "/api/v1/tracking/plans/", 401),
        ("get", "/api/v1/parcels/", 401),
        ("get", "/api/v1/accessibility/runs/", 401),
        ("get", "/ogc/collections/parcels/items", 401),
        ("get", "/tiles/parcels/5/22/11.pbf", 401),
    ],
)
def test_every_error_is_a_problem_document(db, method, url, status):
    response = getattr(APIClient(), method)(url)
    assert response.status_code == status, response.content[:300]
    body = problem(response)
    assert body["instance"] == url.split("?")[0]


def test_a_parameter_error_names_the_parameter_the_client_sent(api):
    assert problem_fields(api.get("/api/v1/facilities/", {"sortby": "secret"})) == ["sortby"]
    assert problem_fields(api.get("/api/v1/facilities/", {"ordering": "secret"})) == ["ordering"]
    body = problem(api.get("/api/v1/facilities/", {"limit": "0"}))
    assert body["errors"][0]["field"] == "limit" and body["detail"].startswith("limit: ")


def test_missing_credentials_are_a_401_with_the_challenge(db):
    response = APIClient().get("/api/v1/tracking/facilities/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"


def test_an_invalid_token_is_a_401_even_on_public_layers(db):
    """A client that sends a token it thinks valid must learn that it is not, not read anonymously."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    for url in ("/api/v1/facilities/", "/api/v1/regions/", "/ogc/collections/facilities/items"):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 401 and response["WWW-Authenticate"] == "Token", url
        assert "token" in problem(response)["detail"].lower()


def test_signed_in_but_not_allowed_is_a_403(token_client, akimat_a, db):
    client = token_client(akimat_a)
    assert client.get("/api/v1/tracking/facilities/").status_code == 200
    refused = client.post("/api/v1/accessibility/runs/", {"kind": "coverage"}, format="json")
    assert refused.status_code == 403 and "WWW-Authenticate" not in refused
    problem(refused)
    nobody = Client()
    user = get_user_model().objects.create_user("no_role_api", password="x-12345-x!")
    nobody.force_login(user)
    assert nobody.get("/api/v1/parcels/").status_code == 403


def test_validation_errors_list_every_field(token_client, akimat_a):
    response = token_client(akimat_a).post(
        "/api/v1/parcels/",
        {"type": "Feature", "geometry": None, "properties": {"facility_id": "x", "declared_area_ha": "many"}},
        format="json",
    )
    assert response.status_code == 400
    fields = problem_fields(response)
    assert {"facility_id", "declared_area_ha"} <= set(fields), fields


@override_settings(API_ANON_THROTTLE_RATE="2/min")
def test_throttled_requests_are_a_429_problem_with_retry_after(db):
    cache.clear()
    client = APIClient()
    for _ in range(2):
        assert client.get("/api/v1/regions/?limit=1").status_code == 200
    refused = client.get("/api/v1/regions/?limit=1")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    problem(refused)
    cache.clear()


def test_a_server_error_under_the_api_is_a_problem_document(db, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr("api.v1.catalogue.PlainListView.get", boom)
    response = Client(raise_request_exception=False).get("/api/v1/measures/")
    assert response.status_code == 500
    body = problem(response)
    assert "simulated" not in response.content.decode(), "internals are never shown"
    assert body["instance"] == "/api/v1/measures/"


@pytest.mark.parametrize(
    ("language", "url", "field", "message"),
    [
        ("en", "/api/v1/facilities/?bbox=1,2", "bbox", "must be 4 (or 6) comma-separated numbers"),
        ("ru", "/api/v1/facilities/?bbox=1,2", "bbox", "должно быть 4 (или 6) числа через запятую"),
        ("kk", "/api/v1/facilities/?bbox=1,2", "bbox", "үтірмен бөлінген 4 (немесе 6) сан болуы керек"),
        ("ru", "/ogc/collections/facilities/items?limit=0", "limit", "должно быть от 1 до"),
        ("kk", "/api/v1/facilities/?region=12", "region", "'12' — 9 таңбалы ӘАОЖ (КАТО) коды емес"),
        ("ru", "/api/v1/facilities/?colour=red", "colour", "неизвестный параметр; допустимые: "),
        ("ru", "/tiles/facilities/1/5/5.pbf", "x", "на масштабе 1 x и y должны быть от 0 до 1"),
    ],
)
def test_parameter_errors_speak_the_language_asked_for(db, language, url, field, message):
    """A query parameter's error is in the client's language, like the framework's own errors."""
    body = problem(APIClient().get(url, HTTP_ACCEPT_LANGUAGE=language))
    assert body["errors"][0]["field"] == field
    assert message in body["errors"][0]["message"], body
