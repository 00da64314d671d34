"""API tokens: the user's role comes with the token (one query), and bad tokens get a clear 401."""

from __future__ import annotations

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def test_token_and_role_in_one_query(planner, django_assert_num_queries):
    from accounts.authentication import TokenAuthentication
    from accounts.permissions import user_role

    key = Token.objects.create(user=planner).key
    with django_assert_num_queries(1):
        user, _token = TokenAuthentication().authenticate_credentials(key)
        assert user_role(user) == "planner"


def test_unknown_or_inactive_tokens_are_refused(planner):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = client.get("/api/v1/parcels/")
    assert response.status_code in (401, 403) and "token" in response.json()["detail"].lower()
    key = Token.objects.create(user=planner).key
    planner.is_active = False
    planner.save()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/v1/parcels/")
    assert response.status_code in (401, 403) and "inactive" in response.json()["detail"].lower()


def test_token_errors_speak_the_clients_language(db):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="ru")
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert client.get("/api/v1/parcels/").json()["detail"] == "Недействительный токен."
