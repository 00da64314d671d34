#!/usr/bin/env python
"""Benchmark of the report renderers (issue 14). Prints figures; asserts nothing.

The consolidated report of the data in DATABASE_URL (run scripts/run or load_demo_tracking first) as of the
last 1 January / 1 July: for each language and format, the best time of a few renderings, the size and,
for PDF, the page count (target: ≤ 10 pages for the demo data, < 1 s). CPU time is printed beside wall
time because a loaded machine inflates the latter.

Run: DATABASE_URL=... .venv/bin/python scripts/bench/report_pdf.py [AS_OF]
"""

from __future__ import annotations

import io
import os
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gis_portal.settings.dev")

import django  # noqa: E402

django.setup()

from django.utils import timezone  # noqa: E402
from pypdf import PdfReader  # noqa: E402

from tracking.reports import RENDERERS, report_data_build  # noqa: E402

REPEAT = 3
PDF_PAGES_TARGET = 10
PDF_SECONDS_TARGET = 1.0


def last_report_date(today: date) -> date:
    return date(today.year, 7, 1) if today >= date(today.year, 7, 1) else date(today.year, 1, 1)


def main() -> None:
    as_of = date.fromisoformat(sys.argv[1]) if len(sys.argv) > 1 else last_report_date(timezone.localdate())
    t0 = time.perf_counter()
    data = report_data_build(kind="consolidated", as_of=as_of)
    print(
        f"consolidated report as of {as_of} (known at {data['known_at']}, demo: {data['is_demo']}): "
        f"{len(data['measures'])} measures, {len(data['facilities'])} facilities, "
        f"{len(data['other_measures'])} other-measure rows, {len(data['kpis'])} KPI rows; "
        f"data built in {time.perf_counter() - t0:.2f} s"
    )
    for lang in ("kk", "ru", "en"):
        for fmt, (render, _ctype) in RENDERERS.items():
            best, best_cpu = float("inf"), float("inf")
            for _ in range(REPEAT):
                t0, c0 = time.perf_counter(), time.process_time()
                out = render(data, lang)
                best = min(best, time.perf_counter() - t0)
                best_cpu = min(best_cpu, time.process_time() - c0)
            line = (
                f"{lang} {fmt:4}: {best:.2f} s wall, {best_cpu:.2f} s CPU (best of {REPEAT}), {len(out) / 1024:.0f} KiB"
            )
            if fmt == "pdf":
                pages = len(PdfReader(io.BytesIO(out)).pages)
                line += (
                    f", {pages} pages ({pages / PDF_PAGES_TARGET:.1f}× the {PDF_PAGES_TARGET}-page target), "
                    f"{best_cpu / PDF_SECONDS_TARGET:.2f}× the {PDF_SECONDS_TARGET:.0f} s target (CPU)"
                )
            print(line)


if __name__ == "__main__":
    main()
