"""The reads every API request runs are prepared statements (gis_portal/db.py); nothing else is."""

from __future__ import annotations

import pytest
from django.db import connection

from facilities.models import Facility


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def no_prepared(db):
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    connection.connection._prepared.clear()  # psycopg's own record of what it prepared
    yield


def test_token_count_and_page_statements_are_prepared(token_client, planner, no_prepared, settings):
    settings.API_RESPONSE_CACHE_SECONDS = 300  # count first, then the page
    client = token_client(planner)
    assert client.get("/api/v1/facilities/?limit=5").status_code == 200
    Facility.objects.filter(pk=0).update(places=1)  # an ORM write: never prepared
    statements = _prepared()
    assert any("authtoken_token" in s for s in statements)
    assert any("string_agg" in s and "facilities_facility" in s for s in statements)
    assert any(s.lstrip().startswith("SELECT count(*)") for s in statements)
    assert all(s.lstrip().upper().startswith("SELECT") for s in statements), statements
    # The same statements again: PostgreSQL answers from the prepared ones, the response is unchanged.
    first = client.get("/api/v1/facilities/?limit=5&bbox=50,40,90,56").content
    assert client.get("/api/v1/facilities/?limit=5&bbox=50,40,90,56").content == first
    assert len(_prepared()) == len(set(_prepared()))


def test_reads_fall_back_to_plain_statements_when_preparing_is_off(token_client, planner, no_prepared):
    client = token_client(planner)
    connection.connection.prepare_threshold = None  # what DATABASE_PREPARED_READS=0 configures
    try:
        response = client.get("/api/v1/facilities/?limit=5")
        assert response.status_code == 200 and len(response.json()["features"]) == 5
        assert _prepared() == []
    finally:
        connection.connection.prepare_threshold = 5


def test_settings_switch_preparing_off_for_poolers(monkeypatch):
    import importlib

    import gis_portal.settings.base as base

    monkeypatch.setenv("DATABASE_PREPARED_READS", "0")
    try:
        assert importlib.reload(base).DATABASES["default"]["OPTIONS"]["prepare_threshold"] is None
    finally:
        monkeypatch.delenv("DATABASE_PREPARED_READS")
        assert importlib.reload(base).DATABASES["default"]["OPTIONS"]["prepare_threshold"] == 5
