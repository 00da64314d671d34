"""Semi-annual reports of the order (clauses 2–3): data as of a date, rendered as XLSX, PDF and CSV.

- `data`: `report_data_build` returns a JSON-serialisable snapshot holding the texts in all three
  languages, so a frozen report can be rendered again from its snapshot alone;
- `tables`: the report's tables in one language (typed cells), shared by every renderer;
- `xlsx`, `pdf` and `render_csv` here: the renderers, which read nothing from the database;
- `report_file_build`: the file the reports page offers and `manage.py semiannual_report` writes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from facilities.models import ResponsibleBody
from layers.models import Region
from tracking.reports.data import LANGS, report_data_build, report_period_dates
from tracking.reports.pdf import render_pdf
from tracking.reports.tables import TABLE_HINTS, measure_label, measure_title_split, report_tables
from tracking.reports.xlsx import render_xlsx

__all__ = [
    "LANGS",
    "RENDERERS",
    "TABLE_HINTS",
    "ReportFile",
    "measure_label",
    "measure_title_split",
    "render_csv",
    "render_pdf",
    "render_xlsx",
    "report_data_build",
    "report_file_build",
    "report_filename",
    "report_period_dates",
    "report_tables",
]


def render_csv(data: dict, lang: str) -> bytes:
    """One table for machines: a `section` column, then the section's columns (dates ISO, no totals)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "as_of", "known_at", "columns..."])
    for name, (header, rows) in report_tables(data, lang).items():
        writer.writerow([name, data["as_of"], data["known_at"], *header])
        for row in rows:
            writer.writerow([name, data["as_of"], data["known_at"], *("" if v is None else v for v in row)])
    return out.getvalue().encode("utf-8-sig")


RENDERERS = {
    "xlsx": (render_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pdf": (render_pdf, "application/pdf"),
    "csv": (render_csv, "text/csv; charset=utf-8"),
}


def report_filename(data: dict, lang: str, fmt: str) -> str:
    scope = data["region_kato"] or data["body"] or "KZ"
    safe = "".join(ch if ch.isalnum() else "_" for ch in scope)
    return f"report_{data['kind']}_{safe}_{data['as_of']}_{lang}.{fmt}"


@dataclass(frozen=True)
class ReportFile:
    content: bytes
    filename: str
    content_type: str


def report_file_build(
    *,
    kind: str,
    as_of: date,
    fmt: str,
    language: str,
    known_at: date | None = None,
    region: Region | None = None,
    body: ResponsibleBody | None = None,
) -> ReportFile:
    """A live (not frozen) report file, as the reports page offers it and `manage.py semiannual_report` writes it."""
    data = report_data_build(kind=kind, as_of=as_of, known_at=known_at, region=region, body=body)
    render, content_type = RENDERERS[fmt]
    return ReportFile(render(data, language), report_filename(data, language, fmt), content_type)
