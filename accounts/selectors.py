"""Reads of the accounts app."""

from __future__ import annotations

import functools

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


def token_user_get(*, key: str) -> tuple | None:
    """(user, token) for an API token key, the user's Membership (or its absence) loaded; None if unknown.

    The same rows as Token.objects.select_related("user", "user__membership").get(key=key),
    read with SQL written once from the models' metadata: the ORM compiled that three-table
    join anew on every API request, which cost more than running it (scripts/bench/api.py).
    """
    user_model = get_user_model()
    models = (Token, user_model, Membership)
    with prepared_cursor() as cursor:
        cursor.execute(_token_user_sql(), [key])
        row = cursor.fetchone()
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
