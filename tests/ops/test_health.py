"""/healthz and /readyz for load balancers (gis_portal/health.py)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from tests.live_server import gunicorn_server

pytestmark = pytest.mark.django_db


def _queued(*, age_seconds: float, status: str = "READY") -> DBTaskResult:
    task = DBTaskResult.objects.create(
        status=status,
        args_kwargs={"args": [], "kwargs": {}},
        task_path="accessibility.tasks.run_analysis",
        queue_name="default",
        backend_name="default",
        run_after=get_date_max(),
        exception_class_path="",
        traceback="",
    )
    DBTaskResult.objects.filter(pk=task.pk).update(enqueued_at=timezone.now() - timedelta(seconds=age_seconds))
    return task


def test_healthz_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readyz_reports_each_check(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "migrations", "job_queue"}
    assert all(check["ok"] for check in body["checks"].values())


def test_readyz_fails_when_a_queued_job_waits_too_long(client, settings):
    settings.READYZ_MAX_QUEUE_AGE_SECONDS = 600
    _queued(age_seconds=300)
    assert client.get("/readyz").status_code == 200
    _queued(age_seconds=900)
    response = client.get("/readyz")
    assert response.status_code == 503
    check = response.json()["checks"]["job_queue"]
    assert not check["ok"] and "900 s" in check["detail"] and "worker" in check["detail"]


def test_readyz_ignores_running_and_finished_jobs(client, settings):
    settings.READYZ_MAX_QUEUE_AGE_SECONDS = 60
    _queued(age_seconds=3600, status="RUNNING")
    _queued(age_seconds=3600, status="SUCCESSFUL")
    assert client.get("/readyz").status_code == 200


def test_probes_by_ip_address_are_answered_despite_allowed_hosts(client):
    # A load balancer probes http://10.0.0.5:8000/readyz; ALLOWED_HOSTS would answer 400 to that Host.
    assert client.get("/en/", HTTP_HOST="10.0.0.5").status_code == 400
    assert client.get("/healthz", HTTP_HOST="10.0.0.5").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.0.0.5").status_code == 200


def test_only_get_and_head_are_probes(client):
    assert client.head("/readyz").status_code == 200
    assert client.post("/healthz").status_code == 404


def test_a_node_without_its_database_is_alive_but_not_ready(django_db_blocker):
    # A real server whose database does not answer: liveness stays 200, readiness names the cause.
    with gunicorn_server(
        name="health-nodb",
        ports=range(8181, 8190),
        ready_path="/healthz",
        django_db_blocker=django_db_blocker,
        extra_env={"DATABASE_URL": "postgis://nobody@127.0.0.1:1/none"},
        workers=1,
    ) as base:
        with urllib.request.urlopen(base + "/healthz", timeout=10) as response:  # noqa: S310 - local server
            assert response.status == 200
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(base + "/readyz", timeout=30)  # noqa: S310 - local server
        assert error.value.code == 503
        body = json.loads(error.value.read())
        assert body["status"] == "unavailable"
        assert body["checks"]["database"]["ok"] is False and "unreachable" in body["checks"]["database"]["detail"]
