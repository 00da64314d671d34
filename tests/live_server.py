"""A real gunicorn process serving the pytest database, for browser, GDAL-client and load tests.

tests/conftest.py commits the reference data, boundaries and demo facilities to the test
database, so a separate server process sees them. Each suite passes its own port range so
suites started in parallel by different developers do not collide.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def free_port(ports: range) -> int:
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


def database_url() -> str:
    """DATABASE_URL of the database this test session uses (the pytest test database)."""
    cfg = connection.settings_dict
    user = cfg.get("USER") or ""
    password = f":{cfg['PASSWORD']}" if cfg.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = (cfg.get("HOST") or "127.0.0.1").replace("/", "%2F")
    port = f":{cfg['PORT']}" if cfg.get("PORT") else ""
    return f"postgis://{auth}{host}{port}/{cfg['NAME']}"


@contextmanager
def gunicorn_server(
    *,
    name: str,
    ports: range,
    ready_path: str,
    django_db_blocker,
    extra_env: dict[str, str] | None = None,
    workers: int = 2,
    access_log: Path | None = None,
) -> Iterator[str]:
    """Start gunicorn on a free port of `ports`, wait until `ready_path` answers 200, yield the base URL.

    `access_log`: a file for gunicorn's access log (one line per request: method, path and query,
    status), for tests that count what a client asked for.

    The server's log goes to test-artifacts/<name>-server.log. On exit the process is stopped and
    we wait for its database sessions to end, so pytest can drop the test database afterwards.
    """
    with django_db_blocker.unblock():
        url = database_url()
    port = free_port(ports)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "gis_portal.settings.test",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    log = ROOT / "test-artifacts" / f"{name}-server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    argv = [gunicorn, "gis_portal.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "120"]
    if access_log is not None:
        argv += ["--access-logfile", str(access_log)]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + ready_path, timeout=30) as response:  # noqa: S310 - local server
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"the test server did not start; see {log}:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            for _ in range(50):
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                if cursor.fetchone()[0] == 0:
                    break
                time.sleep(0.1)
