"""Reads of the accounts app."""

from __future__ import annotations

import functools
import threading
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from rest_framework.authtoken.models import Token

from accounts.models import Membership
from gis_portal.db import prepared_cursor


def _columns(model, alias: str) -> str:
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


@functools.cache
def _token_user_sql() -> str:
    """The token → user → membership join, written from the models' metadata (no user text)."""
    user_model = get_user_model()
    user_pk = f'u."{user_model._meta.pk.column}"'
    columns = f"{_columns(Token, 't')}, {_columns(user_model, 'u')}, {_columns(Membership, 'm')}"
    tables = (
        f'"{Token._meta.db_table}" t JOIN "{user_model._meta.db_table}" u ON {user_pk} = t."{Token.user.field.column}" '
        f'LEFT JOIN "{Membership._meta.db_table}" m ON m."{Membership.user.field.column}" = {user_pk}'
    )
    return f'SELECT {columns} FROM {tables} WHERE t."{Token._meta.pk.column}" = %s'  # noqa: S608


# Token rows read in the last API_TOKEN_CACHE_SECONDS, per process: key -> (read at, row). The row, not
# model instances: every request builds its own user, so no object is shared between threads.
_token_rows: dict[str, tuple[float, tuple]] = {}
_token_rows_lock = threading.Lock()
_TOKEN_ROWS_MAX = 10_000
_clock = time.monotonic  # tests move it


def _token_row(key: str) -> tuple | None:
    """The token → user → membership row of `key`, from this process's cache when read recently.

    A revoked token, a deactivated user or a changed role is seen within API_TOKEN_CACHE_SECONDS
    (default 1 s) by every process: the bound the cache keeps, documented in the README. Unknown keys
    are never cached (a token made a moment ago works at once).
    """
    seconds = settings.API_TOKEN_CACHE_SECONDS
    now = _clock()
    if seconds > 0:
        cached = _token_rows.get(key)
        if cached is not None and now - cached[0] < seconds:
            return cached[1]
    with prepared_cursor() as cursor:
        cursor.execute(_token_user_sql(), [key])
        row = cursor.fetchone()
    if row is not None and seconds > 0:
        with _token_rows_lock:
            if len(_token_rows) >= _TOKEN_ROWS_MAX:
                for stale in [k for k, (at, _row) in _token_rows.items() if now - at >= seconds]:
                    del _token_rows[stale]
                if len(_token_rows) >= _TOKEN_ROWS_MAX:
                    _token_rows.clear()
            _token_rows[key] = (now, tuple(row))
    return row


def token_rows_forget() -> None:
    """Drop this process's cached token rows (tests; a process that must see a revocation at once)."""
    with _token_rows_lock:
        _token_rows.clear()


def token_user_get(*, key: str) -> tuple | None:
    """(user, token) for an API token key, the user's Membership (or its absence) loaded; None if unknown.

    The same rows as Token.objects.select_related("user", "user__membership").get(key=key),
    read with SQL written once from the models' metadata: the ORM compiled that three-table
    join anew on every API request, which cost more than running it (scripts/bench/api.py).
    The row is reused for API_TOKEN_CACHE_SECONDS (_token_row): under load the round trip to
    the database was the dearest part of a request's fixed cost (issue 21, py-spy of the bench).
    """
    user_model = get_user_model()
    models = (Token, user_model, Membership)
    row = _token_row(key)
    if row is None:
        return None
    instances = []
    for model in models:
        fields = model._meta.concrete_fields
        values, row = row[: len(fields)], row[len(fields) :]
        if model is Membership and values[0] is None:
            instances.append(None)  # no membership: the LEFT JOIN gave NULLs
            continue
        instances.append(model.from_db(connection.alias, [f.attname for f in fields], values))
    token, user, membership = instances
    Token.user.field.set_cached_value(token, user)
    # Cached like select_related does, None included: user.membership then needs no query
    # (and raises RelatedObjectDoesNotExist when there is none).
    user_model.membership.related.set_cached_value(user, membership)
    if membership is not None:
        Membership.user.field.set_cached_value(membership, user)
    return user, token
