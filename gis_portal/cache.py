"""The shared cache in PostgreSQL (CACHE_URL=db://): Django's DatabaseCache, one statement a write.

Every API request writes its fair-use counter into the cache (api/throttling.py). Django's
DatabaseCache.set costs five statements for that: a COUNT(*) of the whole table (to decide on
culling), BEGIN, a SELECT of the key, an UPDATE or INSERT, COMMIT. Here `set` is one
INSERT ... ON CONFLICT DO UPDATE, which stores the same row (same key, pickled value and expiry
as Django writes them, so Django's get/add/touch/delete read and change it as before), and the
count that decides on culling runs on one write in CULL_CHECK_EVERY of a process instead of on
every one: the table may exceed MAX_ENTRIES by that many rows per process before it is culled
(Django's own cull, unchanged). The table itself is unlogged (accounts migration 0004).

`hit_window` is the fair-use throttle's sliding window (api/throttling.py) in one statement: it
reads, prunes and extends a caller's history of request times inside PostgreSQL, where DRF's
throttle would read the pickled history (a get), decide in Python and write it back (a set),
(de)serialising every timestamp of the window twice per request. Those rows hold the times as
text, not a pickle: only hit_window reads them.
"""

from __future__ import annotations

import base64
import itertools
import pickle
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router
from django.utils.timezone import now as tz_now

CULL_CHECK_EVERY = 50


class PostgresCache(DatabaseCache):
    """DatabaseCache whose `set` is a single upsert (PostgreSQL only)."""

    def __init__(self, table, params):
        super().__init__(table, params)
        self._writes = itertools.count()

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        timeout = self.get_backend_timeout(timeout)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        table = connection.ops.quote_name(self._table)
        # The expiry and the value exactly as DatabaseCache._base_set writes them.
        if timeout is None:
            expires = datetime.max
        else:
            expires = datetime.fromtimestamp(timeout, tz=UTC if settings.USE_TZ else None)
        expires = connection.ops.adapt_datetimefield_value(expires.replace(microsecond=0))
        encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
        with connection.cursor() as cursor:
            self._cull_check(db, cursor, table)
            cursor.execute(
                f"INSERT INTO {table} (cache_key, value, expires) VALUES (%s, %s, %s) "  # noqa: S608 - as above
                "ON CONFLICT (cache_key) DO UPDATE SET value = EXCLUDED.value, expires = EXCLUDED.expires",
                [key, encoded, expires],
            )

    def _cull_check(self, db, cursor, table: str) -> None:
        """Django's cull, run when the table is over MAX_ENTRIES, checked on one write in CULL_CHECK_EVERY."""
        if next(self._writes) % CULL_CHECK_EVERY == 0:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - the configured table's name
            count = cursor.fetchone()[0]
            if count > self._max_entries:
                self._cull(db, cursor, tz_now().replace(microsecond=0), count)

    def hit_window(self, key, *, now: float, duration: int, limit: int, version=None) -> tuple[bool, int, float]:
        """One request at `now` (Unix seconds) against a sliding window of `limit` requests per `duration` seconds.

        DRF's SimpleRateThrottle rule in one statement: the request times of `key` newer than
        now - duration are kept (an expired row counts as none); with fewer than `limit` of them
        `now` is prepended and the row written with the window's expiry, else nothing is written.
        The row is locked while it is read and written, so concurrent requests of one caller each
        see the other's time (DRF's get-then-set could lose one). Returns (allowed, the number of
        times in the window afterwards, the oldest of them) — what DRF's wait() needs.
        """
        key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        table = connection.ops.quote_name(self._table)
        # Now and the expiry as Django's own get and set compare and write them.
        current = connection.ops.adapt_datetimefield_value(tz_now())
        expires = datetime.fromtimestamp(time.time() + duration, tz=UTC if settings.USE_TZ else None)
        expires = connection.ops.adapt_datetimefield_value(expires.replace(microsecond=0))
        # Times are float8 printed in full (PostgreSQL's shortest exact form), newest first.
        statement = f"""
            WITH previous AS (
                SELECT value FROM {table} WHERE cache_key = %(key)s AND expires >= %(current)s FOR UPDATE
            ), kept AS (
                SELECT COALESCE(array_agg(u.t ORDER BY u.i), '{{}}'::float8[]) AS times
                FROM previous, unnest(string_to_array(previous.value, ',')::float8[]) WITH ORDINALITY AS u(t, i)
                WHERE u.t > %(since)s
            ), verdict AS (
                SELECT times, cardinality(times) < %(limit)s AS allowed FROM kept
            ), written AS (
                INSERT INTO {table} (cache_key, value, expires)
                SELECT %(key)s, array_to_string(%(now)s::float8 || times, ','), %(expires)s FROM verdict WHERE allowed
                ON CONFLICT (cache_key) DO UPDATE SET value = EXCLUDED.value, expires = EXCLUDED.expires
            )
            SELECT allowed, cardinality(times) + allowed::int, COALESCE(times[cardinality(times)], %(now)s::float8)
            FROM verdict
        """  # noqa: S608 - the configured table's name; values are bound
        params = {
            "key": key,
            "current": current,
            "since": now - duration,
            "limit": limit,
            "now": now,
            "expires": expires,
        }
        with connection.cursor() as cursor:
            self._cull_check(db, cursor, table)
            cursor.execute(statement, params)
            allowed, count, oldest = cursor.fetchone()
        return allowed, count, oldest
