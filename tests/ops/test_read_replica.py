"""A read replica (DATABASE_REPLICA_URL) serves the read-only API and the public map; everything else the primary.

The replica here is the test database reached through a second connection that PostgreSQL makes
read-only for every transaction (default_transaction_read_only, as a hot standby refuses writes)
and that names itself in pg_stat_activity (application_name): a write sent to it would fail, and
the connections the server opened to it can be counted.
"""

from __future__ import annotations

import psycopg
import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection

from accounts.models import Membership
from accounts.services import user_with_role_ensure
from facilities.models import Facility
from gis_portal import db_router
from layers.models import Region
from tests.live_server import database_url, gunicorn_server

pytestmark = pytest.mark.django_db

APP_NAME = "gis_portal_replica_test"
READ_ONLY = "options=-c%20default_transaction_read_only%3Don"
PASSWORD = "replica-pw-12345!"


def test_router_sends_only_data_reads_of_read_only_requests_to_the_replica():
    router = db_router.ReadReplicaRouter()
    assert router.db_for_read(Facility) is None
    token = db_router._use_replica.set(True)
    try:
        assert router.db_for_read(Facility) == "replica"
        assert router.db_for_read(Region) == "replica"
        # Users, roles and sessions: always the primary (a new session must work at once).
        assert router.db_for_read(get_user_model()) is None
        assert router.db_for_read(Membership) is None
        assert router.db_for_write(Facility) == "default"
    finally:
        db_router._use_replica.reset(token)
    assert router.allow_migrate("replica", "facilities") is False


@pytest.mark.parametrize(
    ("path", "replica"),
    [
        ("/api/v1/facilities/", True),
        ("/ogc/collections/facilities/items", True),
        ("/tiles/facilities/5/20/11.pbf", True),
        ("/en/maps/public/", True),
        ("/kk/maps/public/embed/", True),
        ("/en/maps/", False),
        ("/en/parcels/", False),
        ("/en/admin/", False),
        ("/en/accounts/login/", False),
    ],
)
def test_read_only_paths(path, replica):
    assert (db_router.READ_ONLY_PATHS.match(path) is not None) is replica


def test_without_a_replica_everything_reads_the_primary():
    # This process has no DATABASE_REPLICA_URL: even a read-only request's raw SQL uses the primary.
    token = db_router._use_replica.set(True)
    try:
        assert db_router.read_alias() == "default"
    finally:
        db_router._use_replica.reset(token)


@pytest.fixture(scope="module")
def replica_user(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        user_with_role_ensure(username="replica_planner", role=Membership.Role.PLANNER, password=PASSWORD)


def test_a_server_reads_public_data_from_the_replica_and_writes_to_the_primary(django_db_blocker, replica_user):
    with django_db_blocker.unblock():
        primary = database_url()
    replica = f"{primary}?application_name={APP_NAME}&{READ_ONLY}"
    # The replica connection really refuses writes.
    with psycopg.connect("postgresql://" + replica.split("://", 1)[1]) as conn:
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TEMP TABLE t (x int)")
    with gunicorn_server(
        name="replica",
        ports=range(8231, 8240),
        ready_path="/healthz",
        django_db_blocker=django_db_blocker,
        extra_env={"DATABASE_REPLICA_URL": replica, "API_RESPONSE_CACHE_SECONDS": "0"},
        workers=1,
    ) as base:
        web = requests.Session()
        for path in (
            "/api/v1/facilities/?limit=5",
            "/ogc/collections/facilities/items?limit=5",
            "/api/v1/regions/?limit=2",
            "/en/maps/public/",
        ):
            response = web.get(base + path, timeout=60)
            assert response.status_code == 200, (path, response.text[:300])
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND datname = current_database()",
                [APP_NAME],
            )
            assert cursor.fetchone()[0] >= 1, "the server never opened a replica connection"
        # Writes (a sign-in writes the session) go to the primary, and a signed-in page works at once.
        web.get(base + "/en/accounts/login/", timeout=30)
        signed_in = web.post(
            base + "/en/accounts/login/",
            data={"username": "replica_planner", "password": PASSWORD, "csrfmiddlewaretoken": web.cookies["csrftoken"]},
            allow_redirects=False,
            timeout=30,
        )
        assert signed_in.status_code == 302
        assert web.get(base + "/en/tracking/", timeout=60).status_code == 200
        # The API read by a signed-in user (its token or session on the primary, its data on the replica).
        assert web.get(base + "/api/v1/parcels/?limit=1", timeout=60).status_code == 200
