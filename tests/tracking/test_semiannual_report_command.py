"""`manage.py semiannual_report`: the page's report written to a file, frozen only with --submit."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook
from pypdf import PdfReader

from tracking.models import Report


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("semiannual_report", *args, stdout=out)
    return out.getvalue()


def test_consolidated_xlsx_lists_measures_1_to_26_with_their_numbers(plans, tmp_path):
    target = tmp_path / "consolidated.xlsx"
    output = run(
        "--period=2025H2",
        "--kind=consolidated",
        "--format=xlsx",
        "--lang=en",
        f"--out={target}",
        "--known-at=2026-01-05",
    )
    assert f"written {target}" in output
    wb = load_workbook(target)
    rows = list(wb["All measures"].iter_rows(values_only=True))
    header = rows[0]
    assert header[:5] == ("Measure", "Deadline", "Responsible", "Counted", "Total")
    by_number = {int(re.match(r"№(\d+) ", str(r[0]))[1]): r for r in rows[1:]}
    assert sorted(by_number) == list(range(1, 27))
    total, on_time, late, not_done = (header.index(h) for h in ("Total", "Done on time", "Done late", "Not done"))
    for number, row in by_number.items():
        numbers = [row[total], row[on_time], row[late], row[not_done]]
        assert all(isinstance(n, int) for n in numbers), (number, row)
        assert row[total] == row[on_time] + row[late] + row[not_done], (number, row)
        assert row[header.index("Status")], number
    # The 150 demo facilities of the approved plans: 50 health centres (14–17) and 100 objects (18–26).
    assert sum(by_number[n][total] for n in range(14, 18)) == 50
    assert sum(by_number[n][total] for n in range(18, 27)) == 100
    # Measure 5 counts the same 150 facilities; no parcel act anywhere, and the deadline (Q1 2024) passed.
    assert (by_number[5][total], by_number[5][not_done], by_number[5][header.index("Status")]) == (150, 150, "overdue")
    # Measures 12 and 13: the fixture's plans are approved today, after 1 Jan 2026: none was in force then.
    for number in (12, 13):
        assert (by_number[number][total], by_number[number][not_done]) == (1, 1)
        assert by_number[number][header.index("Status")] == "overdue"
    assert {"Measure 5 — land parcels", "Measure 6 — infrastructure", "Measures 12–13 — plans"} <= set(wb.sheetnames)
    assert not Report.objects.exists()  # not frozen without --submit


def test_executor_csv_and_pdf_for_one_region(plans, region_a, tmp_path):
    csv_path, pdf_path = tmp_path / "a.csv", tmp_path / "a.pdf"
    common = ["--period=2025H1", "--kind=executor", f"--region={region_a.kato}", "--lang=ru"]
    run(*common, "--format=csv", f"--out={csv_path}")
    run(*common, "--format=pdf", f"--out={pdf_path}")
    rows = list(csv.reader(io.StringIO(csv_path.read_bytes().decode("utf-8-sig"))))
    assert rows[0][:3] == ["section", "as_of", "known_at"]
    assert {r[1] for r in rows[1:]} == {"2025-07-01"}
    pdf = pdf_path.read_bytes()
    assert pdf[:4] == b"%PDF"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "2025-07-01" in text and region_a.name_ru in text


def test_submit_freezes_as_the_page_does(plans, region_a, akimat_a, akimat_b, tmp_path):
    target = tmp_path / "frozen.xlsx"
    common = ["--period=2025H1", "--kind=executor", f"--region={region_a.kato}", "--format=xlsx", "--lang=kk"]
    output = run(*common, f"--out={target}", "--submit", f"--user={akimat_a.username}")
    assert "submitted and frozen" in output
    report = Report.objects.get(kind=Report.Kind.REGION, region=region_a, as_of=date(2025, 7, 1), language="kk")
    assert report.submitted_by == akimat_a
    # The frozen snapshot holds measures 5, 6, 12, 13 for the region only.
    assert {r["region_kato"] for r in report.data["measure5"]["rows"]} == {region_a.kato}
    assert {m["number"] for m in report.data["all_measures"]} >= {5, 6, 12, 13}
    with report.xlsx_file.open("rb") as stored:
        assert stored.read() == target.read_bytes()
    # The message is in the report's language (--lang=kk): "already submitted" in Kazakh or English.
    with pytest.raises(CommandError, match="already been submitted|тапсырылған"):
        run(*common, f"--out={target}", "--submit", f"--user={akimat_a.username}")
    with pytest.raises(CommandError, match="may not submit"):
        run(*common[:-1], "--lang=ru", f"--out={target}", "--submit", f"--user={akimat_b.username}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period=2025H3", "--kind=consolidated", "--format=xlsx", "--lang=en"], "--period must look like"),
        (["--period=2030H1", "--kind=consolidated", "--format=xlsx", "--lang=en"], "2024–2026"),
        (["--period=2025H1", "--kind=executor", "--format=xlsx", "--lang=en"], "needs --region"),
        (["--period=2025H1", "--kind=executor", "--region=999999999", "--format=xlsx", "--lang=en"], "no region"),
        (["--period=2025H1", "--kind=consolidated", "--region=710000000", "--format=xlsx", "--lang=en"], "executor"),
        (["--period=2025H1", "--kind=ministry", "--format=xlsx", "--lang=en"], "--kind must be"),
        (["--period=2025H1", "--kind=consolidated", "--format=docx", "--lang=en"], "--format must be"),
        (["--period=2025H1", "--kind=consolidated", "--format=csv", "--lang=de"], "--lang must be"),
        (["--period=2025H1", "--kind=consolidated", "--format=csv", "--lang=en", "--known-at=soon"], "--known-at"),
        (["--period=2025H1", "--kind=consolidated", "--format=csv", "--lang=en", "--submit"], "needs --user"),
        (["--period=2025H1", "--kind=consolidated", "--format=csv", "--lang=en", "--user=x"], "--submit only"),
    ],
)
def test_bad_arguments_are_refused_and_nothing_is_written(db, tmp_path, args, message):
    target = tmp_path / "never.out"
    with pytest.raises(CommandError, match=re.escape(message)):
        run(*args, f"--out={target}")
    assert not target.exists() and not Report.objects.exists()


def test_out_folder_must_exist(db, tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        run("--period=2025H1", "--kind=consolidated", "--format=csv", "--lang=en", f"--out={tmp_path / 'no' / 'x.csv'}")
