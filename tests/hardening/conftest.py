"""A gunicorn subprocess serving the test database (the browser CSP test and the short load run).

The server reads the rows tests/conftest.py committed; the admin it signs in as is committed here.
The anonymous API throttle is lifted for it: the short load run sends hundreds of requests a second
from one address and must measure the application, not the throttle.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(8151, 8160)
ADMIN_PASSWORD = "csp-admin-pw-12345!"


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8151-8159")


def _database_url() -> str:
    cfg = connection.settings_dict
    auth = (cfg.get("USER") or "") + (f":{cfg['PASSWORD']}" if cfg.get("PASSWORD") else "")
    host = (cfg.get("HOST") or "127.0.0.1").replace("/", "%2F")
    port = f":{cfg['PORT']}" if cfg.get("PORT") else ""
    return f"postgis://{auth + '@' if auth else ''}{host}{port}/{cfg['NAME']}"


@pytest.fixture(scope="session")
def hardening_server(django_db_setup, django_db_blocker):
    from accounts.models import Membership
    from accounts.services import user_with_role_ensure

    with django_db_blocker.unblock():
        user_with_role_ensure(username="csp_admin", role=Membership.Role.ADMIN, password=ADMIN_PASSWORD)
        url = _database_url()
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "gis_portal.settings.test",
        "API_ANON_THROTTLE_RATE": "1000000/min",
    }
    log = ROOT / "test-artifacts" / "hardening-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "gis_portal.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--timeout", "60"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/en/accounts/login/", timeout=30) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the test server did not start; see {log}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            for _ in range(50):  # let the server's sessions end so the test database can be dropped
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                if cursor.fetchone()[0] == 0:
                    break
                time.sleep(0.1)
