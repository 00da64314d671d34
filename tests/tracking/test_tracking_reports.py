"""Semi-annual reports: contents against a hand-computed fixture, files read back, freezing, permissions."""

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from facilities.models import ResponsibleBody
from tracking.models import Report, TrackedFacility
from tracking.reports import render_csv, render_pdf, render_xlsx, report_data_build
from tracking.services import PermissionDeniedError, TrackingError, report_submit, school_age_official_set

AS_OF = date(2025, 7, 1)


@pytest.fixture
def astana(plans, region_a, record):
    """Astana's facilities with a hand-made history (see the expected table in the tests).

    Astana gets, from the order's regions and the demo split: measure 15: 1, 18: 1, 20: 1,
    21: 2, 24: 1, 26: 2 facilities.
    """
    by_measure = {}
    for t in TrackedFacility.objects.filter(facility__region=region_a).order_by("facility_id"):
        by_measure.setdefault(t.facility.measure_id, []).append(t)
    m15, m18, m20 = by_measure[15][0], by_measure[18][0], by_measure[20][0]
    for t, accepted, recorded in (
        (m15, "2024-12-20", "2024-12-22"),
        (m20, "2025-03-10", "2025-03-12"),
        (m18, "2025-06-15", "2025-07-08"),
    ):
        record(t, "parcel", "2023-03-01")
        record(t, "design", "2023-05-01")
        record(t, "expertise", "2023-08-01")
        record(t, "construction_started", "2023-09-01")
        record(t, "accepted", accepted, recorded=recorded)
    record(m15, "opened", "2025-01-15", places_in_use=250)
    record(by_measure[21][0], "parcel", "2024-03-01")
    TrackedFacility.objects.filter(pk=m18.pk).update(
        overdue_reason="late supply of equipment", executor="ГУ строительства"
    )
    return by_measure


def test_region_report_matches_hand_computed_table(astana, region_a):
    data = report_data_build(kind=Report.Kind.REGION, as_of=AS_OF, region=region_a)
    assert data["known_at"] == "2025-07-05" and data["due"] == "2025-07-05"
    got = {
        m["number"]: (m["planned"], m["done"], {k: v for k, v in m["statuses"].items() if v}) for m in data["measures"]
    }
    assert got == {
        15: (1, 1, {"done_on_time": 1}),  # accepted 20 Dec 2024, due Dec 2024
        18: (1, 0, {"overdue": 1}),  # accepted 15 Jun 2025 but recorded 8 Jul: not known on 5 Jul
        20: (1, 1, {"done_late": 1}),  # accepted 10 Mar 2025, due Dec 2024
        21: (2, 0, {"at_risk": 2}),  # due Dec 2025: no expertise by Mar 2025 / no parcel by Dec 2024
        24: (1, 0, {"not_started": 1}),  # due Dec 2026: no rule applies yet
        26: (2, 0, {"not_started": 2}),
    }
    overdue = [f for f in data["facilities"] if f["status"] == "overdue"]
    assert [(f["measure"], f["overdue_reason"], f["executor"]) for f in overdue] == [
        (18, "late supply of equipment", "ГУ строительства")
    ]
    # Known by 10 July, the measure-18 centre counts as done late.
    later = report_data_build(kind=Report.Kind.REGION, as_of=AS_OF, region=region_a, known_at=date(2025, 7, 10))
    assert {m["number"]: m["statuses"]["done_late"] for m in later["measures"]}[18] == 1
    # Measure 11 rows: one per half-year due by then (Jun and Dec 2024, Jun 2025) and after.
    m11 = [o for o in data["other_measures"] if o["number"] == 11]
    assert len(m11) == 6 and {o["status"] for o in m11 if o["due"] < "2025-07-01"} == {"overdue"}


def test_kpi_from_open_places_and_official_population(astana, region_a, planner):
    school_age_official_set(region_id=region_a.id, year=2025, value=100_000, source="Test bureau", user=planner)
    data = report_data_build(kind=Report.Kind.REGION, as_of=AS_OF, region=region_a)
    rec = next(k for k in data["kpis"] if k["code"] == "recreation_coverage")
    # The measure-15 centre's kind (health centre) serves 4 children per place a year (4 shifts,
    # facilities/data/roadmap.json): 250 × 4 = 1,000 children, 1 p.p. of 100,000.
    assert (rec["places"], rec["children"], rec["population"], rec["population_official"], rec["added_pp"]) == (
        250,
        1000,
        100_000,
        True,
        1.0,
    )
    edu = next(k for k in data["kpis"] if k["code"] == "additional_education_coverage")
    assert edu["places"] == 0 and edu["added_pp"] == 0.0


def test_files_open_and_hold_the_numbers(astana, region_a):
    data = report_data_build(kind=Report.Kind.REGION, as_of=AS_OF, region=region_a)
    wb = load_workbook(io.BytesIO(render_xlsx(data, "ru")))
    sheet = wb["Строительные мероприятия"] if "Строительные мероприятия" in wb.sheetnames else wb.worksheets[1]
    rows = list(sheet.iter_rows(values_only=True))
    m15 = next(r for r in rows[1:] if str(r[0]).startswith("№15 "))
    assert (m15[4], m15[5]) == (1, 1)  # planned, done (after the regions and deadline)
    assert m15[-1] == "открыт (места используются): 1"  # stage reached, in Russian
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(render_pdf(data, "kk"))).pages)
    assert "2025-07-01" in text and "late supply of equipment" in text and "Астана" in text
    rows = list(csv.reader(io.StringIO(render_csv(data, "en").decode("utf-8-sig"))))
    assert rows[0][:3] == ["section", "as_of", "known_at"]
    overdue = [r for r in rows if r[0] == "Overdue and at risk"]
    assert len(overdue) == 1 + 3  # header + the measure-18 centre + the two measure-21 ones


def test_submitted_report_is_frozen(astana, region_a, akimat_a, akimat_b, record):
    report = report_submit(kind=Report.Kind.REGION, as_of=AS_OF, language="ru", region=region_a, user=akimat_a)
    stored_pdf = report.pdf_file.read()
    snapshot = report.data
    # Later the akimat records an old acceptance: live reports change, the submitted one does not.
    t = astana[24][0]
    for stage, day in (
        ("parcel", "2024-01-10"),
        ("design", "2024-02-01"),
        ("expertise", "2024-03-01"),
        ("construction_started", "2024-04-01"),
        ("accepted", "2025-06-01"),
    ):
        record(t, stage, day, recorded="2025-07-03")
    live = report_data_build(kind=Report.Kind.REGION, as_of=AS_OF, region=region_a)
    assert next(m for m in live["measures"] if m["number"] == 24)["done"] == 1
    report.refresh_from_db()
    assert report.data == snapshot and next(m for m in report.data["measures"] if m["number"] == 24)["done"] == 0
    report.pdf_file.open("rb")
    assert report.pdf_file.read() == stored_pdf
    with pytest.raises(TrackingError):
        report_submit(kind=Report.Kind.REGION, as_of=AS_OF, language="ru", region=region_a, user=akimat_a)
    with pytest.raises(PermissionDeniedError):
        report_submit(kind=Report.Kind.REGION, as_of=AS_OF, language="kk", region=region_a, user=akimat_b)
    with pytest.raises(PermissionDeniedError):
        report_submit(kind=Report.Kind.CONSOLIDATED, as_of=AS_OF, language="kk", user=akimat_a)
    with pytest.raises(TrackingError):
        report_submit(kind=Report.Kind.CONSOLIDATED, as_of=date(2025, 7, 5), language="kk")


def test_consolidated_and_body_reports(astana, planner):
    data = report_data_build(kind=Report.Kind.CONSOLIDATED, as_of=AS_OF)
    assert data["due"] == "2025-07-20" and len(data["facilities"]) == 150
    assert sum(m["planned"] for m in data["measures"]) == 150
    national = [k for k in data["kpis"] if k["region_kato"] == ""]
    assert {k["code"]: k["baseline"] for k in national} == {
        "recreation_coverage": 7.6,
        "additional_education_coverage": 81.1,
    }
    body = ResponsibleBody.objects.get(code="МАМ")  # culture ministry: measures 11 and 13 only
    data = report_data_build(kind=Report.Kind.BODY, as_of=AS_OF, body=body)
    assert data["measures"] == [] and {o["number"] for o in data["other_measures"]} == {11}
