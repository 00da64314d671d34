"""The shared cache in PostgreSQL (CACHE_URL=db://): Django's DatabaseCache, one statement a write.

Every API request writes its fair-use counter into the cache (api/throttling.py). Django's
DatabaseCache.set costs five statements for that: a COUNT(*) of the whole table (to decide on
culling), BEGIN, a SELECT of the key, an UPDATE or INSERT, COMMIT. Here `set` is one
INSERT ... ON CONFLICT DO UPDATE, which stores the same row (same key, pickled value and expiry
as Django writes them, so Django's get/add/touch/delete read and change it as before), and the
count that decides on culling runs on one write in CULL_CHECK_EVERY of a process instead of on
every one: the table may exceed MAX_ENTRIES by that many rows per process before it is culled
(Django's own cull, unchanged). The table itself is unlogged (accounts migration 0004).
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
            if next(self._writes) % CULL_CHECK_EVERY == 0:
                cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - the configured table's name
                count = cursor.fetchone()[0]
                if count > self._max_entries:
                    self._cull(db, cursor, tz_now().replace(microsecond=0), count)
            cursor.execute(
                f"INSERT INTO {table} (cache_key, value, expires) VALUES (%s, %s, %s) "  # noqa: S608 - as above
                "ON CONFLICT (cache_key) DO UPDATE SET value = EXCLUDED.value, expires = EXCLUDED.expires",
                [key, encoded, expires],
            )
