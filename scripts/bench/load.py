#!/usr/bin/env python
"""Load test of the public pages and API on gunicorn with the production settings (issue 8).

For each endpoint in turn: --connections client threads, each with its own keep-alive HTTP
connection, send GET requests back to back for --duration seconds. Prints requests/s, p50 and p99
latency (ms) and the error count (any status other than 200/304, or a connection failure) per
endpoint; exits 1 if there was any error.

The server is started by scripts/bench/prodserver.py (production settings, collectstatic'ed static
files, gunicorn gthread workers) on a database prepared with the demo data (gis_portal_fuzzsrv by
default; --prepare loads it), or --url points at a running server.

Throttling is on, at the production limit (issue 20): the API's anonymous limit is --anon-rate
(default 600/min, the production default) per client address, counted in the shared cache as in
production. The bench plays a crowd behind one trusted proxy: the server it starts gets
API_ANON_THROTTLE_RATE=--anon-rate and API_TRUSTED_PROXIES=1, and the bench sends each request with
the next of --addresses simulated client addresses (X-Forwarded-For, round robin), so each address
stays under the limit while every API request still pays for its throttle check. A 429 counts as an
error. The output states this configuration, the highest request rate any one address reached, and
ends with a check that one address alone is refused (HTTP 429 with Retry-After) right after the
limit, within the throttle's documented bound (batches held per worker, the window's slide; see
throttle_allowance). With --url, start that server with the same two settings.

Without --prepare (and without --url) it first checks that the database exists, is migrated and
holds the cache table and the demo data, and stops with exit code 2 and a message naming what is
missing otherwise (every request would fail, which is no measurement).

Usage: .venv/bin/python scripts/bench/load.py [--duration 60] [--connections 32] [--prepare] [--url URL]
       [--anon-rate 600/min] [--addresses 256]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import math
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
ANON_RATE = "600/min"  # API_ANON_THROTTLE_RATE's production default (gis_portal/settings/base.py)
THROTTLE_PROBE = "/api/v1/regions/?limit=1"
PROBE_ADDRESS = "192.0.2.1"  # TEST-NET-1: never one of the crowd's addresses (10.77.x.y)


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def crowd(count: int) -> list[str]:
    """`count` simulated client addresses (10.77.0.0/16)."""
    if not 1 <= count <= 65536:
        raise SystemExit(f"--addresses must be 1..65536, not {count}")
    return [f"10.77.{i // 256}.{i % 256}" for i in range(count)]


def rate_parse(rate: str) -> tuple[int, int]:
    """(requests, seconds) of a throttle rate such as 600/min (DRF's format)."""
    number, _, period = rate.partition("/")
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(period[:1])
    if not number.isdigit() or seconds is None:
        raise SystemExit(f"--anon-rate must look like 600/min, not {rate!r}")
    return int(number), seconds


def client(
    host: str, port: int, path: str, stop_at: float, result: Result, addresses: list[str], turn: itertools.count
) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    latencies: list[float] = []
    errors = 0
    samples: list[str] = []
    while time.monotonic() < stop_at:
        start = time.perf_counter()
        try:
            # next(turn) is atomic under the GIL: the crowd's addresses take turns across all threads.
            address = addresses[next(turn) % len(addresses)]
            conn.request("GET", path, headers={"Accept-Encoding": "gzip", "X-Forwarded-For": address})
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


def load(base: str, path: str, *, duration: float, connections: int, addresses: list[str]) -> dict:
    parts = urlsplit(base)
    result = Result()
    stop_at = time.monotonic() + duration
    turn = itertools.count()
    threads = [
        threading.Thread(target=client, args=(parts.hostname, parts.port, path, stop_at, result, addresses, turn))
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
        # Requests per minute of the busiest simulated address (round robin: all within one of each other).
        "per_address_per_min": 60 * -(-(len(lat) + result.errors) // len(addresses)) / elapsed,
    }


def throttle_allowance(limit: int, *, seconds: int, workers: int, elapsed: float) -> int:
    """Requests beyond `limit` the fair-use throttle may let through (api/throttling.py, module docstring):
    each gunicorn worker process may hold back a batch of unwritten hits (5 % of the limit, at most 100),
    and the sliding window's estimate lets through the share of the previous window that has slid out
    during the probe (at most limit × elapsed / seconds)."""
    batch = min(100, limit // 20)
    return workers * batch + math.ceil(limit * elapsed / seconds)


def throttle_check(base: str, *, rate: str, workers: int) -> bool:
    """One address alone, on the API: refused with 429 and Retry-After within the throttle's bound after the limit?"""
    limit, seconds = rate_parse(rate)
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    started = time.perf_counter()
    most = limit + 1 + throttle_allowance(limit, seconds=seconds, workers=workers, elapsed=seconds)
    try:
        for n in range(1, most + 11):
            conn.request("GET", THROTTLE_PROBE, headers={"X-Forwarded-For": PROBE_ADDRESS})
            response = conn.getresponse()
            response.read()
            if response.status == 429:
                retry_after = response.getheader("Retry-After")
                print(
                    f"throttle check: {PROBE_ADDRESS} alone got HTTP 429 at request {n} of {THROTTLE_PROBE} "
                    f"(limit {limit} per {seconds} s, Retry-After {retry_after} s)"
                )
                allowed = (
                    limit
                    + 1
                    + throttle_allowance(limit, seconds=seconds, workers=workers, elapsed=time.perf_counter() - started)
                )
                print(f"throttle check: the throttle's bound allows the first 429 up to request {allowed}")
                return n <= allowed and bool(retry_after)
    finally:
        conn.close()
    print(f"throttle check FAILED: {most + 10} requests from {PROBE_ADDRESS} and no HTTP 429 (limit {rate})")
    return False


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
    parser.add_argument(
        "--anon-rate", default=ANON_RATE, help=f"anonymous API limit per address (default {ANON_RATE}, production's)"
    )
    parser.add_argument("--addresses", type=int, default=256, help="simulated client addresses (default 256)")
    parser.add_argument(
        "--no-throttle-check",
        action="store_true",
        help="with --url: skip the final 429 check, for a server whose limits are not --anon-rate (a test server)",
    )
    args = parser.parse_args()
    addresses = crowd(args.addresses)
    limit, seconds = rate_parse(args.anon_rate)

    server = None
    base = args.url
    if not base:
        # The bench is the one trusted proxy in front: the server counts per X-Forwarded-For address.
        throttling = {"API_ANON_THROTTLE_RATE": args.anon_rate, "API_TRUSTED_PROXIES": "1"}
        server = Server(args.database_url, workers=args.workers, threads=args.threads, env=throttling)
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
    print(
        f"throttling on: anonymous API limit {limit} per {seconds} s per client address "
        f"(API_ANON_THROTTLE_RATE={args.anon_rate}, API_TRUSTED_PROXIES=1); requests spread round robin over "
        f"{len(addresses)} simulated addresses (X-Forwarded-For; room for {len(addresses) * limit / seconds:.0f} "
        "req/s in any minute), a 429 counts as an error",
        flush=True,
    )
    try:
        rows = []
        for path in args.endpoint or ENDPOINTS:
            # Warm caches and connections.
            load(base, path, duration=min(2.0, args.duration), connections=4, addresses=addresses)
            rows.append(load(base, path, duration=args.duration, connections=args.connections, addresses=addresses))
            r = rows[-1]
            print(
                f"{r['path']:40} {r['requests']:7d} req  {r['rps']:8.1f} req/s  p50 {r['p50_ms']:8.1f} ms  "
                f"p99 {r['p99_ms']:8.1f} ms  errors {r['errors']}  per address {r['per_address_per_min']:.0f}/min"
                + (f"  {r['samples']}" if r["errors"] else ""),
                flush=True,
            )
        if args.no_throttle_check:
            print("throttle check skipped (--no-throttle-check): the server's limits are not the ones printed above")
            throttled = True
        else:
            throttled = throttle_check(base, rate=args.anon_rate, workers=args.workers)
    finally:
        if server:
            server.stop()
    print(f"duration {args.duration:g} s per endpoint, {args.connections} connections")
    return 1 if any(r["errors"] for r in rows) or not throttled else 0


if __name__ == "__main__":
    sys.exit(main())
