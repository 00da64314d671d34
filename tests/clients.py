"""API clients for the tests: one place that signs a DRF client in with a user's token."""

from __future__ import annotations

import json

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def token_client(user=None) -> APIClient:
    """A DRF test client sending `Authorization: Token …` of `user` (anonymous when None)."""
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def problem_fields(response) -> list[str]:
    """The fields named by an RFC 9457 problem response (api/errors.py), after checking its shape."""
    assert response["Content-Type"] == "application/problem+json", response["Content-Type"]
    body = json.loads(response.content)
    assert body["status"] == response.status_code and body["title"] and body["detail"], body
    return [e["field"] for e in body.get("errors", [])]
