#!/usr/bin/env python
"""Benchmark of the GeoJSON API (issue 6). Prints one figure a line.

Loads 10 000 synthetic parcel-like polygons (a bench-only table `bench_parcel`,
created by this script, served as the collection `bench-parcels` by the bench-only
app scripts/bench/benchapp — the parcels app's model carries constraints and
history triggers unrelated to serving speed) and 1 000 synthetic facilities into a
SEPARATE database (gis_portal_bench, or BENCH_DATABASE_URL), starts gunicorn on it
and measures over HTTP:

- the endpoint's time for the full collection and for a bbox query vs the raw SQL
  `json_agg(ST_AsGeoJSON(t.*))` on the same rows (`ratio endpoint/raw_sql`, goal <= 1.3);
- the same for a plain drf-gis GeoFeatureModelSerializer list view (the control);
- a keyset page at row 9 000 vs page 1 (and the OFFSET page, for comparison);
- requests/s, p50 and p99 latency and errors under concurrent load on the public
  facilities endpoint (Python threads; gunicorn gthread, 2 workers x 4 threads),
  with the page cache off (every request builds its page) and on (the default).

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


def prepare_database(url: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "gis_portal.settings.test"}
    subprocess.run([PY, "scripts/dbsetup.py"], cwd=ROOT, env=env, check=True)  # noqa: S603
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)  # noqa: S603
    subprocess.run([PY, "manage.py", "load_reference_data", "-v0"], cwd=ROOT, env=env, check=True)  # noqa: S603
    with psycopg.connect(**connect_params(url), autocommit=True) as conn:
        conn.execute("SELECT setseed(0.191)")
        conn.execute("DROP TABLE IF EXISTS bench_parcel")
        conn.execute(
            """CREATE TABLE bench_parcel (
                id serial PRIMARY KEY, cadastral_number varchar(20) NOT NULL, status varchar(12) NOT NULL,
                area_ha double precision NOT NULL, region_id integer NOT NULL, updated_at timestamptz NOT NULL,
                geom geometry(MultiPolygon, 4326) NOT NULL)"""
        )
        # Parcels of 1-6 ha: 17-vertex rings (buffers with 4 segments a quadrant) scattered over Kazakhstan.
        conn.execute(
            """INSERT INTO bench_parcel (cadastral_number, status, area_ha, region_id, updated_at, geom)
               SELECT format('%s-%s-%s-%s', lpad((i % 20 + 1)::text, 2, '0'), lpad((i % 300)::text, 3, '0'),
                             lpad((i % 997)::text, 3, '0'), lpad(i::text, 4, '0')),
                      (ARRAY['candidate', 'approved', 'allocated'])[1 + i % 3],
                      ST_Area(g::geography) / 10000, 1 + i % 20, now() - make_interval(mins => i), ST_Multi(g)
               FROM (SELECT i, ST_Buffer(
                                   ST_SetSRID(ST_MakePoint(52 + random() * 30, 42 + random() * 12), 4326)::geography,
                                   60 + random() * 80, 'quad_segs=4')::geometry AS g
                     FROM generate_series(1, 10000) AS i) AS s"""
        )
        conn.execute("CREATE INDEX bench_parcel_geom ON bench_parcel USING gist (geom)")
        conn.execute("TRUNCATE facilities_facility CASCADE")
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
        conn.execute("ANALYZE bench_parcel")
        conn.execute("ANALYZE facilities_facility")


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


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Accept": "application/geo+json, application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
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


RAW_GEOMETRY = {
    # What the issue names: json_agg(ST_AsGeoJSON(row)) with 6 decimals, nothing else.
    "plain": "SELECT id, cadastral_number, status, area_ha, region_id, geom FROM bench_parcel",
    # The same rows with the geometry processing the endpoint does (grid snap, ST_ReducePrecision
    # where the snap breaks validity, counter-clockwise rings): isolates the serving overhead.
    "same": "SELECT id, cadastral_number, status, area_ha, region_id, ST_Multi(ST_ForcePolygonCCW("
    "(SELECT CASE WHEN ST_IsValid(s.g) THEN s.g ELSE ST_ReducePrecision(geom, 1e-6) END "
    "FROM (SELECT ST_SnapToGrid(geom, 1e-6) AS g) AS s))) AS geom FROM bench_parcel",
}


def raw_sql(url: str, where: str = "", params: tuple = (), *, variant: str = "plain"):
    conn = psycopg.connect(**connect_params(url), autocommit=True)
    statement = f"""
        SELECT json_build_object('type', 'FeatureCollection',
               'features', COALESCE(json_agg(ST_AsGeoJSON(t.*, 'geom', 6)::json), '[]'::json))::text
        FROM ({RAW_GEOMETRY[variant]} {where} ORDER BY id) AS t
    """  # noqa: S608 - constant SQL of this script

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
    with psycopg.connect(**connect_params(url), autocommit=True) as conn:
        parcels = conn.execute("SELECT count(*) FROM bench_parcel").fetchone()[0]
        facilities = conn.execute("SELECT count(*) FROM facilities_facility").fetchone()[0]
        row_9000 = conn.execute("SELECT id FROM bench_parcel ORDER BY id OFFSET 8999 LIMIT 1").fetchone()[0]
    print(f"database: {urlsplit(url).path.lstrip('/')}; bench_parcel rows: {parcels}; facilities: {facilities}")
    server = start_server(url, args.port)  # page cache off: every request builds its page
    try:
        bbox = (66.0, 46.0, 70.0, 50.0)
        bbox_text = ",".join(str(v) for v in bbox)
        envelope = "ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
        where = f"WHERE geom && {envelope} AND ST_Intersects(geom, {envelope})"
        bbox_rows = raw_sql(url, where, (*bbox, *bbox))().count('"Feature"')
        full_raw, full_api = paired(raw_sql(url), endpoint(args.port, "/api/v1/bench-parcels/?limit=10000"))
        bbox_raw, bbox_api = paired(
            raw_sql(url, where, (*bbox, *bbox)),
            endpoint(args.port, f"/api/v1/bench-parcels/?limit=10000&bbox={bbox_text}"),
            repeat=21,
        )
        full_same, full_api2 = paired(
            raw_sql(url, variant="same"), endpoint(args.port, "/api/v1/bench-parcels/?limit=10000")
        )
        full_raw2, full_drf = paired(raw_sql(url), endpoint(args.port, "/bench/drfgis/"), repeat=3)
        bbox_raw2, bbox_drf = paired(
            raw_sql(url, where, (*bbox, *bbox)), endpoint(args.port, f"/bench/drfgis/?bbox={bbox_text}")
        )
        size = len(endpoint(args.port, "/api/v1/bench-parcels/?limit=10000")())

        print(f"full collection ({parcels} polygons, {size / 1e6:.1f} MB): raw_sql {full_raw * 1000:.0f} ms")
        print(f"full collection: endpoint {full_api * 1000:.0f} ms; ratio endpoint/raw_sql: {full_api / full_raw:.2f}")
        print(
            f"full collection vs raw SQL with the same geometry processing ({full_same * 1000:.0f} ms): "
            f"endpoint {full_api2 * 1000:.0f} ms; ratio endpoint/raw_sql: {full_api2 / full_same:.2f}"
        )
        print(f"bbox query ({bbox_rows} polygons): raw_sql {bbox_raw * 1000:.1f} ms")
        print(f"bbox query: endpoint {bbox_api * 1000:.1f} ms; ratio endpoint/raw_sql: {bbox_api / bbox_raw:.2f}")
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

        path = "/api/v1/bench-parcels/?limit=1000"
        for _ in range(9):
            path = json.loads(endpoint(args.port, path)())["next"].split(f":{args.port}", 1)[1]
        deep = path.replace("limit=1000", "limit=100")
        deep_first = json.loads(endpoint(args.port, deep)())["features"][0]["id"]
        assert deep_first > row_9000, (deep_first, row_9000)
        first, keyset = paired(endpoint(args.port, "/api/v1/bench-parcels/?limit=100"), endpoint(args.port, deep), 21)
        first2, offset = paired(
            endpoint(args.port, "/api/v1/bench-parcels/?limit=100"),
            endpoint(args.port, "/api/v1/bench-parcels/?limit=100&offset=9000"),
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
