"""Fair use of the public API (issue 20, item 6): one throttle policy for /api/v1/, /ogc/ and /tiles/,
per anonymous client address, per signed-in user and per token user (api/throttling.py).

The cache is cleared before and after each test (tests/api/conftest.py); limits are tiny here.
"""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from api.throttling import client_address

REST = "/api/v1/regions/?limit=1"
OGC = "/ogc/collections/regions/items?limit=1"
TILE = "/tiles/facilities/0/0/0.pbf"


def refused(response) -> dict:
    """The 429 problem document, after checking its status, Retry-After and media type."""
    assert response.status_code == 429, response.status_code
    assert int(response["Retry-After"]) >= 1
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["status"] == 429 and body["title"] == "Too Many Requests", body
    return body


def allowed(client, url: str, **extra) -> bool:
    status = client.get(url, **extra).status_code
    assert status != 500
    return status != 429


@override_settings(API_ANON_THROTTLE_RATE="3/min")
def test_anonymous_over_the_limit_is_a_429_problem_naming_the_limit(api):
    assert all(allowed(api, REST) for _ in range(3))
    body = refused(api.get(REST))  # no Accept-Language: the API answers in English (ApiLanguageMiddleware)
    assert body["limit"] == {"scope": "anonymous", "rate": "3/min", "requests": 3, "seconds": 60}, body
    assert "3 per 60 seconds" in body["detail"], body["detail"]
    assert body["instance"] == "/api/v1/regions/"


def test_the_limit_member_is_documented_in_the_problem_schema(api):
    schema = json.loads(api.get("/api/v1/schema/?format=json").content)
    limit = schema["components"]["schemas"]["Problem"]["properties"]["limit"]
    assert set(limit["required"]) == {"scope", "rate", "requests", "seconds"}
    assert limit["properties"]["scope"]["enum"] == ["anonymous", "user", "token"]


@override_settings(API_ANON_THROTTLE_RATE="2/min", API_USER_THROTTLE_RATE="4/min", API_TOKEN_THROTTLE_RATE="6/min")
def test_signed_in_users_and_tokens_have_their_own_higher_limits(api, token_client, planner, admin_user_role):
    assert [allowed(api, REST) for _ in range(3)] == [True, True, False]

    session = APIClient()
    session.force_login(planner)
    assert [allowed(session, REST) for _ in range(5)] == [True] * 4 + [False]
    assert refused(session.get(REST))["limit"]["scope"] == "user"

    # A token counts apart from the same user's session (and from the exhausted anonymous address).
    token = token_client(planner)
    assert [allowed(token, REST) for _ in range(7)] == [True] * 6 + [False]
    body = refused(token.get(REST))
    assert body["limit"] == {"scope": "token", "rate": "6/min", "requests": 6, "seconds": 60}

    # Each user has a count of their own.
    assert allowed(token_client(admin_user_role), REST)


@override_settings(API_ANON_THROTTLE_RATE="2/min", API_TRUSTED_PROXIES=0)
def test_different_client_addresses_are_counted_separately(api):
    first, second = {"REMOTE_ADDR": "192.0.2.1"}, {"REMOTE_ADDR": "192.0.2.2"}
    assert [allowed(api, REST, **first) for _ in range(3)] == [True, True, False]
    assert [allowed(api, REST, **second) for _ in range(3)] == [True, True, False]
    # Without a trusted proxy, X-Forwarded-For is the client's own word: it does not buy a fresh count.
    assert not allowed(api, REST, HTTP_X_FORWARDED_FOR="198.51.100.7", **first)


@override_settings(API_ANON_THROTTLE_RATE="2/min", API_TRUSTED_PROXIES=1)
def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(api):
    proxy = {"REMOTE_ADDR": "10.0.0.5"}
    # The proxy appends the address it received from; whatever the client wrote before it is ignored.
    alice = {"HTTP_X_FORWARDED_FOR": "203.0.113.9", **proxy}
    forged = {"HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.9", **proxy}
    bob = {"HTTP_X_FORWARDED_FOR": "203.0.113.10", **proxy}
    assert [allowed(api, REST, **alice) for _ in range(2)] == [True, True]
    assert not allowed(api, REST, **forged)
    assert [allowed(api, REST, **bob) for _ in range(3)] == [True, True, False]


@override_settings(API_ANON_THROTTLE_RATE="3/min")
def test_rest_ogc_and_tiles_share_one_policy(api):
    assert allowed(api, REST)
    assert allowed(api, OGC)
    assert allowed(api, TILE)
    for url in (REST, OGC, TILE):
        body = refused(api.get(url))
        assert body["limit"]["scope"] == "anonymous" and body["limit"]["requests"] == 3


@pytest.mark.parametrize(
    ("forwarded", "trusted", "expected"),
    [
        (None, 0, "192.0.2.1"),
        ("203.0.113.9", 0, "192.0.2.1"),
        ("203.0.113.9", 1, "203.0.113.9"),
        ("1.2.3.4, 203.0.113.9", 1, "203.0.113.9"),
        ("1.2.3.4, 203.0.113.9, 10.0.0.2", 2, "203.0.113.9"),
        ("203.0.113.9", 3, "203.0.113.9"),
        (" , ", 1, "192.0.2.1"),
    ],
)
def test_client_address_follows_the_trusted_proxies(forwarded, trusted, expected):
    assert client_address(remote_addr="192.0.2.1", forwarded_for=forwarded, trusted_proxies=trusted) == expected
