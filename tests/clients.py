"""API clients for the tests: one place that signs a DRF client in with a user's token."""

from __future__ import annotations

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def token_client(user=None) -> APIClient:
    """A DRF test client sending `Authorization: Token …` of `user` (anonymous when None)."""
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
