"""Benchmark: the public map's transferred bytes and load time in headless Chromium.

Goal (issue 5): under 1 MB and under 2 s on localhost with the demo data (150 facilities).

Usage:
    DATABASE_URL=postgis://... .venv/bin/python scripts/bench/public_map.py [--url URL] [--runs 5]

Without --url it starts gunicorn (gis_portal.settings.dev with DEBUG=0, like scripts/run)
on a free port 8101-8109 against DATABASE_URL, which must hold the demo data
(manage.py load_reference_data / load_default_boundaries / load_demo_data).
Each run is a cold browser context (empty cache). Requests to other hosts (base-map
tiles) are aborted, as on an offline deployment; bytes are what crossed the wire
(CDP encodedDataLength: headers + body as sent, compressed or not).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
GOAL_BYTES = 1_000_000
GOAL_SECONDS = 2.0


def free_port() -> int:
    for port in range(8101, 8110):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("no free port in 8101-8109")


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "gis_portal.settings.dev", "DEBUG": "0"}
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "gis_portal.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/en/maps/public/embed/", timeout=30) as response:  # noqa: S310
                if response.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.5)
        if proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit("the server did not start (is DATABASE_URL set and migrated?)")


def measure(browser, url: str) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.route("**/*", lambda r: r.continue_() if urlsplit(r.request.url).hostname == "127.0.0.1" else r.abort())
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    sizes: dict[str, float] = {}
    urls: dict[str, str] = {}
    cdp.on("Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"]))
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    started = time.perf_counter()
    page.goto(url, wait_until="load")
    loaded = time.perf_counter() - started
    page.wait_for_selector(".portal-map[data-facility-count]", state="attached")
    ready = time.perf_counter() - started
    page.wait_for_load_state("networkidle")
    timing = page.evaluate(
        """() => { const n = performance.getEntriesByType('navigation')[0];
                  return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd}; }"""
    )
    facilities = int(page.get_attribute(".portal-map", "data-facility-count"))
    local = {rid: size for rid, size in sizes.items() if urlsplit(urls.get(rid, "")).hostname == "127.0.0.1"}
    biggest = sorted(((local[rid], urls[rid]) for rid in local), reverse=True)[:5]
    context.close()
    return {
        "bytes": int(sum(local.values())),
        "requests": len(local),
        "load_s": loaded,
        "ready_s": ready,
        "nav_load_s": timing["load"] / 1000,
        "facilities": facilities,
        "biggest": biggest,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="base URL of a running server (default: start one)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lang", default="en")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    proc = None
    base = args.url
    if base is None:
        proc, base = start_server()
    url = f"{base.rstrip('/')}/{args.lang}/maps/public/"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            measure(browser, url)  # warm the server (first request imports, connects to the DB)
            runs = [measure(browser, url) for _ in range(args.runs)]
            browser.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
    size = statistics.median(r["bytes"] for r in runs)
    ready = statistics.median(r["ready_s"] for r in runs)
    print(f"public map: {url}")
    print(
        f"facilities on the map: {runs[0]['facilities']}; requests: {runs[0]['requests']} (cold cache, tiles blocked)"
    )
    print(f"transferred: {size / 1024:.1f} KiB ({int(size)} bytes) median of {len(runs)} runs; goal < 1 MB")
    print(
        "load event: {:.3f} s; map ready (markers drawn): {:.3f} s median (min {:.3f}, max {:.3f}); goal < {} s".format(
            statistics.median(r["load_s"] for r in runs),
            ready,
            min(r["ready_s"] for r in runs),
            max(r["ready_s"] for r in runs),
            GOAL_SECONDS,
        )
    )
    print("largest responses:")
    for nbytes, resource in runs[0]["biggest"]:
        print(f"  {nbytes / 1024:8.1f} KiB  {urlsplit(resource).path}")
    ok = size < GOAL_BYTES and ready < GOAL_SECONDS
    print("within goal" if ok else "OVER GOAL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
