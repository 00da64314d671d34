"""Two web nodes that share only the database, the file storage and the cache backend.

Two gunicorn processes stand in for two machines behind a load balancer: each has its own memory
and its own worker processes; they share the PostgreSQL database, one MEDIA_ROOT directory (a
network file system in a real deployment) and the configured cache (PostgreSQL's `portal_cache`
table, or Redis). A user signs in on one node and goes on on the other; a document uploaded
through one is downloaded through the other; a page cached by one is served by the other and
both serve the new version after an edit; the anonymous rate limit counts the requests of both.
"""

from __future__ import annotations

import re
import time
from contextlib import ExitStack

import psycopg
import pytest
import redis
import requests
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings

from accounts.models import Membership
from accounts.services import user_with_role_ensure
from gis_portal.settings.env import CACHE_TABLE, cache_from_url
from layers.models import Region
from parcels.models import Parcel, ParcelDocument
from parcels.services import parcel_create
from tests.live_server import database_url, gunicorn_server
from tests.parcels.conftest import base_data, facility_in, square

pytestmark = pytest.mark.django_db

PASSWORD = "two-nodes-pw-12345!"
REDIS_URL = "redis://127.0.0.1:6379/15"
PDF = b"%PDF-1.4\n% two nodes\n" + b"0" * 2048 + b"\n%%EOF\n"
THROTTLE = 12  # anonymous API requests per minute, counted over both nodes


@pytest.fixture(scope="module")
def shared_world(django_db_setup, django_db_blocker):
    """Committed before the tests' transactions: an akimat of Astana, a parcel of its region, the cache table."""
    with django_db_blocker.unblock():
        with override_settings(CACHES={"default": cache_from_url("db://")}):
            call_command("createcachetable", verbosity=0)
        user_with_role_ensure(
            username="two_nodes_akimat", role=Membership.Role.AKIMAT, region_kato="710000000", password=PASSWORD
        )
        user_with_role_ensure(username="two_nodes_admin", role=Membership.Role.ADMIN, password=PASSWORD)
        facility = facility_in(Region.objects.get(kato="710000000"), index=2)
        parcel = parcel_create(
            user=get_user_model().objects.get(username="two_nodes_admin"),
            facility=facility,
            geom=square(facility.location, 150),
            data=base_data(cadastral_number="21-999-999-999"),
        ).obj
        url = "postgresql://" + database_url().split("://", 1)[1]
    yield {"parcel": parcel, "dsn": url}
    with django_db_blocker.unblock():
        ParcelDocument.objects.filter(parcel=parcel).delete()
        Parcel.objects.filter(pk=parcel.pk).delete()


def committed(dsn: str, sql: str, params: list | None = None) -> list[tuple]:
    """Run `sql` on its own autocommit connection: outside the test's transaction, so the nodes see it."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(sql, params or [])
        return cursor.fetchall() if cursor.description else []


def _cache_clear(cache_url: str, dsn: str) -> None:
    if cache_url.startswith("redis://"):
        redis.Redis.from_url(cache_url).flushdb()
    else:
        committed(dsn, f"DELETE FROM {CACHE_TABLE}")  # noqa: S608 - constant table name


def _sign_in(session: requests.Session, base: str) -> None:
    session.get(base + "/en/accounts/login/", timeout=30)
    response = session.post(
        base + "/en/accounts/login/",
        data={
            "username": "two_nodes_akimat",
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:500]


@pytest.mark.parametrize("cache_url", ["db://", REDIS_URL], ids=["postgresql-cache", "redis-cache"])
def test_two_nodes_share_sessions_files_cache_and_rate_limits(cache_url, shared_world, django_db_blocker, tmp_path):
    if cache_url.startswith("redis://"):
        try:
            redis.Redis.from_url(cache_url).ping()
        except redis.ConnectionError:
            pytest.fail("Redis does not answer on 127.0.0.1:6379; scripts/test starts Debian's redis-server")
    dsn, parcel = shared_world["dsn"], shared_world["parcel"]
    media = tmp_path / "shared-media"
    media.mkdir()
    env = {
        "CACHE_URL": cache_url,
        "MEDIA_ROOT": str(media),
        "API_ANON_THROTTLE_RATE": f"{THROTTLE}/min",
        "API_RESPONSE_CACHE_SECONDS": "300",
    }
    with ExitStack() as stack:
        node_a, node_b = (
            stack.enter_context(
                gunicorn_server(
                    name=f"node-{name}",
                    ports=range(8191 + 5 * i, 8196 + 5 * i),
                    ready_path="/healthz",
                    django_db_blocker=django_db_blocker,
                    extra_env=env,
                    workers=2,
                )
            )
            for i, name in enumerate("ab")
        )
        _cache_clear(cache_url, dsn)  # the rate limit counts from here

        # A session made on node A is valid on node B (sessions live in the database).
        user = requests.Session()
        _sign_in(user, node_a)
        assert user.get(node_b + "/en/parcels/", timeout=30).status_code == 200

        # A scan uploaded through node A is downloaded through node B.
        upload = user.post(
            node_a + f"/en/parcels/{parcel.pk}/documents/",
            data={"title": "act scan", "kind": "act"},
            files={"file": ("act.pdf", PDF, "application/pdf")},
            headers={"X-CSRFToken": user.cookies["csrftoken"]},
            allow_redirects=False,
            timeout=30,
        )
        assert upload.status_code == 302
        document = ParcelDocument.objects.get(parcel=parcel)
        assert (media / document.file.name).is_file()
        download = user.get(node_b + f"/en/parcels/documents/{document.pk}/", timeout=30)
        assert download.status_code == 200 and download.content == PDF

        # A page cached by node A is served by node B: the same bytes, timeStamp included. Behind a
        # load balancer both nodes see the same Host (the cached body holds absolute links).
        anonymous = requests.Session()
        anonymous.headers["Host"] = "localhost"
        url = "/api/v1/facilities/?limit=3&sortby=id"
        first = anonymous.get(node_a + url, timeout=30)
        time.sleep(1.2)  # a page built anew would carry a later timeStamp
        second = anonymous.get(node_b + url, timeout=30)
        assert first.status_code == second.status_code == 200
        assert first.content == second.content, "node B did not serve node A's cached page"
        stamp = re.search(rb'"timeStamp": "([^"]+)"', first.content).group(1).decode()

        # After an edit both nodes serve the new version.
        [(renamed_id, old_name)] = committed(dsn, "SELECT id, name_en FROM facilities_facility ORDER BY id LIMIT 1")
        new_name = f"{old_name} (renamed)"
        committed(
            dsn, "UPDATE facilities_facility SET name_en = %s, updated_at = now() WHERE id = %s", [new_name, renamed_id]
        )
        try:
            for base in (node_a, node_b):
                page = anonymous.get(base + url, timeout=30)
                assert page.status_code == 200 and new_name in page.text and stamp not in page.text
        finally:
            committed(dsn, "UPDATE facilities_facility SET name_en = %s WHERE id = %s", [old_name, renamed_id])

        # The anonymous rate limit counts the requests of both nodes: 4 so far; the limit is reached at
        # request THROTTLE + 1 whichever node gets it (counters per node would allow 2 × THROTTLE).
        codes = [
            anonymous.get((node_a if n % 2 else node_b) + "/api/v1/regions/?limit=1", timeout=30).status_code
            for n in range(5, THROTTLE + 2)
        ]
        assert codes == [200] * (THROTTLE - 4) + [429], codes
        refused = anonymous.get(node_a + "/api/v1/regions/?limit=1", timeout=30)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        committed(dsn, "DELETE FROM parcels_parceldocument WHERE parcel_id = %s", [parcel.pk])
