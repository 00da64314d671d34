#!/usr/bin/env python
"""Benchmark of the GeoJSON API (issues 6 and 21). Prints one figure a line.

Loads 1 000 synthetic facilities and 10 000 synthetic land parcels into the portal's
own tables (facilities_facility, parcels_parcel — with their constraints, history
triggers and the generated GeoJSON column) of a SEPARATE database (gis_portal_bench,
or BENCH_DATABASE_URL): each facility has one current parcel and nine revoked
candidate sites. Starts gunicorn on it (gthread, 2 workers x 4 threads) in the deployed
configuration of what a request costs: the shared cache of production (CACHE_URL, default
db://, where the fair-use throttle counts) and throttling on, at rates the bench's one
address and token never reach (api_settings.py). Measures over HTTP, as a planner with a token:

- the peers a ministry would otherwise deploy, on the SAME table (parcels_parcel), with the same
  worker counts, the parcels collection's columns as properties, the same bbox and limits:
  tipg (uvicorn, 2 workers) and pygeoapi (PostgreSQL provider, config and OpenAPI document
  written to a temporary folder, gunicorn gthread 2 x 4). They are installed from PyPI, pinned
  in peers-requirements.txt, into the bench's own virtualenv ~/.cache/gis_portal/bench-peers/
  (outside the repository, BENCH_PEERS_VENV moves it; created on first use), never into the
  portal's requirements. Every server must return the same feature ids for the bbox query,
  else the bench stops. Then, in one run: bbox latency over interleaved rounds (--rounds,
  default 51) of ours, tipg, pygeoapi and the raw SQL reading the stored GeoJSON column (and,
  for the record, the raw SQL reading the stored properties as well, as the endpoint does: the
  ratio to it is the fixed cost of a request) and, as the floor of any Python server in front of the
  database, our page's body served from memory by the same gunicorn settings (static_body.py: no
  Django, no database); --clients x --load-seconds of load on the bbox
  query each (errors counted); the whole collection in pages of 1 000 following next links. Prints the figures,
  the ratios (`bbox latency ours/tipg: 0.27`, `throughput ours/tipg: 4.4`, the pygeoapi ones,
  `bbox endpoint/raw SQL stored: 1.18`) and each goal with PASS/FAIL: bbox latency <= 0.3 x
  tipg, throughput >= 4 x tipg, bbox endpoint <= 1.25 x raw SQL stored, 0 errors. The exit
  status is 1 when a goal fails. `--peers-only` stops after this part;
- /api/v1/parcels/ for the full collection and for a bbox query vs raw SQL
  `json_agg(ST_AsGeoJSON(t.*))` over the same rows and properties
  (`ratio endpoint/raw_sql`, goal <= 1.3); also vs the best raw SQL reading the
  stored GeoJSON column (what remains is the cost of serving over HTTP);
- the same for a plain drf-gis GeoFeatureModelSerializer list view (the control);
- a keyset page at row 9 000 vs page 1 (and the OFFSET page, for comparison);
- requests/s, p50 and p99 latency and errors under concurrent load on the public
  facilities endpoint (Python threads), with the page cache off (every request builds
  its page) and on (the default).

HTTP requests reuse a kept-alive connection per client thread and server, as QGIS, GDAL and
wrk do, and as the raw SQL side reuses its database connection. The ratios are paired or
interleaved measurements, so that load from other processes weighs on both sides alike.

Usage: .venv/bin/python scripts/bench/api.py [--load-seconds 20] [--clients 16] [--port 8118]
           [--rounds 51] [--peers-only] [--skip-load-data]
(ours on --port, tipg on --port + 1, pygeoapi on --port + 2, the static body on --port + 3)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import psycopg

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = Path(__file__).resolve().parent
PY = sys.executable


def bench_url() -> str:
    if os.environ.get("BENCH_DATABASE_URL"):
        return os.environ["BENCH_DATABASE_URL"]
    base = os.environ.get("DATABASE_URL", "postgis://root@127.0.0.1:5432/gis_portal")
    return base.rsplit("/", 1)[0] + "/gis_portal_bench"


def connect_params(url: str) -> dict:
    cfg = dj_database_url.parse(url)
    params = {
        "host": cfg.get("HOST"),
        "port": cfg.get("PORT"),
        "user": cfg.get("USER"),
        "password": cfg.get("PASSWORD"),
    }
    return {k: v for k, v in params.items() if v} | {"dbname": cfg["NAME"]}


BENCH_USER = "bench_planner"


def prepare_database(url: str) -> None:
    """Create the bench database, migrate it and load the synthetic rows."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "gis_portal.settings.test"}
    subprocess.run([PY, "scripts/dbsetup.py"], cwd=ROOT, env=env, check=True)  # noqa: S603
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)  # noqa: S603
    subprocess.run([PY, "manage.py", "load_reference_data", "-v0"], cwd=ROOT, env=env, check=True)  # noqa: S603
    cache_env = {**env, "CACHE_URL": cache_url()}  # the shared cache's table (db://), as deployed
    subprocess.run([PY, "manage.py", "createcachetable"], cwd=ROOT, env=cache_env, check=True)  # noqa: S603
    with psycopg.connect(**connect_params(url), autocommit=True) as conn:
        conn.execute("SELECT setseed(0.191)")
        conn.execute("DROP TABLE IF EXISTS bench_parcel")  # left by earlier versions of this script
        conn.execute("TRUNCATE facilities_facility, parcels_parcel CASCADE")
        conn.execute(
            """INSERT INTO facilities_facility (kind_id, measure_id, region_id, name_kk, name_ru, name_en, places,
                   is_ppp, location, planned_year, is_demo, reference, funding_source, contractor_name,
                   contractor_bin, finances_published, created_at, updated_at)
               SELECT q.object_kind_id, q.measure_id, r.id, 'Нысан ' || i, 'Объект ' || i, 'Facility ' || i,
                      50 + (i * 37) % 450, i % 7 = 0,
                      ST_SetSRID(ST_MakePoint(52 + random() * 30, 42 + random() * 12), 4326),
                      2024 + i % 3, true, '', '', '', '', false, now(), now()
               FROM generate_series(1, 1000) AS i
               JOIN LATERAL (SELECT * FROM facilities_constructionquota ORDER BY measure_id
                             OFFSET i % 13 LIMIT 1) AS q ON true
               JOIN LATERAL (SELECT * FROM layers_region ORDER BY kato OFFSET i % 20 LIMIT 1) AS r ON true"""
        )
        # Parcels of 1-6 ha: 17-vertex rings (buffers with 4 segments a quadrant) scattered over
        # Kazakhstan; parcel i belongs to facility i mod 1000, the last one of each facility is current.
        conn.execute(
            """WITH f AS (SELECT id, region_id, row_number() OVER (ORDER BY id) - 1 AS n FROM facilities_facility)
               INSERT INTO parcels_parcel (facility_id, region_id, cadastral_number, geom, declared_area_ha,
                   computed_area_ha, area_srid, land_category, right_type, act_number, issuing_akimat, status,
                   notes, is_demo, version, created_at, updated_at)
               SELECT f.id, f.region_id,
                      format('%s-%s-%s-%s', lpad((i % 20 + 1)::text, 2, '0'), lpad((i % 300)::text, 3, '0'),
                             lpad((i % 997)::text, 3, '0'), lpad(i::text, 4, '0')),
                      ST_Multi(s.g), round((ST_Area(s.g::geography) / 10000)::numeric, 4),
                      round((ST_Area(s.g::geography) / 10000)::numeric, 4), 32642, 'settlement', 'temporary_free', '',
                      '', CASE WHEN i > 9000 THEN (ARRAY['candidate', 'allocated'])[1 + i % 2] ELSE 'revoked' END,
                      '', true, 1, now(), now() - make_interval(mins => i)
               FROM (SELECT i, ST_Buffer(
                                   ST_SetSRID(ST_MakePoint(52 + random() * 30, 42 + random() * 12), 4326)::geography,
                                   60 + random() * 80, 'quad_segs=4')::geometry AS g
                     FROM generate_series(1, 10000) AS i) AS s
               JOIN f ON f.n = (s.i - 1) % 1000"""
        )
        conn.execute("VACUUM ANALYZE parcels_parcel")
        conn.execute("VACUUM ANALYZE facilities_facility")


def bench_token(url: str) -> str:
    """The API token of the bench's planner (parcels are read by signed-in users only)."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "gis_portal.settings.test"}
    made = subprocess.run(  # noqa: S603 - fixed argv
        [PY, "manage.py", "shell", "-c", TOKEN_SCRIPT], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return made.stdout.strip().splitlines()[-1]


TOKEN_SCRIPT = f"""
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from accounts.models import Membership
user, _ = User.objects.get_or_create(username="{BENCH_USER}")
Membership.objects.update_or_create(user=user, defaults={{"role": Membership.Role.PLANNER, "region": None}})
print(Token.objects.get_or_create(user=user)[0].key)
"""


def start_server(url: str, port: int, *, cache_seconds: int = 0) -> subprocess.Popen:
    """gunicorn on the bench database in the deployed configuration of what a request costs: the
    shared cache of production (CACHE_URL, default db://, the one the fair-use throttle counts in),
    throttling on at rates the bench's one address and token never reach (api_settings)."""
    env = {
        **os.environ,
        "API_RESPONSE_CACHE_SECONDS": str(cache_seconds),
        "CACHE_URL": cache_url(),
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "api_settings",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(BENCH_DIR)]),  # the api package before api.py
    }
    process = start_gunicorn(Path(PY).parent, port, "gis_portal.wsgi:application", cwd=ROOT, env=env)
    return wait_ready(process, port, "/ogc/conformance", "the bench server")


def start_gunicorn(bin_dir: Path, port: int, app: str, *, cwd: Path, env: dict) -> subprocess.Popen:
    """gunicorn of `bin_dir` serving `app`, with the worker settings every gunicorn of the bench shares
    (gthread, 2 workers x 4 threads): ours, pygeoapi and the static body."""
    command = [str(bin_dir / "gunicorn"), "-b", f"127.0.0.1:{port}", "-k", "gthread", "-w", "2", "--threads", "4"]
    forget(port)
    return subprocess.Popen(  # noqa: S603 - fixed argv
        [*command, "--timeout", "120", "--log-level", "warning", app], cwd=cwd, env=env
    )


def cache_url() -> str:
    return os.environ.get("CACHE_URL", "db://")


def wait_ready(process: subprocess.Popen, port: int, path: str, name: str) -> subprocess.Popen:
    for _ in range(300):
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with status {process.returncode} before answering")
        try:
            status, _body = get(port, path)
            if status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"{name} did not answer 200 on {path} within 60 s")


HEADERS = {"Accept": "application/geo+json, application/json"}


_connections = threading.local()


def get(port: int, path: str) -> tuple[int, bytes]:
    """GET over a kept-alive HTTP/1.1 connection of this thread to `port`, as QGIS, GDAL and wrk do
    (the raw SQL side keeps its database connection open too). A connection the server
    closed while idle is replaced once, as HTTP client pools do."""
    pool = _connections.__dict__.setdefault("by_port", {})
    for attempt in (1, 2):
        conn = pool.get(port)
        reused = conn is not None
        if conn is None:
            conn = pool[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("GET", path, headers=HEADERS)
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            pool.pop(port, None)
            if reused and attempt == 1:
                continue
            raise
        if response.will_close:
            conn.close()
            pool.pop(port, None)
        return response.status, body
    raise AssertionError("unreachable")


def forget(port: int) -> None:
    """A new server on `port`: this thread's kept-alive connection to the old one is gone."""
    pool = _connections.__dict__.setdefault("by_port", {})
    conn = pool.pop(port, None)
    if conn is not None:
        conn.close()


def timed(fn, repeat: int = 7) -> float:
    """Median wall time in seconds of `fn` after two warm-up calls."""
    fn()
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def paired(fn_a, fn_b, repeat: int = 9) -> tuple[float, float]:
    """Median times of `fn_a` and `fn_b`, measured alternately so that load from other
    processes on the machine weighs on both alike."""
    for fn in (fn_a, fn_b, fn_a, fn_b):
        fn()
    a, b = [], []
    for _ in range(repeat):
        for fn, samples in ((fn_a, a), (fn_b, b)):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)


def endpoint(port: int, path: str):
    def call():
        status, body = get(port, path)
        assert status == 200, (path, status, body[:300])
        return body

    return call


# The rows and properties the endpoint serves (parcels/collections.py, collection `parcels`); the region's and
# district's KATO codes are columns of the parcel (parcels migration 0012), read as the endpoint reads them.
PARCEL_ROWS = """
    SELECT p.id, p.facility_id AS facility, p.region_kato AS region, p.district_kato AS district,
           p.cadastral_number, p.status, p.declared_area_ha, p.computed_area_ha, p.land_category, p.right_type,
           p.act_number, p.act_date, p.is_demo, p.version, p.updated_at, {geometry}
    FROM parcels_parcel p
"""
PROPERTIES = (
    "json_build_object('facility', t.facility, 'region', t.region, 'district', t.district, 'cadastral_number', "
    "t.cadastral_number, 'status', t.status, 'declared_area_ha', t.declared_area_ha, 'computed_area_ha', "
    "t.computed_area_ha, 'land_category', t.land_category, 'right_type', t.right_type, 'act_number', t.act_number, "
    "'act_date', t.act_date, 'is_demo', t.is_demo, 'version', t.version, 'updated_at', t.updated_at)"
)
RAW_SQL = {
    # What the issue names: json_agg(ST_AsGeoJSON(row)) with 6 decimals, nothing else.
    "plain": """
        SELECT json_build_object('type', 'FeatureCollection',
               'features', COALESCE(json_agg(ST_AsGeoJSON(t.*, 'geom', 6)::json), '[]'::json))::text
        FROM ({rows} {where} ORDER BY p.id) AS t
    """.replace("{rows}", PARCEL_ROWS.format(geometry="p.geom")),
    # The best raw SQL on the same table: features concatenated as text around the stored GeoJSON
    # column. The endpoint minus this is what serving over HTTP costs.
    "stored": f"""
        SELECT '{{"type": "FeatureCollection", "features": [' || COALESCE(string_agg('{{"type": "Feature", "id": '
               || t.id || ', "geometry": ' || COALESCE(t.geom_geojson, 'null') || ', "properties": '
               || {PROPERTIES}::text || '}}', ', '), '') || ']}}'
        FROM ({{rows}} {{where}} ORDER BY p.id) AS t
    """.replace("{rows}", PARCEL_ROWS.format(geometry="p.geom_geojson")),  # noqa: S608 - constant SQL
    # The same, reading the stored properties too (parcels.models.PARCEL_STORED_PROPERTIES, which
    # the endpoint reads): what the endpoint costs beyond the database's work for the same page.
    "stored properties": """
        SELECT '{"type": "FeatureCollection", "features": [' || COALESCE(string_agg('{"type": "Feature", "id": '
               || t.id || ', "geometry": ' || COALESCE(t.geom_geojson, 'null') || ', "properties": {'
               || t.properties_json || '}}', ', '), '') || ']}'
        FROM (SELECT p.id, p.geom_geojson, p.properties_json FROM parcels_parcel p {where} ORDER BY p.id) AS t
    """,
}


def raw_sql(url: str, where: str = "", params: tuple = (), *, variant: str = "plain"):
    conn = psycopg.connect(**connect_params(url), autocommit=True)
    statement = RAW_SQL[variant].replace("{where}", where)

    def call():
        return conn.execute(statement, params).fetchone()[0]

    return call


def load(port: int, path: str, *, seconds: float, clients: int) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker():
        local, failed = [], 0
        while time.perf_counter() < stop:
            start = time.perf_counter()
            try:
                status, _ = get(port, path)
                if status != 200:
                    failed += 1
            except OSError:
                failed += 1
            local.append(time.perf_counter() - start)
        with lock:
            latencies.extend(local)
            errors[0] += failed

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    begin = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - begin
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2],
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "errors": errors[0],
    }


# --- Peers: what a ministry would otherwise deploy over the same table ------------------------------

# Outside the repository: third-party code (and its own references to paths beside it) stays out of the
# project's tree; BENCH_PEERS_VENV moves it. Never the portal's .venv.
PEERS_VENV = Path(
    os.environ.get("BENCH_PEERS_VENV")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gis_portal" / "bench-peers"
)
PEERS_REQUIREMENTS = BENCH_DIR / "peers-requirements.txt"
# The parcels collection's properties (parcels/collections.py, `parcels`): the table's own columns, the region's
# and district's KATO codes included.
PEER_PROPERTIES = (
    "facility_id,region_kato,district_kato,cadastral_number,status,declared_area_ha,computed_area_ha,"
    "land_category,right_type,act_number,act_date,is_demo,version,updated_at"
)


def interpreter() -> str:
    """The CPython build this bench runs on (its base installation, not the virtualenv), e.g.
    "CPython 3.11.2 at /usr". Interpreter builds differ in speed (an optimised build, as Debian's and the
    Docker image's, runs Python code faster than one compiled without PGO/LTO), so the peers run on the same."""
    return f"{platform.python_implementation()} {platform.python_version()} at {sys.base_prefix}"


def peers_python() -> Path:
    """The peers' virtualenv, created from PyPI on first use, on the interpreter the bench runs on
    (made again when the pinned list or that interpreter changes)."""
    python = PEERS_VENV / "bin" / "python"
    stamp = PEERS_VENV / "requirements.installed"
    wanted = f"# {interpreter()}\n{PEERS_REQUIREMENTS.read_text()}"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"creating {PEERS_VENV}/ from {PEERS_REQUIREMENTS.relative_to(ROOT)} on {interpreter()}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEERS_VENV)], check=True)  # noqa: S603 - fixed argv
    subprocess.run(  # noqa: S603 - fixed argv
        [str(python), "-m", "pip", "install", "-q", "-r", str(PEERS_REQUIREMENTS)], check=True
    )
    stamp.write_text(wanted)
    return python


def libpq_url(url: str) -> str:
    cfg = connect_params(url)
    auth = cfg.get("user", "") + (f":{cfg['password']}" if cfg.get("password") else "")
    host = f"{cfg.get('host', '127.0.0.1')}:{cfg.get('port', 5432)}"
    return f"postgresql://{auth}@{host}/{cfg['dbname']}"


def start_tipg(url: str, port: int) -> subprocess.Popen:
    """tipg (FastAPI + asyncpg) on the bench database, only parcels_parcel published, 2 workers."""
    bin_dir = peers_python().parent
    env = {
        **os.environ,
        "DATABASE_URL": libpq_url(url),
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": '["public.parcels_parcel"]',
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
    }
    command = [str(bin_dir / "uvicorn"), "tipg.main:app", "--host", "127.0.0.1", "--port", str(port)]
    forget(port)
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [*command, "--workers", "2", "--log-level", "warning", "--no-access-log"], cwd=PEERS_VENV, env=env
    )
    return wait_ready(process, port, "/collections/public.parcels_parcel", "tipg")


def pygeoapi_config(url: str, port: int) -> str:
    cfg = connect_params(url)
    data = {
        "host": cfg.get("host", "127.0.0.1"),
        "port": int(cfg.get("port") or 5432),
        "dbname": cfg["dbname"],
        "user": cfg.get("user", ""),
        "password": cfg.get("password", ""),
        "search_path": ["public"],
    }
    config = {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": f"http://127.0.0.1:{port}",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "limits": {"default_items": 10, "max_items": 10000},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OpenStreetMap"},
            "pretty_print": False,
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "bench",
                "description": "gis_portal bench peer",
                "keywords": ["bench"],
                "keywords_type": "theme",
                "terms_of_service": "https://example.org",
                "url": "https://example.org",
            },
            "license": {"name": "CC-BY 4.0", "url": "https://creativecommons.org/licenses/by/4.0/"},
            "provider": {"name": "bench", "url": "https://example.org"},
            "contact": {"name": "bench", "email": "bench@example.org", "role": "pointOfContact"},
        },
        "resources": {
            "parcels": {
                "type": "collection",
                "title": "parcels",
                "description": "parcels_parcel of the bench database",
                "keywords": ["parcels"],
                "extents": {
                    "spatial": {"bbox": [46, 40, 88, 56], "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}
                },
                "providers": [
                    {
                        "type": "feature",
                        "name": "PostgreSQL",
                        "data": data,
                        "id_field": "id",
                        "table": "parcels_parcel",
                        "geom_field": "geom",
                        "properties": PEER_PROPERTIES.split(","),
                    }
                ],
            }
        },
    }
    return json.dumps(config, indent=1)  # JSON is YAML


def start_pygeoapi(url: str, port: int, workdir: Path) -> subprocess.Popen:
    """pygeoapi (Flask) with its PostgreSQL provider on parcels_parcel, gunicorn gthread 2 x 4 as ours."""
    bin_dir = peers_python().parent
    config = workdir / "pygeoapi-config.yml"
    openapi = workdir / "pygeoapi-openapi.yml"
    config.write_text(pygeoapi_config(url, port))
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    subprocess.run(  # noqa: S603 - fixed argv
        [str(bin_dir / "pygeoapi"), "openapi", "generate", str(config), "--output-file", str(openapi)],
        env=env,
        check=True,
        capture_output=True,
    )
    process = start_gunicorn(bin_dir, port, "pygeoapi.flask_app:APP", cwd=workdir, env=env)
    return wait_ready(process, port, "/collections/parcels?f=json", "pygeoapi")


def feature_ids(body: bytes) -> list[int]:
    return [int(f["id"]) for f in json.loads(body)["features"]]


def next_path(body: bytes) -> str | None:
    """The path and query of a page's `next` link (rel=next, a GeoJSON or JSON one)."""
    for link in json.loads(body).get("links", []):
        if link.get("rel") == "next" and link.get("type", GEOJSON_TYPE) in (GEOJSON_TYPE, "application/json"):
            parts = urlsplit(link["href"])
            return f"{parts.path}?{parts.query}"
    return None


GEOJSON_TYPE = "application/geo+json"


def walk(port: int, first: str) -> list[int]:
    """Every feature id of a collection, following next links from `first`."""
    ids: list[int] = []
    path: str | None = first
    while path:
        body = endpoint(port, path)()
        ids.extend(feature_ids(body))
        path = next_path(body)
    return ids


def peers(url: str, *, port: int, parcels: int, load_seconds: float, clients: int, rounds: int) -> bool:
    """Ours, tipg and pygeoapi on the same table: same ids, latency, load, whole collection. True if all goals pass."""
    bbox = (66.0, 46.0, 70.0, 50.0)
    bbox_text = ",".join(str(v) for v in bbox)
    props = PEER_PROPERTIES
    envelope = "ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
    where = f"WHERE p.geom && {envelope} AND ST_Intersects(p.geom, {envelope})"
    servers = {
        "ours": (port, f"/api/v1/parcels/?limit=10000&bbox={bbox_text}", "/api/v1/parcels/?limit=1000"),
        "tipg": (
            port + 1,
            f"/collections/public.parcels_parcel/items?f=geojson&limit=10000&bbox={bbox_text}&properties={props}",
            f"/collections/public.parcels_parcel/items?f=geojson&limit=1000&properties={props}",
        ),
        "pygeoapi": (
            port + 2,
            f"/collections/parcels/items?f=json&limit=10000&bbox={bbox_text}",
            "/collections/parcels/items?f=json&limit=1000",
        ),
    }
    processes = []
    with tempfile.TemporaryDirectory(prefix="gis_portal_bench_peers_") as workdir:
        try:
            processes.append(start_server(url, port))  # page cache off: every request builds its page
            processes.append(start_tipg(url, port + 1))
            processes.append(start_pygeoapi(url, port + 2, Path(workdir)))
            static = start_static(servers["ours"], port + 3, Path(workdir))
            processes.append(static)
            return _peers_measure(
                url, servers, where, bbox, parcels, load_seconds, clients, rounds, static_port=port + 3
            )
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)


def start_static(ours: tuple, port: int, workdir: Path) -> subprocess.Popen:
    """gunicorn, with our server's settings, answering every GET with our bbox page's body from memory."""
    body = workdir / "body.geojson"
    status, content = get(ours[0], ours[1])
    if status != 200:
        raise SystemExit(f"our bbox page answered {status}")
    body.write_bytes(content)
    env = {**os.environ, "BENCH_STATIC_BODY": str(body)}
    process = start_gunicorn(Path(PY).parent, port, "static_body:application", cwd=BENCH_DIR, env=env)
    return wait_ready(process, port, "/", "the static body server")


def _peers_measure(url, servers, where, bbox, parcels, load_seconds, clients, rounds, *, static_port: int) -> bool:
    expected = None
    for name, (port, bbox_path, _first) in servers.items():
        ids = sorted(feature_ids(endpoint(port, bbox_path)()))
        if expected is None:
            expected = ids
        elif ids != expected:
            raise SystemExit(
                f"{name} returns other features for the bbox query than ours: {len(ids)} vs {len(expected)} "
                f"(first differences: {sorted(set(ids) ^ set(expected))[:10]})"
            )
    print(f"peers: tipg and pygeoapi return the same {len(expected)} feature ids as ours for the bbox query")

    calls = {name: endpoint(port, bbox_path) for name, (port, bbox_path, _f) in servers.items()}
    calls["raw SQL stored"] = raw_sql(url, where, (*bbox, *bbox), variant="stored")
    calls["raw SQL stored properties"] = raw_sql(url, where, (*bbox, *bbox), variant="stored properties")
    calls["static body"] = endpoint(static_port, "/")
    samples: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for fn in calls.values():  # warm-up: connections, prepared statements, worker imports
        fn()
        fn()
    for i in range(rounds):
        # Interleaved and rotated, so that load from elsewhere on the machine weighs on every server alike.
        for name in names[i % len(names) :] + names[: i % len(names)]:
            start = time.perf_counter()
            calls[name]()
            samples[name].append(time.perf_counter() - start)
    latency = {name: statistics.median(values) for name, values in samples.items()}
    print(
        f"bbox latency ({len(expected)} features, {rounds} interleaved rounds, median): "
        + "; ".join(f"{name} {value * 1000:.1f} ms" for name, value in latency.items())
    )

    stats = {}
    for name, (port, bbox_path, _first) in servers.items():
        stats[name] = load(port, bbox_path, seconds=load_seconds, clients=clients)
        forget(port)
        result = stats[name]
        print(
            f"load bbox {name}, {clients} clients x {load_seconds:.0f} s: {result['requests']} requests, "
            f"{result['rps']:.1f} req/s, p50 {result['p50'] * 1000:.1f} ms, p99 {result['p99'] * 1000:.1f} ms, "
            f"errors {result['errors']}"
        )

    whole = {}
    for name, (port, _bbox, first) in servers.items():
        ids = walk(port, first)
        if len(ids) != parcels or len(set(ids)) != parcels:
            raise SystemExit(
                f"{name}: the pages of 1 000 gave {len(ids)} features ({len(set(ids))} distinct), "
                f"not the {parcels} parcels"
            )
        whole[name] = timed(lambda port=port, first=first: walk(port, first), repeat=3)
    print(
        f"whole collection ({parcels} features) in pages of 1 000 following next links: "
        + "; ".join(f"{name} {value:.2f} s" for name, value in whole.items())
    )

    for peer in ("tipg", "pygeoapi"):
        print(f"bbox latency ours/{peer}: {latency['ours'] / latency[peer]:.2f}")
        print(f"throughput ours/{peer}: {stats['ours']['rps'] / stats[peer]['rps']:.1f}")
        print(f"whole collection ours/{peer}: {whole['ours'] / whole[peer]:.2f}")
    stored_ratio = latency["ours"] / latency["raw SQL stored"]
    print(f"bbox endpoint/raw SQL stored: {stored_ratio:.2f}")
    # No goal: the endpoint reads the stored properties, this raw SQL too, so what is left is the
    # fixed cost of a request (HTTP, Django, DRF, token, throttle, keys).
    print(
        "bbox endpoint/raw SQL reading the stored geometry and properties: "
        f"{latency['ours'] / latency['raw SQL stored properties']:.2f} "
        f"(+{(latency['ours'] - latency['raw SQL stored properties']) * 1000:.1f} ms a request)"
    )
    # No goal either: what any Python server in front of the database costs at least, measured in
    # the same rounds. The static body is our page served by the same gunicorn settings from memory
    # (static_body.py), with no Django and no database; the database's least work for the page is
    # the raw SQL reading the stored columns the endpoint reads.
    floor = latency["raw SQL stored properties"] + latency["static body"]
    print(
        f"floor: raw SQL stored properties {latency['raw SQL stored properties'] * 1000:.1f} ms + the same body "
        f"served from memory by the same gunicorn settings, no Django, {latency['static body'] * 1000:.1f} ms "
        f"= {floor * 1000:.1f} ms = {floor / latency['raw SQL stored']:.2f} x raw SQL stored"
    )
    errors = sum(result["errors"] for result in stats.values())
    goals = [
        ("bbox latency <= 0.3 x tipg", latency["ours"] <= 0.3 * latency["tipg"]),
        ("throughput >= 4 x tipg", stats["ours"]["rps"] >= 4 * stats["tipg"]["rps"]),
        ("bbox endpoint <= 1.25 x raw SQL stored", stored_ratio <= 1.25),
        (f"0 errors under load ({errors})", errors == 0),
    ]
    for goal, passed in goals:
        print(f"{'PASS' if passed else 'FAIL'}: {goal}")
    return all(passed for _goal, passed in goals)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8118)
    parser.add_argument("--load-seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--skip-load-data", action="store_true", help="reuse the bench database as it is")
    parser.add_argument("--peers-only", action="store_true", help="only the comparison with tipg and pygeoapi")
    parser.add_argument("--rounds", type=int, default=51, help="interleaved rounds of the peers' bbox latency")
    args = parser.parse_args()
    url = bench_url()
    if not args.skip_load_data:
        prepare_database(url)
    token = bench_token(url)
    HEADERS["Authorization"] = f"Token {token}"
    with psycopg.connect(**connect_params(url), autocommit=True) as conn:
        parcels = conn.execute("SELECT count(*) FROM parcels_parcel").fetchone()[0]
        facilities = conn.execute("SELECT count(*) FROM facilities_facility").fetchone()[0]
        row_9000 = conn.execute("SELECT id FROM parcels_parcel ORDER BY id OFFSET 8999 LIMIT 1").fetchone()[0]
    print(f"database: {urlsplit(url).path.lstrip('/')}; parcels: {parcels}; facilities: {facilities}")
    print(f"our server: cache {cache_url()} (throttle counters in it), throttling on at rates not reached")
    print(f"interpreter: {interpreter()} (gunicorn, the peers and this client)")
    passed = peers(
        url, port=args.port, parcels=parcels, load_seconds=args.load_seconds, clients=args.clients, rounds=args.rounds
    )
    if args.peers_only:
        return 0 if passed else 1
    server = start_server(url, args.port)  # page cache off: every request builds its page
    try:
        bbox = (66.0, 46.0, 70.0, 50.0)
        bbox_text = ",".join(str(v) for v in bbox)
        envelope = "ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
        where = f"WHERE p.geom && {envelope} AND ST_Intersects(p.geom, {envelope})"
        bbox_rows = raw_sql(url, where, (*bbox, *bbox))().count('"Feature"')
        full_path = "/api/v1/parcels/?limit=10000"
        bbox_path = f"/api/v1/parcels/?limit=10000&bbox={bbox_text}"
        full_raw, full_api = paired(raw_sql(url), endpoint(args.port, full_path))
        # ~15 ms a request: many pairs, so that a burst of load elsewhere on the machine moves the medians little.
        bbox_raw, bbox_api = paired(raw_sql(url, where, (*bbox, *bbox)), endpoint(args.port, bbox_path), repeat=101)
        full_stored, full_api2 = paired(raw_sql(url, variant="stored"), endpoint(args.port, full_path))
        bbox_stored, bbox_api2 = paired(
            raw_sql(url, where, (*bbox, *bbox), variant="stored"), endpoint(args.port, bbox_path), repeat=101
        )
        full_raw2, full_drf = paired(raw_sql(url), endpoint(args.port, "/bench/drfgis/"), repeat=3)
        bbox_raw2, bbox_drf = paired(
            raw_sql(url, where, (*bbox, *bbox)), endpoint(args.port, f"/bench/drfgis/?bbox={bbox_text}")
        )
        size = len(endpoint(args.port, full_path)())

        print(f"full collection ({parcels} polygons, {size / 1e6:.1f} MB): raw_sql {full_raw * 1000:.0f} ms")
        print(f"full collection: endpoint {full_api * 1000:.0f} ms; ratio endpoint/raw_sql: {full_api / full_raw:.2f}")
        print(f"bbox query ({bbox_rows} polygons): raw_sql {bbox_raw * 1000:.1f} ms")
        print(f"bbox query: endpoint {bbox_api * 1000:.1f} ms; ratio endpoint/raw_sql: {bbox_api / bbox_raw:.2f}")
        print(
            f"full collection vs raw SQL reading the stored GeoJSON ({full_stored * 1000:.0f} ms): "
            f"endpoint {full_api2 * 1000:.0f} ms; ratio endpoint/raw_sql_stored: {full_api2 / full_stored:.2f}"
        )
        print(
            f"bbox query vs raw SQL reading the stored GeoJSON ({bbox_stored * 1000:.1f} ms): "
            f"endpoint {bbox_api2 * 1000:.1f} ms; ratio endpoint/raw_sql_stored: {bbox_api2 / bbox_stored:.2f}"
        )
        print(
            f"control drf-gis full collection: {full_drf * 1000:.0f} ms; "
            f"ratio endpoint/raw_sql: {full_drf / full_raw2:.2f}"
        )
        print(
            f"control drf-gis bbox query: {bbox_drf * 1000:.1f} ms; ratio endpoint/raw_sql: {bbox_drf / bbox_raw2:.2f}"
        )
        print(f"drf-gis / this API, full collection: {full_drf / full_api:.1f}x slower")

        # Keyset: follow the API's own next links to the page that starts after row 9 000.
        path = "/api/v1/parcels/?limit=1000"
        for _ in range(9):
            path = json.loads(endpoint(args.port, path)())["next"].split(f":{args.port}", 1)[1]
        deep = path.replace("limit=1000", "limit=100")
        deep_first = json.loads(endpoint(args.port, deep)())["features"][0]["id"]
        assert deep_first > row_9000, (deep_first, row_9000)
        first, keyset = paired(endpoint(args.port, "/api/v1/parcels/?limit=100"), endpoint(args.port, deep), 21)
        first2, offset = paired(
            endpoint(args.port, "/api/v1/parcels/?limit=100"),
            endpoint(args.port, "/api/v1/parcels/?limit=100&offset=9000"),
            21,
        )
        print(f"page 1 (100 features): {first * 1000:.1f} ms")
        print(f"page at row 9000, keyset cursor: {keyset * 1000:.1f} ms; ratio deep/first: {keyset / first:.2f}")
        print(f"page at row 9000, offset: {offset * 1000:.1f} ms; ratio deep/first: {offset / first2:.2f}")
    finally:
        server.terminate()
        server.wait(timeout=30)

    public = "/api/v1/facilities/?limit=1000"
    for cache_seconds in (0, 300):
        server = start_server(url, args.port, cache_seconds=cache_seconds)
        try:
            stats = load(args.port, public, seconds=args.load_seconds, clients=args.clients)
        finally:
            server.terminate()
            server.wait(timeout=30)
        label = "page cache on" if cache_seconds else "page cache off"
        print(
            f"load {public} ({facilities} facilities, anonymous, {label}), "
            f"{args.clients} clients x {args.load_seconds:.0f} s: {stats['requests']} requests"
        )
        print(f"requests/s ({label}): {stats['rps']:.1f}")
        print(f"p50 latency ({label}): {stats['p50'] * 1000:.1f} ms")
        print(f"p99 latency ({label}): {stats['p99'] * 1000:.1f} ms")
        print(f"errors ({label}): {stats['errors']}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
