"""Prepared statements for the read statements every API request runs.

Django's psycopg 3 backend binds parameters on the client and turns preparing off
(prepare_threshold=None), so PostgreSQL parses and plans each statement anew: about
1 ms for the API's page statement, as much as building a whole small page
(scripts/bench/api.py). Switching the whole connection to server-side binding is
not an option: pghistory prefixes its context to writes ("SELECT set_config(...);
INSERT ..."), which a prepared statement cannot hold. So settings turn preparing
back on for the connection (OPTIONS prepare_threshold, DATABASE_PREPARED_READS),
where it only affects server-binding cursors, and only `prepared_cursor()` makes
one: for the token lookup, the count and the page statement, all SELECTs, which
pghistory leaves alone.

PostgreSQL keeps the plans per connection. The first executions of a statement get
plans for their parameter values; a generic plan is used afterwards only where the
planner estimates it no dearer (plan_cache_mode=auto). Behind a transaction-mode
connection pooler that cannot keep prepared statements, set DATABASE_PREPARED_READS=0.

Reads of the portal's data pass `using=read_alias()` (gis_portal.db_router): the replica while a
read-only API request or public map page is served and one is configured, else the primary.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.postgresql.base import ServerBindingCursor


class _PreparingCursor(ServerBindingCursor):
    """Server-side binding, and every statement prepared (psycopg names and keeps them per connection)."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)


@contextmanager
def prepared_cursor(*, using: str = DEFAULT_DB_ALIAS):
    """A Django cursor whose statements PostgreSQL prepares, for SELECTs run on every request.

    Errors are wrapped and queries logged (django_assert_num_queries counts them) as
    with connection.cursor(), which it is when preparing is off for the connection.
    """
    connection = connections[using]
    connection.ensure_connection()
    if connection.connection.prepare_threshold is None:
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.validate_thread_sharing()
    raw = _PreparingCursor(connection.connection)
    cursor = connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
    with cursor:
        yield cursor
