"""Fixtures of the API tests: a clean throttle cache and a token client per role."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests import clients


@pytest.fixture(autouse=True)
def _fresh_throttle():
    """Anonymous throttling counts in the cache; each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(db):
    return APIClient()


@pytest.fixture
def token_client(db):
    return clients.token_client
