"""Health endpoints for load balancers and orchestrators.

- ``/healthz``: the process answers (liveness). No database access, so a database outage does
  not make every node restart at once.
- ``/readyz``: the node can serve (readiness): the database answers, every migration is applied,
  and the oldest background job waiting for a worker is younger than
  READYZ_MAX_QUEUE_AGE_SECONDS (a stuck or missing worker shows here). 503 otherwise, with the
  failing check named in the JSON body.

Both are answered by a middleware placed before host validation and the HTTPS redirect: probes
arrive by IP address over plain HTTP, which ALLOWED_HOSTS and SECURE_SSL_REDIRECT would refuse.
They reveal nothing beyond up/down, the check names and the queue age in seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Case, F, Min, When
from django.db.models.functions import Greatest
from django.http import HttpResponse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

PATHS = ("/healthz", "/readyz")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


# Once every migration is applied it stays applied for the life of this process (a deployment
# that adds migrations restarts the processes), so a passing result is not recomputed.
_migrations_applied = False


def database_check() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return Check("database", False, f"unreachable: {exc.__class__.__name__}")
    return Check("database", True, "reachable")


def migrations_check() -> Check:
    global _migrations_applied
    if not _migrations_applied:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            return Check("migrations", False, f"{len(pending)} not applied")
        _migrations_applied = True
    return Check("migrations", True, "applied")


def job_queue_age_seconds() -> float:
    """Seconds the oldest runnable, not yet started background job has waited (0 when none waits)."""
    # A job deferred with run_after waits from that moment, not from when it was queued.
    waiting_since = Case(
        When(run_after=get_date_max(), then=F("enqueued_at")),
        default=Greatest(F("enqueued_at"), F("run_after")),
    )
    oldest = DBTaskResult.objects.ready().aggregate(oldest=Min(waiting_since))["oldest"]
    return max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0


def job_queue_check() -> Check:
    limit = settings.READYZ_MAX_QUEUE_AGE_SECONDS
    age = job_queue_age_seconds()
    if age > limit:
        return Check("job_queue", False, f"oldest queued job waits {age:.0f} s (limit {limit} s): is a worker running?")
    return Check("job_queue", True, f"oldest queued job waits {age:.0f} s")


def readiness() -> list[Check]:
    """The checks of /readyz, in order; later checks are skipped when the database is unreachable."""
    database = database_check()
    if not database.ok:
        return [database]
    try:
        return [database, migrations_check(), job_queue_check()]
    except DatabaseError as exc:
        return [database, Check("database", False, f"query failed: {exc.__class__.__name__}")]


def _json(status: int, body: dict) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path not in PATHS or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        if request.path == "/healthz":
            return _json(200, {"status": "ok"})
        checks = readiness()
        ok = all(c.ok for c in checks)
        body = {
            "status": "ok" if ok else "unavailable",
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
        }
        return _json(200 if ok else 503, body)
