"""Fair use of the public API (issue 20, item 6): one throttle policy for /api/v1/, /ogc/ and /tiles/,
per anonymous client address, per signed-in user and per token user (api/throttling.py).

The cache and the process's counts are cleared before and after each test (tests/conftest.py);
limits are tiny here. The counting itself (a sliding window counter, batched per process) is tested
on `FairUseCounter`s of their own, with a fake clock and a cache of their own.
"""

from __future__ import annotations

import json
import threading

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from api import throttling
from api.throttling import FairUseCounter, batch_size, client_address
from gis_portal.cache import PostgresCache
from gis_portal.settings.env import CACHE_TABLE

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
    body = refused(api.get(REST))  # no Accept-Language: the API answers in English (middleware.LocaleMiddleware)
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


@override_settings(API_ANON_THROTTLE_RATE="50/min")
def test_one_process_lets_exactly_the_limit_through(api):
    """50/min batches (2 hits) and syncs near the limit, yet one process counts its own hits exactly."""
    assert [allowed(api, REST) for _ in range(51)] == [True] * 50 + [False]
    body = refused(api.get(REST))
    assert body["limit"] == {"scope": "anonymous", "rate": "50/min", "requests": 50, "seconds": 60}


class Clock:
    """A fake wall clock (epoch seconds) for FairUseCounter: windows turn without sleeping."""

    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingCache(LocMemCache):
    """A cache shared by the counters of one test that counts its round trips."""

    def __init__(self, name: str):
        super().__init__(name, {})
        self.clear()
        self.calls = 0

    def get_many(self, keys, version=None):
        self.calls += 1
        return super().get_many(keys, version=version)

    def incr(self, key, delta=1, version=None):
        self.calls += 1
        return super().incr(key, delta, version=version)

    def add(self, key, value, timeout=300, version=None):
        self.calls += 1
        return super().add(key, value, timeout, version=version)


def test_a_counter_lets_exactly_the_limit_through_in_a_window():
    counter = FairUseCounter(cache=CountingCache("exact"), clock=Clock(600.0))
    verdicts = [counter.hit(scope="token:1", limit=1000, seconds=60) for _ in range(1001)]
    assert [v.allowed for v in verdicts] == [True] * 1000 + [False]
    # Nothing in the previous window: no room until the current one ends, 60 s from its start.
    assert verdicts[-1].retry_after == 60
    assert counter.hit(scope="token:2", limit=1000, seconds=60).allowed  # another caller counts apart


def test_threads_of_one_process_share_its_counts_exactly():
    counter = FairUseCounter(cache=CountingCache("threads"), clock=Clock(600.0))
    results: list[bool] = []
    lock = threading.Lock()

    def call() -> None:
        mine = [counter.hit(scope="anonymous:192.0.2.1", limit=600, seconds=60).allowed for _ in range(250)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 600


def test_two_processes_stay_within_the_documented_bound_and_both_refuse_at_the_limit():
    shared, clock = CountingCache("two-processes"), Clock(600.0)
    first, second = FairUseCounter(cache=shared, clock=clock), FairUseCounter(cache=shared, clock=clock)
    limit = 1000
    let_through = 0
    for n in range(3000):
        clock.now += 0.0001  # 0.3 s in all: the hits far from the limit are batched, not synced by time
        let_through += (first if n % 2 else second).hit(scope="token:7", limit=limit, seconds=60).allowed
    # At most batch_size(limit) hits per process the other has not seen (module docstring), and never
    # fewer than the limit: a process refuses only on hits it knows of.
    assert limit <= let_through <= limit + 2 * batch_size(limit)
    assert not first.hit(scope="token:7", limit=limit, seconds=60).allowed
    assert not second.hit(scope="token:7", limit=limit, seconds=60).allowed


def test_a_limit_under_20_is_exact_across_processes():
    """Such a limit has no batch (batch_size 0): every hit syncs, as the two-node test over HTTP relies on."""
    shared, clock = CountingCache("small-limit"), Clock(600.0)
    counters = [FairUseCounter(cache=shared, clock=clock) for _ in range(4)]
    assert batch_size(12) == 0
    allowed = []
    for n in range(40):
        clock.now += 0.001
        allowed.append(counters[n % 4].hit(scope="anonymous:192.0.2.9", limit=12, seconds=60).allowed)
    assert allowed == [True] * 12 + [False] * 28


def test_a_process_that_has_not_seen_a_caller_refuses_once_the_shared_count_is_at_the_limit():
    shared, clock = CountingCache("late-process"), Clock(600.0)
    first, second = FairUseCounter(cache=shared, clock=clock), FairUseCounter(cache=shared, clock=clock)
    assert all(first.hit(scope="user:3", limit=100, seconds=60).allowed for _ in range(100))
    assert not first.hit(scope="user:3", limit=100, seconds=60).allowed
    verdict = second.hit(scope="user:3", limit=100, seconds=60)
    assert not verdict.allowed and verdict.retry_after == 60


def test_far_from_the_limit_most_requests_touch_no_cache_and_near_it_each_one_syncs():
    shared, clock = CountingCache("round-trips"), Clock(600.0)
    counter = FairUseCounter(cache=shared, clock=clock)
    limit = 10_000  # batches of 100
    for _ in range(1000):
        clock.now += 0.0005  # 0.5 s: no sync is due by time
        assert counter.hit(scope="token:1", limit=limit, seconds=60).allowed
    # The first request syncs (it had not seen the caller), then one in batch_size(limit) writes
    # its batch: a read of the previous window and an add or incr of the current one.
    assert shared.calls <= 2 * (1 + 1000 // batch_size(limit))

    clock.now += throttling.SYNC_SECONDS  # since the last sync: the next request syncs by time
    before = shared.calls
    assert counter.hit(scope="token:1", limit=limit, seconds=60).allowed
    assert shared.calls > before

    # Near the limit (from NEAR_LIMIT of it on) each request syncs, so refusals are as exact as the
    # shared cache; the refusals themselves need none (counts only grow within a window).
    small = FairUseCounter(cache=shared, clock=clock)
    calls = []
    for _ in range(100):
        before = shared.calls
        assert small.hit(scope="token:2", limit=100, seconds=60).allowed
        calls.append(shared.calls - before)
    assert all(c >= 1 for c in calls[80:]), calls
    assert sum(1 for c in calls[:79] if c) <= 79 // batch_size(100) + 1, calls
    before = shared.calls
    assert not small.hit(scope="token:2", limit=100, seconds=60).allowed
    assert shared.calls == before


def test_in_the_database_cache_batched_hits_cost_a_few_statements_and_the_count_is_shared(db):
    cache = PostgresCache(CACHE_TABLE, {})
    clock = Clock(1_800_000_000.0)
    counter = FairUseCounter(cache=cache, clock=clock)
    with CaptureQueriesContext(connection) as queries:
        for _ in range(300):
            clock.now += 0.001
            assert counter.hit(scope="token:9", limit=10_000, seconds=60).allowed
    # 300 requests: one first read, then a write of each batch of 100 (≤ 3 statements each, and one
    # table count of the cache's cull check). The old throttle ran 2 statements on every request.
    assert len(queries.captured_queries) <= 1 + 3 * 3 + 1, [q["sql"] for q in queries.captured_queries]
    clock.now += throttling.SYNC_SECONDS  # the next request syncs: the unwritten hits and itself
    assert counter.hit(scope="token:9", limit=10_000, seconds=60).allowed
    window = int(clock.now // 60)
    assert cache.get(f"{throttling.KEY_PREFIX}:token:9:60:{window}") == 301


def test_hits_at_the_end_of_a_window_still_weigh_at_the_start_of_the_next():
    clock = Clock(60.0 * 1000 + 59.0)  # the last second of a window
    counter = FairUseCounter(cache=CountingCache("sliding"), clock=clock)
    assert all(counter.hit(scope="anonymous:a", limit=10, seconds=60).allowed for _ in range(10))
    clock.now = 60.0 * 1001 + 0.5  # just into the next window: 10 × (1 − 0.5/60) + 1 > 10
    verdict = counter.hit(scope="anonymous:a", limit=10, seconds=60)
    assert not verdict.allowed
    # Room for one request once 10 × (1 − f) + 1 ≤ 10, from f = 0.1, i.e. 6 s into the window.
    assert verdict.retry_after == 6
    clock.now = 60.0 * 1001 + 6.1
    assert counter.hit(scope="anonymous:a", limit=10, seconds=60).allowed
    assert not counter.hit(scope="anonymous:a", limit=10, seconds=60).allowed  # 8.98 + 1 + 1 > 10
    clock.now = 60.0 * 1003  # two windows on: the old hits weigh no more
    assert all(counter.hit(scope="anonymous:a", limit=10, seconds=60).allowed for _ in range(10))


def test_a_second_process_sees_the_previous_window_of_the_first():
    shared, clock = CountingCache("sliding-shared"), Clock(60.0 * 1000 + 59.0)
    first, second = FairUseCounter(cache=shared, clock=clock), FairUseCounter(cache=shared, clock=clock)
    assert all(first.hit(scope="user:5", limit=10, seconds=60).allowed for _ in range(10))
    clock.now = 60.0 * 1001 + 0.5
    assert not second.hit(scope="user:5", limit=10, seconds=60).allowed


def test_counts_of_windows_that_no_longer_matter_are_pruned():
    clock = Clock(60.0 * 1000)
    counter = FairUseCounter(cache=CountingCache("prune"), clock=clock)
    for n in range(500):
        assert counter.hit(scope=f"anonymous:10.0.{n // 256}.{n % 256}", limit=10, seconds=60).allowed
    assert len(counter) == 1000  # each caller's current and previous window
    clock.now += 60
    counter.hit(scope="anonymous:192.0.2.9", limit=10, seconds=60)
    assert len(counter) == 502  # the 500 callers' window still weighs as the previous one: kept
    clock.now += 60
    counter.hit(scope="anonymous:192.0.2.9", limit=10, seconds=60)
    assert len(counter) == 2  # only the caller still calling: the current window and the one before
