"""Helpers of the tests: a DRF client signed in with a user's token, problem details, vector tiles read back."""

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


def decode_vector_tile(data: bytes):
    """Minimal protobuf walk: layer names and the number of features in a Mapbox Vector Tile."""

    def varint(buf, i):
        shift = value = 0
        while True:
            byte = buf[i]
            i += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value, i
            shift += 7

    def fields(buf):
        i = 0
        while i < len(buf):
            key, i = varint(buf, i)
            number, wire = key >> 3, key & 7
            if wire == 2:
                length, i = varint(buf, i)
                yield number, buf[i : i + length]
                i += length
            elif wire == 0:
                value, i = varint(buf, i)
                yield number, value
            else:
                raise AssertionError(f"unexpected wire type {wire}")

    layers = {}
    for number, layer in fields(data):
        assert number == 3
        parts = list(fields(layer))
        name = next(v for n, v in parts if n == 1).decode()
        keys = [v.decode() for n, v in parts if n == 3]
        layers[name] = {"features": sum(1 for n, _v in parts if n == 2), "keys": keys}
    return layers
