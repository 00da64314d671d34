"""The report as a workbook: typed cells, fitted widths, repeated styled header rows, totals, A4 landscape."""

from __future__ import annotations

import io
import logging

from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from tracking.reports.tables import (
    DATE,
    NUMBER,
    TEXT,
    as_of_line,
    demo_line,
    header_lines,
    is_blank,
    report_sections,
    report_title,
)

# fpdf2 subsets fonts through fontTools, which logs every glyph at INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)


# --- XLSX ----------------------------------------------------------------------------------------------

XLSX_DATE_FORMAT = "DD.MM.YYYY"
XLSX_HEADER_FILL = PatternFill("solid", fgColor="DCE4EE")
XLSX_TOTAL_FILL = PatternFill("solid", fgColor="EEEEEE")
XLSX_BORDER = Border(*(Side(style="thin", color="A0A0A0"),) * 4)
XLSX_MAX_WIDTH = 60


def _xlsx_text_length(value, kind: str) -> int:
    if is_blank(value):
        return 0
    if kind == DATE:
        return 10
    if isinstance(value, float):
        return len(f"{value:,.2f}")
    if isinstance(value, int):
        return len(f"{value:,}")
    return max(len(line) for line in str(value).split("\n"))


def _xlsx_escape(text: str) -> str:
    return text.replace("&", "&&")


def _xlsx_print_setup(ws, *, title: str, as_of: str, demo: str, page: str) -> None:
    """A4 landscape, one page wide; the title, as-of and demo lines and "page X of Y" on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.7
    ws.oddHeader.left.text = _xlsx_escape(title)
    ws.oddHeader.left.size = 9
    ws.oddHeader.right.text = _xlsx_escape(as_of)
    ws.oddHeader.right.size = 8
    if demo:
        ws.oddHeader.center.text = _xlsx_escape(demo)
        ws.oddHeader.center.size = 8
        ws.oddHeader.center.color = "C00000"
    ws.oddFooter.right.text = page
    ws.oddFooter.right.size = 8


def _sheet_title(name: str, taken: list[str]) -> str:
    base = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    title, n = base, 2
    while title in taken:
        title = f"{base[: 31 - len(str(n)) - 1]} {n}"
        n += 1
    return title


def render_xlsx(data: dict, lang: str) -> bytes:
    """One sheet per section: typed cells (numbers, dates), fitted widths, a styled header row repeated on
    every printed page, a totals row where declared, A4 landscape one page wide, frozen header, filter."""
    wb = Workbook()
    with translation.override(lang):
        title = report_title(data, lang)
        setup = {
            "title": title,
            "as_of": as_of_line(data),
            "demo": demo_line() if data["is_demo"] else "",
            "page": _("Page %(page)s of %(pages)s") % {"page": "&P", "pages": "&N"},
        }
        summary = wb.active
        summary.title = _("Summary")[:31]
    for line in header_lines(data, lang):
        summary.append([line])
    summary.column_dimensions["A"].width = 120
    for row in summary.iter_rows():
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    summary["A1"].font = Font(bold=True, size=14)
    if data["is_demo"]:
        summary.cell(row=summary.max_row, column=1).font = Font(bold=True, color="C00000")
    _xlsx_print_setup(summary, **setup)
    for name, header, rows, kinds, totals in report_sections(data, lang):
        ws = wb.create_sheet(_sheet_title(name, wb.sheetnames))
        ws.append(header)
        for row in rows:
            ws.append([None if v == "" else v for v in row])
        last_data_row = ws.max_row
        if totals is not None:
            ws.append(totals)
        widths = []
        for i, kind in enumerate(kinds):
            column = [row[i] for row in rows] + ([totals[i]] if totals else [])
            content = max((_xlsx_text_length(v, kind) for v in column), default=0)
            longest_word = max((len(word) for word in header[i].split()), default=0)
            widths.append(min(max(content, longest_word, 6) + 2, XLSX_MAX_WIDTH))
        heading_lines = 1
        for i, (kind, width) in enumerate(zip(kinds, widths, strict=True)):
            letter = get_column_letter(i + 1)
            ws.column_dimensions[letter].width = width
            heading_lines = max(heading_lines, -(-len(header[i]) // max(width - 2, 1)))
            number_format = {DATE: XLSX_DATE_FORMAT, NUMBER: None}.get(kind)
            wrap = kind == TEXT and width >= XLSX_MAX_WIDTH
            for (cell,) in ws.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
                cell.border = XLSX_BORDER
                if isinstance(cell.value, float):
                    cell.number_format = "#,##0.00"
                elif isinstance(cell.value, int):
                    cell.number_format = "#,##0"
                elif number_format:
                    cell.number_format = number_format
                if wrap:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = XLSX_HEADER_FILL
            cell.border = XLSX_BORDER
            cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        ws.row_dimensions[1].height = 15 * min(heading_lines, 5)
        if totals is not None:
            for cell in ws[ws.max_row]:
                cell.font = Font(bold=True)
                cell.fill = XLSX_TOTAL_FILL
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{last_data_row}"
        ws.print_title_rows = "1:1"
        _xlsx_print_setup(ws, **setup)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
