"""Rendering of the semi-annual reports: typed XLSX cells and print setup, a PDF that reads like a ministry
document (short measure labels, running as-of/demo lines, page X of Y, ≤ 10 pages for the demo data)."""

import io
import re
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from tracking.demo import demo_tracking_create
from tracking.models import Report
from tracking.reports import (
    measure_label,
    measure_title_split,
    render_csv,
    render_pdf,
    render_xlsx,
    report_data_build,
    report_tables,
)

AS_OF = date(2026, 7, 1)


@pytest.fixture
def demo_consolidated(db):
    """The consolidated report of the demo tracking data (150 facilities with invented histories)."""
    demo_tracking_create(today=date(2026, 7, 10))
    return report_data_build(kind=Report.Kind.CONSOLIDATED, as_of=AS_OF, known_at=date(2026, 7, 10))


def test_tables_type_dates_and_counts(demo_consolidated):
    tables = report_tables(demo_consolidated, "en")
    header, rows = tables["Construction measures"]
    deadline, planned = header.index("Deadline"), header.index("Planned objects")
    assert all(isinstance(r[deadline], date) for r in rows)
    assert all(type(r[planned]) is int for r in rows)
    m15 = next(r for r in rows if r[0].startswith("№15 "))
    assert m15[0] == "№15 5 health centres" and m15[1] == "Abai, Atyrau and Kostanay regions and Astana city"
    header, rows = tables["Other measures"]
    assert all(r[header.index("Due")] is None or isinstance(r[header.index("Due")], date) for r in rows)


@pytest.mark.parametrize(
    ("lang", "title", "label", "regions"),
    [
        ("en", "Construction of 6 art schools in Aktobe, Mangystau and Turkistan regions and Astana city",
         "№20 6 art schools", "Aktobe, Mangystau and Turkistan regions and Astana city"),
        ("ru", "Строительство 6 школ искусств в Актюбинской, Мангистауской, Туркестанской областях, городе Астане",
         "№20 6 школ искусств", "Актюбинской, Мангистауской, Туркестанской областях, городе Астане"),
        ("kk", "Ақтөбе, Маңғыстау, Түркістан облысында, Астана қаласында 6 өнер мектебін салу",
         "№20 6 өнер мектебін салу", "Ақтөбе, Маңғыстау, Түркістан облысында, Астана қаласында"),
        # "broken down by regions" is no list of regions: the label is the title's first words, shortened.
        ("ru", "Разработка сводного плана создания 50 новых центров оздоровления и отдыха в разрезе областей",
         "№20 Разработка сводного плана создания 50 новых…", ""),
    ],
)  # fmt: skip
def test_measure_label_and_regions(lang, title, label, regions):
    assert measure_label(20, title, lang) == label
    assert measure_title_split(title, lang)[1] == regions
    assert len(label) <= 48


def test_xlsx_numbers_dates_widths_totals_and_print_setup(demo_consolidated):
    wb = load_workbook(io.BytesIO(render_xlsx(demo_consolidated, "en")))
    ws = wb["Construction measures"]
    rows = list(ws.iter_rows(values_only=True))
    header, body, totals = rows[0], rows[1:-1], rows[-1]
    planned, done, deadline = header.index("Planned objects"), header.index("Done"), header.index("Deadline")
    assert all(type(r[planned]) is int and type(r[done]) is int for r in body)
    assert all(isinstance(r[deadline], datetime) for r in body)
    assert ws.cell(row=2, column=deadline + 1).number_format == "DD.MM.YYYY"
    assert totals[0] == "Total" and totals[planned] == sum(r[planned] for r in body) == 150
    assert totals[done] == sum(r[done] for r in body)
    assert totals[deadline] is None  # dates are not summed
    widths = {ws.column_dimensions[c].width for c in "ABCDEFG"}
    assert len(widths) > 2  # fitted to content, not one width for all
    assert ws.column_dimensions["B"].width > ws.column_dimensions["E"].width  # regions wider than a count
    assert ws.print_title_rows == "1:1" or ws.print_title_rows.endswith("$1:$1")
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert (
        ws.freeze_panes == "A2"
        and ws.auto_filter.ref == f"A1:{ws.cell(row=1, column=len(header)).column_letter}{len(rows) - 1}"
    )
    assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb.endswith("DCE4EE")
    assert "DEMO" in ws.oddHeader.center.text and "As of 2026-07-01" in ws.oddHeader.right.text
    facilities = wb["Facilities"]
    frows = list(facilities.iter_rows(values_only=True))
    assert len(frows) == 1 + 150  # no totals row where none is declared
    assert all(isinstance(r[frows[0].index("Deadline")], datetime) for r in frows[1:])


def test_pdf_of_demo_consolidated_report_reads_like_a_document(demo_consolidated):
    for lang in ("en", "kk", "ru"):
        pages = PdfReader(io.BytesIO(render_pdf(demo_consolidated, lang))).pages
        assert 3 <= len(pages) <= 10, (lang, len(pages))
    pages = PdfReader(io.BytesIO(render_pdf(demo_consolidated, "en"))).pages
    for n, page in enumerate(pages, start=1):
        text = page.extract_text()
        assert f"Page {n} of {len(pages)}" in text
        assert "As of 2026-07-01 (data recorded by 2026-07-10)" in text
        assert "DEMO DATA" in text
    text = "\n".join(p.extract_text() for p in pages)
    assert "№15 5 health centres" in text and "Abai, Atyrau and Kostanay regions" in text
    assert "31.12.2024" in text  # dates as in Kazakh documents
    # The table header repeats on every page a table continues to.
    assert sum("Responsible executor" in p.extract_text() for p in pages) >= 3


def test_pdf_without_demo_data_has_no_demo_line(demo_consolidated):
    data = {**demo_consolidated, "is_demo": False}
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(render_pdf(data, "en"))).pages)
    assert "DEMO DATA" not in text and re.search(r"Page 1 of \d+", text)


def test_csv_stays_machine_readable(demo_consolidated):
    lines = render_csv(demo_consolidated, "en").decode("utf-8-sig").splitlines()
    measures = [line for line in lines if line.startswith("Construction measures,")]
    assert len(measures) == 1 + 13  # header + one row per construction measure, no totals
    assert ",2024-12-31," in "\n".join(measures)  # ISO dates
