"""The shared cache in PostgreSQL (CACHE_URL=db://): unlogged table, one-statement writes (gis_portal/cache.py)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gis_portal import cache as portal_cache
from gis_portal.cache import PostgresCache
from gis_portal.settings.env import CACHE_TABLE

pytestmark = pytest.mark.django_db


def _rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT count(*) FROM "{CACHE_TABLE}"')  # noqa: S608 - constant name
        return cursor.fetchone()[0]


def test_the_cache_table_is_unlogged_with_django_s_columns():
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpersistence FROM pg_class WHERE relname = %s", [CACHE_TABLE])
        assert cursor.fetchone() == ("u",)
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
            [CACHE_TABLE],
        )
        assert [r[0] for r in cursor.fetchall()] == ["cache_key", "value", "expires"]


def test_set_is_one_statement_and_django_reads_what_it_wrote(monkeypatch):
    cache = PostgresCache(CACHE_TABLE, {})
    cache.set("first", [1.5, 2.5], 60)  # the first write of a process checks the table's size
    with CaptureQueriesContext(connection) as queries:
        cache.set("k", {"history": [1.0, 2.0]}, 60)
        cache.set("k", {"history": [3.0]}, 60)  # overwrites
    assert len(queries.captured_queries) == 2
    assert cache.get("k") == {"history": [3.0]}
    assert cache.get("first") == [1.5, 2.5]
    assert cache.add("k", "other") is False  # Django's add sees the row as live
    assert cache.touch("k", 120) is True
    cache.set("gone", 1, -1)  # expired at once, as with Django's backend
    assert cache.get("gone") is None
    cache.set("forever", "x", None)
    assert cache.get("forever") == "x"
    cache.delete("k")
    assert cache.get("k") is None


def test_the_table_is_culled_when_over_max_entries(monkeypatch):
    monkeypatch.setattr(portal_cache, "CULL_CHECK_EVERY", 5)
    cache = PostgresCache(CACHE_TABLE, {"OPTIONS": {"MAX_ENTRIES": 10, "CULL_FREQUENCY": 2}})
    for i in range(40):
        cache.set(f"key{i}", i, 60)
    assert _rows() <= 10 + 5
    assert cache.get("key39") == 39


def test_values_are_compressed_with_lz4_where_the_server_has_it():
    """Large values (cached API pages) are written faster with lz4 than pglz (accounts 0005)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        has_lz4 = cursor.fetchone()[0]
        cursor.execute(
            "SELECT attcompression FROM pg_attribute WHERE attrelid = %s::regclass AND attname = 'value'",
            [f'"{CACHE_TABLE}"'],
        )
        method = cursor.fetchone()[0]
    assert method == ("l" if has_lz4 else "")
    cache = PostgresCache(CACHE_TABLE, {})
    history = [1_700_000_000.0 + i / 7 for i in range(5_000)]  # a window's request times, as DRF stores them
    cache.set("history", history, 60)
    assert cache.get("history") == history


def _expires(key: str) -> object:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT expires FROM "{CACHE_TABLE}" WHERE cache_key = %s', [key])  # noqa: S608 - constant name
        return cursor.fetchone()[0]


def test_add_is_one_statement_and_writes_only_over_a_missing_or_expired_row():
    cache = PostgresCache(CACHE_TABLE, {})
    cache.set("first", 0, 60)  # the first write of a process checks the table's size
    cache.set("expired", "old", -1)
    with CaptureQueriesContext(connection) as queries:
        assert cache.add("new", 1, 60) is True
        assert cache.add("new", 2, 60) is False  # a live row stays
        assert cache.add("expired", "fresh", 60) is True  # as Django's add: an expired row is gone
    assert len(queries.captured_queries) == 3
    assert (cache.get("new"), cache.get("expired")) == (1, "fresh")


def test_incr_is_atomic_keeps_the_expiry_and_refuses_a_missing_key():
    cache = PostgresCache(CACHE_TABLE, {})
    cache.set("count", 1, 60)
    expires = _expires(cache.make_key("count"))
    with CaptureQueriesContext(connection) as queries:
        assert cache.incr("count", 4) == 5
    assert len(queries.captured_queries) == 2
    assert _expires(cache.make_key("count")) == expires
    with pytest.raises(ValueError, match="not found"):
        cache.incr("missing")
    cache.set("gone", 1, -1)
    with pytest.raises(ValueError, match="not found"):
        cache.incr("gone")


def test_incr_loses_no_increment_of_another_writer_between_its_read_and_its_write():
    """Another process adds 10 after incr read the count: Django's get-then-set would write 2 over it."""
    cache = PostgresCache(CACHE_TABLE, {})
    other = PostgresCache(CACHE_TABLE, {})
    cache.set("count", 1, 60)
    raced = []

    def another_writer_first(execute, sql, params, many, context):
        if sql.startswith("UPDATE") and not raced:
            raced.append(sql)
            other.incr("count", 10)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(another_writer_first):
        assert cache.incr("count", 1) == 12
    assert raced and cache.get("count") == 12
