#!/usr/bin/env python
"""Benchmark of the GeoJSON API (issue 6). Prints one figure a line.

Loads 1 000 synthetic facilities and 10 000 synthetic land parcels into the portal's
own tables (facilities_facility, parcels_parcel — with their constraints, history
triggers and the generated GeoJSON column) of a SEPARATE database (gis_portal_bench,
or BENCH_DATABASE_URL): each facility has one current parcel and nine revoked
candidate sites. Starts gunicorn on it and measures over HTTP, as a planner with a token:

- /api/v1/parcels/ for the full collection and for a bbox query vs raw SQL
  `json_agg(ST_AsGeoJSON(t.*))` over the same rows and properties
  (`ratio endpoint/raw_sql`, goal <= 1.3); also vs the best raw SQL reading the
  stored GeoJSON column (what remains is the cost of serving over HTTP);
- the same for a plain drf-gis GeoFeatureModelSerializer list view (the control);
- a keyset page at row 9 000 vs page 1 (and the OFFSET page, for comparison);
- requests/s, p50 and p99 latency and errors under concurrent load on the public
  facilities endpoint (Python threads; gunicorn gthread, 2 workers x 4 threads),
  with the page cache off (every request builds its page) and on (the default).

HTTP requests reuse a kept-alive connection per client thread, as QGIS, GDAL and wrk
do, and as the raw SQL side reuses its database connection.

Usage: .venv/bin/python scripts/bench/api.py [--load-seconds 20] [--clients 16] [--port 8118]
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
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
    with psycopg.connect(**connect_params(url), autocommit=True) as conn:
        conn.execute("SELECT setseed(0.191)")
        conn.execute("DROP TABLE IF EXISTS bench_parcel")  # left by earlier versions of this script
        conn.execute("TRUNCATE facilities_facility, parcels_parcel CASCADE")
        conn.execute(
            """INSERT INTO facilities_facility (kind_id, measure_id, region_id, name_kk, name_ru, name_en, places,
                   is_ppp, location, planned_year, is_demo, created_at, updated_at)
               SELECT q.object_kind_id, q.measure_id, r.id, 'Нысан ' || i, 'Объект ' || i, 'Facility ' || i,
                      50 + (i * 37) % 450, i % 7 = 0,
                      ST_SetSRID(ST_MakePoint(52 + random() * 30, 42 + random() * 12), 4326),
                      2024 + i % 3, true, now(), now()
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
    env = {
        **os.environ,
        "API_RESPONSE_CACHE_SECONDS": str(cache_seconds),
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "api_settings",
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(BENCH_DIR)]),  # the api package before api.py
    }
    gunicorn = Path(PY).parent / "gunicorn"
    command = [str(gunicorn), "-b", f"127.0.0.1:{port}", "-k", "gthread", "-w", "2", "--threads", "4"]
    _connections.conn = None  # a new server: this thread's kept-alive connection is gone
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [*command, "--timeout", "120", "--log-level", "warning", "gis_portal.wsgi:application"],
        cwd=ROOT,
        env=env,
    )
    for _ in range(150):
        try:
            status, _body = get(port, "/ogc/conformance")
            if status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("the bench server did not start")


HEADERS = {"Accept": "application/geo+json, application/json"}


_connections = threading.local()


def get(port: int, path: str) -> tuple[int, bytes]:
    """GET over a kept-alive HTTP/1.1 connection of this thread, as QGIS, GDAL and wrk do
    (the raw SQL side keeps its database connection open too). A connection the server
    closed while idle is replaced once, as HTTP client pools do."""
    for attempt in (1, 2):
        conn = getattr(_connections, "conn", None)
        reused = conn is not None
        if conn is None:
            conn = _connections.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            conn.request("GET", path, headers=HEADERS)
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            _connections.conn = None
            if reused and attempt == 1:
                continue
            raise
        if response.will_close:
            conn.close()
            _connections.conn = None
        return response.status, body
    raise AssertionError("unreachable")


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


# The rows and properties the endpoint serves (api/catalog.py, collection `parcels`).
PARCEL_ROWS = """
    SELECT p.id, p.facility_id AS facility, r.kato AS region, d.kato AS district, p.cadastral_number, p.status,
           p.declared_area_ha, p.computed_area_ha, p.land_category, p.right_type, p.act_number, p.act_date,
           p.is_demo, p.version, p.updated_at, {geometry}
    FROM parcels_parcel p JOIN layers_region r ON r.id = p.region_id LEFT JOIN layers_district d ON d.id = p.district_id
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8118)
    parser.add_argument("--load-seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--skip-load-data", action="store_true", help="reuse the bench database as it is")
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
        import json

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
    return 0


if __name__ == "__main__":
    sys.exit(main())
