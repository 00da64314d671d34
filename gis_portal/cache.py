"""The shared cache in PostgreSQL (CACHE_URL=db://): Django's DatabaseCache, one statement a write.

Django's DatabaseCache.set costs five statements: a COUNT(*) of the whole table (to decide on
culling), BEGIN, a SELECT of the key, an UPDATE or INSERT, COMMIT. Here `set` is one
INSERT ... ON CONFLICT DO UPDATE, which stores the same row (same key, pickled value and expiry
as Django writes them, so Django's get/touch/delete read and change it as before), and `add` the
same statement, not over a live row. The count that decides on culling runs on one write in
CULL_CHECK_EVERY of a process instead of on every one: the table may exceed MAX_ENTRIES by that
many rows per process before it is culled (Django's own cull, unchanged). `incr` is atomic
(compare and set), as the fair-use counts of api/throttling.py need when several processes add to
one. The table itself is unlogged (accounts migration 0004).
"""

from __future__ import annotations

import base64
import itertools
import pickle
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router
from django.utils.timezone import now as tz_now

CULL_CHECK_EVERY = 50


class PostgresCache(DatabaseCache):
    """DatabaseCache whose `set` and `add` are a single statement and whose `incr` is atomic (PostgreSQL only)."""

    def __init__(self, table, params):
        super().__init__(table, params)
        self._writes = itertools.count()

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._upsert(key, value, timeout, version=version, only_over_expired=False)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        """Django's add (write unless a live row holds the key) as one statement instead of five."""
        return self._upsert(key, value, timeout, version=version, only_over_expired=True)

    def incr(self, key, delta=1, version=None):
        """Add `delta` to the stored number and return the new one; ValueError if the key is missing.

        Django's DatabaseCache inherits a get and then a set, so two processes incrementing at once
        lose one increment (the fair-use counts of api/throttling.py would run low). Here the new
        value is written only where the row still holds the value read (compare and set), read again
        otherwise: two statements, atomic. The expiry stays, as with Redis and locmem.
        """
        key = self.make_and_validate_key(key, version=version)
        connection = connections[router.db_for_write(self.cache_model_class)]
        table = connection.ops.quote_name(self._table)
        with connection.cursor() as cursor:
            while True:
                now = connection.ops.adapt_datetimefield_value(tz_now())
                cursor.execute(
                    f"SELECT value FROM {table} WHERE cache_key = %s AND expires >= %s",  # noqa: S608 - the configured table's name
                    [key, now],
                )
                row = cursor.fetchone()
                if row is None:
                    raise ValueError(f"Key '{key}' not found")
                value = pickle.loads(base64.b64decode(row[0].encode())) + delta  # noqa: S301 - our own rows, as Django's get
                cursor.execute(
                    f"UPDATE {table} SET value = %s WHERE cache_key = %s AND value = %s",  # noqa: S608 - as above
                    [self._encode(value), key, row[0]],
                )
                if cursor.rowcount == 1:
                    return value

    def _encode(self, value) -> str:
        """The value as DatabaseCache stores it: pickled, base64 text."""
        return base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")

    def _upsert(self, key, value, timeout, *, version, only_over_expired: bool) -> bool:
        """Write the row in one statement; with only_over_expired, not over a live one. Whether it wrote."""
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
        now = tz_now().replace(microsecond=0)
        with connection.cursor() as cursor:
            if next(self._writes) % CULL_CHECK_EVERY == 0:
                cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - the configured table's name
                count = cursor.fetchone()[0]
                if count > self._max_entries:
                    self._cull(db, cursor, now, count)
            # Django's add replaces an expired row too (it is gone for get), so only a live one stops it.
            condition = f" WHERE {table}.expires < %s" if only_over_expired else ""
            cursor.execute(
                f"INSERT INTO {table} (cache_key, value, expires) VALUES (%s, %s, %s) "  # noqa: S608 - as above
                f"ON CONFLICT (cache_key) DO UPDATE SET value = EXCLUDED.value, expires = EXCLUDED.expires{condition}",
                [key, self._encode(value), expires]
                + ([connection.ops.adapt_datetimefield_value(now)] if only_over_expired else []),
            )
            return cursor.rowcount == 1
