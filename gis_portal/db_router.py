"""Read replica for the read-only API and the public map pages (DATABASE_REPLICA_URL).

Only GET/HEAD requests under /api/v1/, /ogc/ and /tiles/ and the public map and embed read the
portal's data (regions, facilities, parcels, plans, analyses) from the replica. Everything else
uses the primary: every write, every page that may be followed by a write, and the tables of
sessions, users, roles and tokens (a new session or token must work at once, whatever the
replication lag). Without DATABASE_REPLICA_URL neither the router nor the alias exists and all
of this is inert.
"""

from __future__ import annotations

import re
from contextvars import ContextVar

from django.conf import settings

REPLICA = "replica"
# The apps whose tables a read-only request may read from the replica.
REPLICA_APPS = frozenset({"layers", "facilities", "parcels", "tracking", "accessibility"})
READ_ONLY_PATHS = re.compile(r"^/(?:api/v1|ogc|tiles)/|^/[a-z]{2}/maps/public/(?:embed/)?$")

_use_replica: ContextVar[bool] = ContextVar("use_replica", default=False)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def read_alias() -> str:
    """The alias that raw SQL of the current request's reads should use ("replica" or "default")."""
    return REPLICA if _use_replica.get() and replica_configured() else "default"


class ReadReplicaRouter:
    def db_for_read(self, model, **hints):
        if _use_replica.get() and model._meta.app_label in REPLICA_APPS:
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same database (one is a copy of the other).
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


class ReadReplicaMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        use = (
            replica_configured()
            and request.method in ("GET", "HEAD")
            and READ_ONLY_PATHS.match(request.path) is not None
        )
        token = _use_replica.set(use)
        try:
            return self.get_response(request)
        finally:
            _use_replica.reset(token)
