"""Fair use of the REST API (/api/v1/), OGC API – Features (/ogc/) and the vector tiles (/tiles/).

One policy, declared once: REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] names `FairUseThrottle`, so
every REST framework view under the three prefixes counts against it. Three kinds of caller, each
with its own limit from settings (env-overridable, README "Production"):

- anonymous: per client address (API_ANON_THROTTLE_RATE), the address being REMOTE_ADDR or, behind
  API_TRUSTED_PROXIES proxies, the one the nearest trusted proxy put into X-Forwarded-For;
- signed in with a session: per user (API_USER_THROTTLE_RATE);
- with an API token: per token's user (API_TOKEN_THROTTLE_RATE).

Over the limit the answer is a 429 problem document (api.errors) with `Retry-After`, naming the
limit in `detail` and in the `limit` extension member.

How it counts (issue 21: the check runs on every API request, so it must cost next to nothing):

- A sliding window counter. Requests are counted per fixed window of the rate's period (windows
  aligned to the epoch, so every process and node agrees on them), one small int per caller and
  window in Django's shared cache (CACHE_URL). A request is let through while the estimate
  `previous window's count × (1 − elapsed fraction of the current window) + current count`, this
  request included, stays within the limit: hits at the end of one window still weigh at the start
  of the next, as with a sliding log, without storing a timestamp per request.
- Batched in each process (`FairUseCounter`, one per process: `counter`). A process counts its own
  hits exactly and in memory; it writes the hits it has not yet written and re-reads the shared
  counts (a "sync") only when SYNC_SECONDS passed since its last sync of that caller, when its
  unwritten hits reach `batch_size(limit)`, or when its estimate is within NEAR_LIMIT of the limit.
  A sync writes the request that caused it along with the batch and decides on the counts it read
  (a request it refuses is taken back out). Far from the limit, most requests touch no cache at
  all; near it, every request syncs. A refusal needs no sync: counts only grow within a window, so
  what the process already knows is a lower bound of the shared count.
- The trade-off. This is fair use, not billing: across P processes (gunicorn workers × nodes) a
  caller can get at most about P × batch_size(limit) requests over the limit per window (each
  process lets through at most that many hits the others have not seen yet; fewer when the caller
  sends fewer than that in SYNC_SECONDS), i.e. at most P × 5 % of it, and none for limits under 20
  a period. Within one process the limit is exact (a limit of N lets exactly N through in a fresh
  window), and near the limit refusals are as exact as the shared cache is.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache as default_cache
from django.core.cache.backends.base import BaseCache
from django.utils.translation import gettext
from rest_framework import exceptions
from rest_framework.authtoken.models import Token
from rest_framework.throttling import BaseThrottle

ANONYMOUS = "anonymous"
USER = "user"
TOKEN = "token"

SYNC_SECONDS = 1.0  # a process re-reads a caller's shared count at least this often while it calls
NEAR_LIMIT = 0.8  # from this fraction of the limit on, every request syncs
MAX_BATCH = 100  # unwritten hits per caller and process, at most (see batch_size)
PRUNE_SECONDS = 10.0  # how often a process drops the counts of windows that no longer matter
KEY_PREFIX = "throttle_api"


# Defined here, not in api.errors: REST_FRAMEWORK's settings import this module while
# rest_framework.views loads, so nothing here may import that module (api.errors does).
class RateLimited(exceptions.Throttled):
    """A caller over its fair-use limit: 429 with Retry-After, the limit named (api.errors)."""

    def __init__(self, *, wait: int, detail: str, limit: dict):
        super().__init__(wait=wait, detail=detail)
        self.limit = limit


def client_address(*, remote_addr: str, forwarded_for: str | None, trusted_proxies: int) -> str:
    """The caller's address as the nearest trusted proxy saw it (DRF's NUM_PROXIES rule).

    With no trusted proxy X-Forwarded-For is ignored: any client could write it and so get a
    fresh count per request. With n trusted proxies, each appends the address it received from,
    so the n-th entry from the right is the one the outermost trusted proxy saw.
    """
    if trusted_proxies <= 0 or not forwarded_for:
        return remote_addr
    addresses = [a.strip() for a in forwarded_for.split(",") if a.strip()]
    if not addresses:
        return remote_addr
    return addresses[-min(trusted_proxies, len(addresses))]


def caller_kind(request) -> str:
    if not request.user.is_authenticated:
        return ANONYMOUS
    return TOKEN if isinstance(request.auth, Token) else USER


def _rate(kind: str) -> str:
    return {
        ANONYMOUS: settings.API_ANON_THROTTLE_RATE,
        USER: settings.API_USER_THROTTLE_RATE,
        TOKEN: settings.API_TOKEN_THROTTLE_RATE,
    }[kind]


def parse_rate(rate: str) -> tuple[int, int]:
    """(requests, seconds) of a rate in DRF's format: "600/min", "10/s", "1000/hour", "5000/day"."""
    requests, period = rate.split("/")
    return int(requests), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]


def batch_size(limit: int) -> int:
    """Hits a process may let through unwritten: 5 % of the limit, at most MAX_BATCH.

    Proportional so that the overshoot bound (module docstring) is a small share of any limit; 0
    (every request syncs, the limit is exact across processes) for limits under 20 a period,
    where even one unseen hit per process would be a large share.
    """
    return min(MAX_BATCH, limit // 20)


class Verdict(NamedTuple):
    allowed: bool
    retry_after: int  # seconds (≥ 1) when refused, 0 when allowed


@dataclass
class _Count:
    """One caller's requests in one fixed window, as this process knows them."""

    expires: float  # epoch seconds: the end of the next window, after which no estimate uses it
    shared: int = 0  # the shared cache's count when last read (this process's written hits included)
    pending: int = 0  # hits let through here and not yet written
    writing: int = 0  # hits a sync in another thread is writing right now
    synced_at: float = -math.inf  # epoch seconds of this process's last sync of the caller

    @property
    def known(self) -> int:
        return self.shared + self.pending + self.writing


def _retry_after(*, previous: int, current: int, limit: int, fraction: float, seconds: int) -> int:
    """Seconds (≥ 1) until the estimate leaves room for one request, at most to the window's end."""
    room = limit - 1 - current
    to_window_end = (1 - fraction) * seconds
    if room < 0 or previous == 0:
        wait = to_window_end
    else:
        # previous × (1 − f) + current + 1 ≤ limit from the fraction f = 1 − room / previous on.
        wait = min(to_window_end, max(0.0, (1 - room / previous - fraction) * seconds))
    return max(1, math.ceil(wait))


class FairUseCounter:
    """The counts of one process: shared through `cache`, batched in memory (module docstring).

    Thread-safe (gunicorn's gthread workers run several threads): the counts change under a lock,
    the cache is read and written outside it.
    """

    def __init__(self, *, cache: BaseCache = default_cache, clock: Callable[[], float] = time.time):
        self.cache = cache
        self.clock = clock  # wall clock, epoch seconds: windows must agree across processes and nodes
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int, int], _Count] = {}
        self._pruned_at = -math.inf

    def clear(self) -> None:
        """Forget every count of this process (tests, after they empty the shared cache)."""
        with self._lock:
            self._counts.clear()

    def __len__(self) -> int:
        return len(self._counts)

    def hit(self, *, scope: str, limit: int, seconds: int) -> Verdict:
        """Count one request of `scope` (one caller) against `limit` requests per `seconds`."""
        now = self.clock()
        window = int(now // seconds)
        fraction = now / seconds - window
        with self._lock:
            self._prune(now=now)
            previous = self._count(scope=scope, window=window - 1, seconds=seconds)
            current = self._count(scope=scope, window=window, seconds=seconds)
            verdict = self._decide(previous=previous, current=current, limit=limit, fraction=fraction, seconds=seconds)
            if not verdict.allowed or not self._sync_due(
                previous=previous, current=current, limit=limit, fraction=fraction, now=now
            ):
                if verdict.allowed:
                    current.pending += 1
                return verdict
            # Written by this thread from here on, this request with them (taken back below if it is
            # refused); other threads still count them (`writing`).
            writes = (previous.pending, current.pending + 1)
            previous.pending, current.pending = 0, 0
            previous.writing += writes[0]
            current.writing += writes[1]
            current.synced_at = now
        shared = self._exchange(scope=scope, windows=(window - 1, window), hits=writes, seconds=seconds, now=now)
        with self._lock:
            for count, hits, fresh in zip((previous, current), writes, shared, strict=True):
                count.writing -= hits
                # Another thread's sync may have read a later value; counts only grow in a window.
                count.shared = max(count.shared, fresh)
            if previous.known * (1 - fraction) + current.known <= limit:
                return Verdict(allowed=True, retry_after=0)
            # Over the limit with what other processes wrote meanwhile: this request does not count.
            current.shared -= 1
            verdict = self._decide(previous=previous, current=current, limit=limit, fraction=fraction, seconds=seconds)
        with contextlib.suppress(ValueError):  # the count is gone (expired, cleared): nothing to take back
            self.cache.incr(self._key(scope=scope, window=window, seconds=seconds), -1)
        return verdict

    def _count(self, *, scope: str, window: int, seconds: int) -> _Count:
        key = (scope, seconds, window)
        count = self._counts.get(key)
        if count is None:
            count = self._counts[key] = _Count(expires=(window + 2) * seconds)
        return count

    def _prune(self, *, now: float) -> None:
        if now - self._pruned_at < PRUNE_SECONDS:
            return
        self._pruned_at = now
        for key in [key for key, count in self._counts.items() if count.expires <= now]:
            del self._counts[key]

    @staticmethod
    def _decide(*, previous: _Count, current: _Count, limit: int, fraction: float, seconds: int) -> Verdict:
        if previous.known * (1 - fraction) + current.known + 1 <= limit:
            return Verdict(allowed=True, retry_after=0)
        wait = _retry_after(
            previous=previous.known, current=current.known, limit=limit, fraction=fraction, seconds=seconds
        )
        return Verdict(allowed=False, retry_after=wait)

    @staticmethod
    def _sync_due(*, previous: _Count, current: _Count, limit: int, fraction: float, now: float) -> bool:
        estimate = previous.known * (1 - fraction) + current.known + 1
        return (
            now - current.synced_at >= SYNC_SECONDS
            or previous.pending + current.pending >= batch_size(limit)
            or estimate >= NEAR_LIMIT * limit
        )

    @staticmethod
    def _key(*, scope: str, window: int, seconds: int) -> str:
        return f"{KEY_PREFIX}:{scope}:{seconds}:{window}"

    def _exchange(
        self, *, scope: str, windows: tuple[int, ...], hits: tuple[int, ...], seconds: int, now: float
    ) -> list[int]:
        """Add each window's unwritten `hits` to its shared count; the counts read, window by window."""
        keys = [self._key(scope=scope, window=w, seconds=seconds) for w in windows]
        read = self.cache.get_many([key for key, n in zip(keys, hits, strict=True) if not n])
        return [
            # Kept to the end of the next window, whose estimates still read it.
            self._add(key=key, hits=n, timeout=(w + 2) * seconds - now + 1) if n else read.get(key, 0)
            for key, w, n in zip(keys, windows, hits, strict=True)
        ]

    def _add(self, *, key: str, hits: int, timeout: float) -> int:
        """Add `hits` to the shared count under `key` and return the new count (atomic where `incr` is)."""
        try:
            return self.cache.incr(key, hits)
        except ValueError:  # no count yet in this window: the deployment's first hit in it creates it
            if self.cache.add(key, hits, timeout=timeout):
                return hits
            return self.cache.incr(key, hits)


counter = FairUseCounter()


class FairUseThrottle(BaseThrottle):
    """Requests per period per anonymous address, per signed-in user and per token user."""

    def allow_request(self, request, view) -> bool:
        self.kind = caller_kind(request)
        self.rate = _rate(self.kind)
        self.num_requests, self.duration = parse_rate(self.rate)
        ident = self.get_ident(request) if self.kind == ANONYMOUS else request.user.pk
        verdict = counter.hit(scope=f"{self.kind}:{ident}", limit=self.num_requests, seconds=self.duration)
        if not verdict.allowed:
            self.throttle_failure(wait=verdict.retry_after)
        return True

    def get_ident(self, request) -> str:
        return client_address(
            remote_addr=request.META.get("REMOTE_ADDR", ""),
            forwarded_for=request.headers.get("x-forwarded-for"),
            trusted_proxies=settings.API_TRUSTED_PROXIES,
        )

    def throttle_failure(self, *, wait: int):
        """Refuse with the limit named (raised here: DRF's own path would lose which limit it was)."""
        values = {"requests": self.num_requests, "seconds": self.duration}
        messages = {
            ANONYMOUS: gettext("Anonymous requests are limited to %(requests)d per %(seconds)d seconds per address."),
            USER: gettext("Requests of a signed-in user are limited to %(requests)d per %(seconds)d seconds."),
            TOKEN: gettext("Requests with an API token are limited to %(requests)d per %(seconds)d seconds."),
        }
        raise RateLimited(
            wait=wait,
            detail=messages[self.kind] % values,
            limit={"scope": self.kind, "rate": self.rate, **values},
        )
