#!/usr/bin/env python
"""Load test of the public pages and API on gunicorn with the production settings (issue 8).

For each endpoint in turn: --connections client threads, each with its own keep-alive HTTP
connection, send GET requests back to back for --duration seconds. Prints requests/s, p50 and p99
latency (ms) and the error count (any status other than 200/304, or a connection failure) per
endpoint; exits 1 if there was any error.

The server is started by scripts/bench/prodserver.py (production settings, collectstatic'ed static
files, gunicorn gthread workers) on a database prepared with the demo data (gis_portal_fuzzsrv by
default; --prepare loads it), or --url points at a running server.

Without --prepare (and without --url) it first checks that the database exists, is migrated and
holds the cache table and the demo data, and stops with exit code 2 and a message naming what is
missing otherwise (every request would fail, which is no measurement).

Usage: .venv/bin/python scripts/bench/load.py [--duration 60] [--connections 32] [--prepare] [--url URL]
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prodserver import DEFAULT_DB, Server, database_prepare, database_problem  # noqa: E402

# The public map is two requests in a browser: the page shell and its facilities GeoJSON.
ENDPOINTS = [
    "/en/maps/public/",
    "/en/maps/public/facilities.geojson",
    "/api/v1/facilities/",
    "/ogc/collections/facilities/items",
]


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def client(host: str, port: int, path: str, stop_at: float, result: Result) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    latencies: list[float] = []
    errors = 0
    samples: list[str] = []
    while time.monotonic() < stop_at:
        start = time.perf_counter()
        try:
            conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
            response = conn.getresponse()
            response.read()
            ok = response.status in (200, 304)
            if not ok and len(samples) < 3:
                samples.append(f"HTTP {response.status}")
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            ok = False
            if len(samples) < 3:
                samples.append(f"{type(exc).__name__}: {exc}")
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
        if ok:
            latencies.append(time.perf_counter() - start)
        else:
            errors += 1
    conn.close()
    with result.lock:
        result.latencies.extend(latencies)
        result.errors += errors
        result.error_samples.extend(samples)


def load(base: str, path: str, *, duration: float, connections: int) -> dict:
    parts = urlsplit(base)
    result = Result()
    stop_at = time.monotonic() + duration
    threads = [
        threading.Thread(target=client, args=(parts.hostname, parts.port, path, stop_at, result))
        for _ in range(connections)
    ]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    lat = sorted(result.latencies)
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [float("nan")] * 99
    return {
        "path": path,
        "requests": len(lat) + result.errors,
        "rps": (len(lat) + result.errors) / elapsed,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "errors": result.errors,
        "samples": result.error_samples[:3],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per endpoint (default 60)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--url", help="a running server; otherwise gunicorn is started here")
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--prepare", action="store_true", help="migrate and load the demo data first")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument("--endpoint", action="append", help="path to load (repeatable); default: the public three")
    args = parser.parse_args()

    server = None
    base = args.url
    if not base:
        server = Server(args.database_url, workers=args.workers, threads=args.threads)
        if args.prepare:
            database_prepare(server.env)
        else:
            # Without data every request fails: that is a missing setup, not a benchmark result.
            problem = database_problem(server.env)
            if problem:
                print(f"load.py: {problem}", file=sys.stderr)
                return 2
        base = server.start()
        print(f"gunicorn (production settings, {args.workers} workers x {args.threads} threads) on {base}")
    try:
        rows = []
        for path in args.endpoint or ENDPOINTS:
            load(base, path, duration=min(2.0, args.duration), connections=4)  # warm caches and connections
            rows.append(load(base, path, duration=args.duration, connections=args.connections))
            r = rows[-1]
            print(
                f"{r['path']:40} {r['requests']:7d} req  {r['rps']:8.1f} req/s  p50 {r['p50_ms']:8.1f} ms  "
                f"p99 {r['p99_ms']:8.1f} ms  errors {r['errors']}" + (f"  {r['samples']}" if r["errors"] else ""),
                flush=True,
            )
    finally:
        if server:
            server.stop()
    print(f"duration {args.duration:g} s per endpoint, {args.connections} connections")
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
