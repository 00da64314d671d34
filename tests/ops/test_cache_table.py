"""The shared cache in PostgreSQL (CACHE_URL=db://): unlogged table, one-statement writes (gis_portal/cache.py)."""

from __future__ import annotations

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.throttling import SimpleRateThrottle

from api.throttling import FairUseThrottle
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


class _ReferenceThrottle(SimpleRateThrottle):
    """DRF's own sliding window on a process-local cache, with a clock the test sets."""

    cache = LocMemCache("reference-throttle", {})
    rate = "3/s"  # parsed by DRF; the window below is 3 requests per 10 seconds
    clock = 0.0

    def __init__(self):
        super().__init__()
        self.num_requests, self.duration = 3, 10

    def get_cache_key(self, request, view):
        return "caller"

    def timer(self):
        return self.clock


def _window_wait(count: int, oldest: float, *, now: float, duration: int, limit: int):
    throttle = FairUseThrottle()
    throttle.num_requests, throttle.duration, throttle.now, throttle.window = limit, duration, now, (count, oldest)
    return throttle.wait()


def test_hit_window_decides_as_drf_s_sliding_window():
    """Same requests at the same times: the same allow/refuse decisions and the same Retry-After as DRF's throttle."""
    cache = PostgresCache(CACHE_TABLE, {})
    _ReferenceThrottle.cache.clear()
    times = [0.0, 1.0, 2.0, 3.0, 9.5, 10.0, 10.5, 11.5, 12.5, 13.0, 30.0, 30.1, 30.2, 30.3, 45.0]
    for now in times:
        reference = _ReferenceThrottle()
        reference.clock = now
        expected = reference.allow_request(None, None)
        allowed, count, oldest = cache.hit_window("caller", now=now, duration=10, limit=3)
        assert allowed == expected, now
        assert count == len(reference.history), now
        assert oldest == reference.history[-1], now
        if not allowed:
            assert _window_wait(count, oldest, now=now, duration=10, limit=3) == pytest.approx(reference.wait())
    # A refusal writes nothing: the window still ends with the last allowed request.
    assert cache.hit_window("other", now=100.0, duration=10, limit=1)[0] is True
    assert cache.hit_window("other", now=101.0, duration=10, limit=1) == (False, 1, 100.0)
    assert cache.hit_window("other", now=110.5, duration=10, limit=1) == (True, 1, 110.5)


def test_hit_window_is_one_statement_and_an_expired_row_counts_as_none():
    cache = PostgresCache(CACHE_TABLE, {})
    cache.hit_window("first", now=1.0, duration=60, limit=5)  # the first write of a process checks the table's size
    with CaptureQueriesContext(connection) as queries:
        assert cache.hit_window("k", now=1.0, duration=60, limit=2) == (True, 1, 1.0)
    assert len(queries.captured_queries) == 1
    assert cache.hit_window("k", now=2.0, duration=60, limit=2) == (True, 2, 1.0)
    with connection.cursor() as cursor:  # the row's expiry passes (the times in it would still count)
        cursor.execute(
            f"UPDATE \"{CACHE_TABLE}\" SET expires = now() - interval '1 second' WHERE cache_key = %s",  # noqa: S608
            [cache.make_and_validate_key("k")],
        )
    assert cache.hit_window("k", now=3.0, duration=60, limit=2) == (True, 1, 3.0)
