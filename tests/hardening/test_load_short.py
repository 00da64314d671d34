"""A short, bounded run of scripts/bench/load.py: concurrent clients, zero errors (no timing asserted).

The full run (60 s per endpoint, 32 connections, production settings) is
`.venv/bin/python scripts/bench/load.py`; its figures go in the closing note.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def test_public_pages_and_api_under_concurrent_load_give_no_error(hardening_server):
    result = subprocess.run(
        # The hardening server allows 1 000 000 anonymous requests a minute: no 429 to check for there
        # (tests/api/test_throttling.py checks the limits).
        [
            sys.executable,
            "scripts/bench/load.py",
            "--url",
            hardening_server,
            "--duration",
            "3",
            "--connections",
            "8",
            "--no-throttle-check",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("/") and " req/s " in line]
    assert len(rows) == 4, result.stdout  # the public map's page and its GeoJSON, the REST and OGC items
    for row in rows:
        assert re.search(r" errors 0\b", row), row
        assert int(row.split()[1]) > 0, row  # requests were really made
