"""scripts/docker-entrypoint.sh against a new, empty database, as a container start runs it.

Web (SETUP=1) migrates and loads reference data, the bundled boundaries and the population
figures; a second start changes nothing. Demo data only when asked, and only once: a restart
keeps its ids. Worker and scheduler (SETUP=0) wait for the migrations and say so when they never come.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.live_server import database_url

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "scripts" / "docker-entrypoint.sh"
TABLES = (
    "layers_region",
    "layers_district",
    "layers_settlement",
    "layers_populationfigure",
    "facilities_measure",
    "facilities_facility",
    "parcels_parcel",
    "tracking_plan",
)


@pytest.fixture
def empty_database(django_db_blocker):
    with django_db_blocker.unblock():
        test_url = database_url()
    name = f"entrypoint_{uuid.uuid4().hex[:8]}"
    url = test_url.rsplit("/", 1)[0] + "/" + name
    subprocess.run(
        [sys.executable, "scripts/dbsetup.py"], cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, check=True
    )
    yield url
    server = "postgresql://" + test_url.split("://", 1)[1].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start(url: str, *command: str, **env: str) -> subprocess.CompletedProcess:
    """The entry point as the image runs it: production settings, `python` of the image on PATH."""
    base = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "SECRET_KEY")}
    full_env = {
        **base,
        "PATH": f"{Path(sys.executable).parent}:{base.get('PATH', '')}",
        "DJANGO_SETTINGS_MODULE": "gis_portal.settings.production",
        "SECRET_KEY": "entrypoint-" + "0123456789" * 5,
        "ALLOWED_HOSTS": "localhost",
        "DATABASE_URL": url,
        **env,
    }
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *command], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=900
    )


def counts(url: str) -> dict[str, int]:
    with psycopg.connect("postgresql://" + url.split("://", 1)[1]) as conn:
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLES}  # noqa: S608


def ids(url: str, table: str) -> list[int]:
    with psycopg.connect("postgresql://" + url.split("://", 1)[1]) as conn:
        return [r[0] for r in conn.execute(f'SELECT id FROM "{table}" ORDER BY id')]  # noqa: S608


def test_web_start_sets_up_everything_idempotently_and_demo_only_once(empty_database):
    # A worker started before the web service waits for the migrations, then gives up with a reason.
    waiting = start(empty_database, "echo", "worker started", SETUP="0", SETUP_WAIT_SECONDS="5")
    assert waiting.returncode == 1 and "migrations still not applied" in waiting.stderr

    first = start(empty_database, "echo", "serving")
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.rstrip().endswith("serving"), "the command runs after the set-up"
    after_first = counts(empty_database)
    assert after_first["layers_region"] == 20 and after_first["layers_district"] == 224
    # 351 GeoNames places and 9 899 OpenStreetMap places (data/NOTICE.md).
    assert after_first["layers_settlement"] == 351 + 9899 and after_first["facilities_measure"] == 26
    assert after_first["layers_populationfigure"] > 400, "official population figures are loaded"
    assert after_first["facilities_facility"] == 0, "no demo data unless asked"
    with psycopg.connect("postgresql://" + empty_database.split("://", 1)[1]) as conn:
        unpolygoned = conn.execute("SELECT count(*) FROM layers_region WHERE geom IS NULL").fetchone()[0]
        assert unpolygoned == 0, "every region has its polygon from the bundled boundaries"
        assert conn.execute("SELECT to_regclass('portal_cache') IS NOT NULL").fetchone()[0]

    second = start(empty_database, "true")
    assert second.returncode == 0, second.stderr[-3000:]
    assert counts(empty_database) == after_first

    demo = start(empty_database, "true", LOAD_DEMO_DATA="1")
    assert demo.returncode == 0, demo.stderr[-3000:]
    facilities = ids(empty_database, "facilities_facility")
    assert len(facilities) == 150 and counts(empty_database)["parcels_parcel"] > 0
    restarted = start(empty_database, "true", LOAD_DEMO_DATA="1")
    assert restarted.returncode == 0 and "demo data already present" in restarted.stdout
    assert ids(empty_database, "facilities_facility") == facilities, "a restart keeps the demo data and its ids"

    # Worker and scheduler start at once when the migrations are there.
    worker = start(empty_database, "echo", "worker started", SETUP="0")
    assert worker.returncode == 0 and worker.stdout.strip() == "worker started"
