"""Start gunicorn with the production settings against a prepared database (for scripts/fuzz and load.py).

Production profile as deployed (DEBUG off, ManifestStaticFilesStorage after collectstatic, CSP, HSTS),
with three local differences, each for a reason: SECURE_SSL_REDIRECT=0 (no TLS proxy in front of
127.0.0.1), ALLOWED_HOSTS=127.0.0.1, and high API throttles, because every request of the fuzzer
comes from one address or one token and we test the application, not the throttle. A caller may set its
own environment instead (`Server(env=...)`): load.py keeps the production limit and says how.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
PORTS = range(8151, 8160)
DEFAULT_DB = "postgis://root@127.0.0.1:5432/gis_portal_fuzzsrv"
LOADERS = [
    "load_reference_data",
    "load_default_boundaries",
    "load_demo_data",
    "load_demo_parcels",
    "load_demo_tracking",
]


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def server_env(database_url: str, static_root: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "gis_portal.settings.production",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-" + "k9x2m4q7w1" * 6),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_ROOT": static_root,
        "API_ANON_THROTTLE_RATE": "1000000/min",
        "API_USER_THROTTLE_RATE": "1000000/min",
        "API_TOKEN_THROTTLE_RATE": "1000000/min",  # the fuzzer signs in with an admin token
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def manage(*args: str, env: dict[str, str], quiet: bool = True) -> str:
    result = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"manage.py {' '.join(args)} failed ({result.returncode})")
    return result.stdout


def database_prepare(env: dict[str, str]) -> None:
    """Create the database, migrate and load the roadmap, boundaries and DEMO data (idempotent loaders)."""
    subprocess.run([PY, "scripts/dbsetup.py"], cwd=ROOT, env=env, check=True)
    manage("migrate", "--noinput", "-v0", env=env)
    # The default cache (CACHE_URL unset: db://) lives in this table; without it every cached page fails.
    manage("createcachetable", env=env)
    for loader in LOADERS:
        print(f"  {loader}", flush=True)
        manage(loader, env=env)


# Run by database_problem inside the server's settings: prints what a bench run needs and lacks.
_READINESS = """
from django.conf import settings
from django.db import connection
from facilities.models import Facility
cache = settings.CACHES["default"]
table = cache["LOCATION"] if cache["BACKEND"].endswith("DatabaseCache") else None
missing = []
if table and table not in connection.introspection.table_names():
    missing.append("cache table")
if not Facility.objects.filter(location__isnull=False).exists():
    missing.append("demo data")
print("missing:" + ",".join(missing))
"""


def database_problem(env: dict[str, str]) -> str | None:
    """What the database at env's DATABASE_URL lacks for a bench run, in words; None when it is ready."""
    name = env["DATABASE_URL"].rsplit("/", 1)[-1]
    hint = "run with --prepare (creates it, migrates, creates the cache table and loads the demo data)"
    check = subprocess.run(
        [PY, "manage.py", "migrate", "--check", "--noinput"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if check.returncode != 0:
        output = check.stdout + check.stderr
        if "does not exist" in output:
            return f"the database {name} does not exist: {hint}"
        if "could not connect" in output.lower() or "connection refused" in output.lower():
            return f"PostgreSQL does not answer at {env['DATABASE_URL']}: start it, then {hint}"
        return f"the database {name} has unapplied migrations: {hint}"
    found = subprocess.run(
        [PY, "manage.py", "shell", "-v", "0", "-c", _READINESS], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if found.returncode != 0:
        return f"the database {name} could not be checked ({found.stderr.strip().splitlines()[-1:]}): {hint}"
    # The shell may print notes of its own: the check's answer is its "missing:" line.
    lines = [line for line in found.stdout.splitlines() if line.startswith("missing:")]
    if not lines:
        return f"the database {name} could not be checked (no answer from manage.py shell): {hint}"
    missing = lines[-1].removeprefix("missing:")
    return f"the database {name} lacks the {missing.replace(',', ' and the ')}: {hint}" if missing else None


def admin_token(env: dict[str, str], username: str = "fuzz_admin") -> str:
    """A committed admin user with a DRF token; prints only the token key."""
    code = (
        "from accounts.models import Membership; from accounts.services import user_with_role_ensure; "
        "from rest_framework.authtoken.models import Token; "
        "from django.contrib.auth import get_user_model; "
        f"user_with_role_ensure(username={username!r}, role=Membership.Role.ADMIN); "
        f"u = get_user_model().objects.get(username={username!r}); "
        "print(Token.objects.get_or_create(user=u)[0].key)"
    )
    return manage("shell", "-c", code, env=env).strip().splitlines()[-1]


class Server:
    """gunicorn (production settings) on a free port in 8151-8159; stopped by PID on exit."""

    def __init__(
        self, database_url: str = DEFAULT_DB, workers: int = 3, threads: int = 1, env: dict[str, str] | None = None
    ):
        self.database_url = database_url
        self.workers = workers
        self.threads = threads
        self.static_root = tempfile.mkdtemp(prefix="gis_portal_static_")
        self.env = {**server_env(database_url, self.static_root), **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.base = ""
        self.log = ROOT / "test-artifacts" / "prodserver.log"

    def start(self) -> str:
        manage("collectstatic", "--noinput", "-v0", env=self.env)
        # The default cache is the database's table (CACHE_URL unset): every API request reads and
        # writes its throttle count there, so it must exist, as docker-entrypoint.sh makes sure.
        manage("createcachetable", env=self.env)
        port = free_port()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [GUNICORN, "gis_portal.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(self.workers),
                 "--threads", str(self.threads), "--timeout", "60"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.proc.returncode}); see {self.log}")
            try:
                with urllib.request.urlopen(self.base + "/api/v1/schema/", timeout=30) as response:  # noqa: S310
                    if response.status == 200:
                        return self.base
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"gunicorn did not answer within 60 s; see {self.log}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
