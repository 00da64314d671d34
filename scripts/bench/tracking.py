#!/usr/bin/env python
"""Benchmark of tracking (issue 4). Prints figures; asserts nothing.

Against the database in DATABASE_URL (run scripts/run or load_demo_tracking first):
status of every planned facility as of a date, the 36-month progress series, and
building + rendering the consolidated report (XLSX, PDF, CSV).

Run: DATABASE_URL=... .venv/bin/python scripts/bench/tracking.py
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gis_portal.settings.dev")

import django  # noqa: E402

django.setup()

from django.db import connection, reset_queries  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from tracking.models import StageRecord, TrackedFacility  # noqa: E402
from tracking.reports import render_csv, render_pdf, render_xlsx, report_data_build  # noqa: E402
from tracking.selectors import facility_states_as_of, progress_series  # noqa: E402


def timed(label: str, fn, repeat: int = 5):
    best = float("inf")
    for _ in range(repeat):
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            result = fn()
            best = min(best, time.perf_counter() - t0)
    print(f"{label}: {best * 1000:.1f} ms (best of {repeat}), {len(ctx.captured_queries)} queries")
    return result


def main() -> None:
    print(
        f"tracked facilities: {TrackedFacility.objects.filter(in_plan=True).count()}, "
        f"stage records: {StageRecord.objects.count()}"
    )
    timed("statuses of all facilities as of 2025-07-05", lambda: facility_states_as_of(as_of=date(2025, 7, 5)))
    timed("progress series Jan 2024 – Jun 2026 (30 month-ends)", lambda: progress_series(until=date(2026, 6, 30)), 2)
    data = timed(
        "consolidated report data as of 2025-07-01",
        lambda: report_data_build(kind="consolidated", as_of=date(2025, 7, 1)),
        2,
    )
    for name, fn in (("xlsx", render_xlsx), ("pdf", render_pdf), ("csv", render_csv)):
        out = timed(f"render {name} (ru)", lambda fn=fn: fn(data, "ru"), 2)
        print(f"  {name} size: {len(out) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
