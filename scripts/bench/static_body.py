"""WSGI app of the API bench (scripts/bench/api.py): one response body, read once from the file that
BENCH_STATIC_BODY names, answered to every GET. Served by the same gunicorn settings as the portal,
it is what serving a page costs with no Django and no database: the floor of any Python server."""

from __future__ import annotations

import os
from pathlib import Path

BODY = Path(os.environ["BENCH_STATIC_BODY"]).read_bytes()
HEADERS = [("Content-Type", "application/geo+json"), ("Content-Length", str(len(BODY)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [BODY]
