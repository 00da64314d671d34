"""Reads behind the cached public map: the version of the public data and the cached bodies.

Every model whose change can alter what the public map shows (facilities, consolidated plans and
their items, tracked facilities, stage records, parcels and infrastructure routes, which decide the
lifecycle stage) is tracked by django-pghistory: a database trigger appends an event row, with an
increasing `pgh_id`, on every insert, update and delete, whatever wrote it (services, admin, raw
SQL). The newest event id of each table, read in one statement, is therefore a version stamp that
changes with the public data and needs no bumping by the services (nor signals). Statuses also
depend on the day (a date passing makes a stage overdue), so the stamp carries today's date.
Names of kinds and regions, region outlines and the administrator's base layers are not tracked:
the cached bodies expire after settings.PUBLIC_MAP_CACHE_SECONDS, so such edits show within that time.

The cache is the default one (settings.CACHES): the database table by default, Redis with
CACHE_URL=redis://...; either is shared by every worker and node.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from facilities.models import Facility
from parcels.models import InfrastructureLink, Parcel
from tracking.models import Plan, PlanItem, StageRecord, TrackedFacility

# Models whose pghistory events (insert, update, delete) change the public map.
_TRACKED = (Facility, Plan, PlanItem, TrackedFacility, StageRecord, Parcel, InfrastructureLink)


def _event_tables() -> list[str]:
    return [model.pgh_event_models[key]._meta.db_table for model in _TRACKED for key in model.pgh_event_models]


def public_data_version() -> str:
    """A short stamp that changes whenever the public map's data change (one SQL statement)."""
    tables = sorted(set(_event_tables()))
    # Table names come from the models' metadata, never from input.
    sql = "SELECT " + ", ".join(f"(SELECT max(pgh_id) FROM {connection.ops.quote_name(t)})" for t in tables)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    stamp = ".".join(str(value or 0) for value in row)
    return hashlib.sha256(f"{timezone.localdate().isoformat()}|{stamp}".encode()).hexdigest()[:20]


# Bumped whenever the shape of a cached value changes: the shared cache outlives a deployment, and a new
# release must not read the entries an older one stored.
CACHE_FORMAT = 2


def cache_key(*, kind: str, version: str, variant: str) -> str:
    """Key of a cached public-map body: its kind (page, geojson), the data version and the request's variant."""
    digest = hashlib.sha256(f"{version}|{variant}".encode()).hexdigest()
    return f"maps:public:v{CACHE_FORMAT}:{kind}:{digest}"


def cached(key: str):
    return cache.get(key)


def cache_store(key: str, value) -> None:
    cache.set(key, value, settings.PUBLIC_MAP_CACHE_SECONDS)
