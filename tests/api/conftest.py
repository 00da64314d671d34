"""Fixtures of the API tests: a token client per role (tests/conftest.py empties the cache around each test)."""

import pytest
from rest_framework.test import APIClient

from tests import clients


@pytest.fixture
def api(db):
    return APIClient()


@pytest.fixture
def token_client(db):
    return clients.token_client
