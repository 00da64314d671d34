"""Consolidated plans in Excel: the template, a lossless round trip, every error of the form, the command, the pages."""

from __future__ import annotations

import io
from io import StringIO

import openpyxl
import pytest
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from facilities.models import ConstructionQuota, Facility
from layers.models import District, Region
from tracking.models import Plan, PlanItem
from tracking.plan_xlsx import KEYS, PlanFileError, workbook_read
from tracking.selectors import plan_workbook
from tracking.services import (
    PlanImportError,
    TrackingError,
    plan_approve,
    plan_check,
    plan_create,
    plan_item_add,
    plan_xlsx_import,
)


def book(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def saved(wb: openpyxl.Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def plan_cells(data: bytes) -> list[tuple]:
    """The plan sheet's cell values, header and key rows included, trailing empty rows dropped."""
    rows = [tuple(r) for r in book(data)["plan"].iter_rows(values_only=True)]
    return [r for r in rows if any(v is not None for v in r)]


def column(name: str) -> int:
    return KEYS.index(name) + 1


def export(plans, lang: str = "en") -> bytes:
    with translation.override(lang):
        return plan_workbook(plans=plans)


def items_state(plan) -> list[tuple]:
    return sorted(
        PlanItem.objects.filter(plan=plan).values_list(
            "measure_id", "region_id", "district_id", "year", "count", "ppp_count", "places_each"
        )
    )


# --- the template -----------------------------------------------------------------------------------


def test_template_has_validation_lists_covering_the_choices(plans):
    wb = book(export([plans[12], plans[13]]))
    assert wb.sheetnames == ["plan", "lists", "read_me"]
    ws, lists = wb["plan"], wb["lists"]
    assert lists.sheet_state == "hidden"
    assert ws.row_dimensions[2].hidden and [c.value for c in ws[2]] == list(KEYS)
    assert ws.freeze_panes == "B3"
    assert ws.cell(row=3, column=column("longitude")).number_format == "0.000000"

    def listed(key: str) -> list:
        header = [c.value for c in lists[1]]
        (formula,) = [
            dv.formula1
            for dv in ws.data_validations.dataValidation
            if str(dv.sqref).startswith(openpyxl.utils.get_column_letter(column(key)) + "3:")
        ]
        assert formula.startswith("lists!$")
        letter = formula.split("$")[1]
        assert header[openpyxl.utils.column_index_from_string(letter) - 1] is not None
        return [c.value for c in lists[letter][1:] if c.value is not None]

    assert listed("measure") == list(range(14, 27))
    assert listed("year") == [2024, 2025, 2026]
    assert sorted(listed("region_kato")) == sorted(Region.objects.values_list("kato", flat=True))
    assert len(listed("region_name")) == Region.objects.count()
    assert sorted(listed("district_kato")) == sorted(District.objects.values_list("kato", flat=True))
    kinds = {q.object_kind.name_en for q in ConstructionQuota.objects.select_related("object_kind")}
    assert set(listed("facility_kind")) == kinds
    types = {str(dv.sqref).split(":")[0]: dv.type for dv in ws.data_validations.dataValidation}
    assert types[f"{openpyxl.utils.get_column_letter(column('count'))}3"] == "whole"
    assert types[f"{openpyxl.utils.get_column_letter(column('latitude'))}3"] == "decimal"
    readme = "\n".join(str(c.value) for row in wb["read_me"].iter_rows() for c in row if c.value)
    assert "191-ө" in readme and "DEMO DATA" in readme and "Data as of" in readme
    assert all(key in readme for key in KEYS)
    # The rows: 50 + 100 objects, one row per cell, keyed.
    rows = plan_cells(export([plans[12], plans[13]]))[2:]
    assert sum(r[column("count") - 1] for r in rows) == 150
    assert len({r[0] for r in rows}) == len(rows)


def test_names_follow_the_language_and_keys_do_not(plans):
    kk, ru = plan_cells(export([plans[13]], "kk")), plan_cells(export([plans[13]], "ru"))
    assert kk[1] == ru[1] == KEYS
    name = column("region_name") - 1
    first = Region.objects.get(kato=kk[2][column("region_kato") - 1])
    assert (kk[2][name], ru[2][name]) == (first.name_kk, first.name_ru)
    assert [r[0] for r in kk[1:]] == [r[0] for r in ru[1:]]  # the row keys too (row 1 holds the headers)


# --- round trip -------------------------------------------------------------------------------------


@pytest.fixture
def located_draft(plans):
    """A draft of plan 13 whose first row (one object) has a location inside its district, and names."""
    draft = plan_create(plan_measure=13, copy_from=plans[13])
    item = draft.items.filter(count=1, district__isnull=False).select_related("district").order_by("id").first()
    spot = item.district.geom.point_on_surface
    spot.srid = 4326
    PlanItem.objects.filter(pk=item.pk).update(
        location=spot, name_kk="Шығармашылық үйі", name_ru="Дом творчества", name_en="House of creativity"
    )
    return draft


def test_round_trip_is_lossless(located_draft):
    first = export([located_draft])
    empty = plan_create(plan_measure=13)
    (result,) = plan_xlsx_import(rows=workbook_read(first), plan=empty)
    assert (result.plan, result.created, result.added) == (empty, False, 100)
    assert result.warnings == []
    second = export([empty])
    assert plan_cells(second) == plan_cells(first)
    assert items_state(empty) == items_state(located_draft)
    located = empty.items.exclude(location=None).get()
    assert located.name_ru == "Дом творчества"


def test_keyed_rows_update_the_draft_and_missing_rows_go_only_when_asked(located_draft):
    wb = book(export([located_draft]))
    ws = wb["plan"]
    ws.cell(row=3, column=column("places_each"), value=777)
    ws.delete_rows(4)  # one row fewer
    data = saved(wb)
    (kept,) = plan_xlsx_import(rows=workbook_read(data), plan=located_draft)
    assert (kept.updated, kept.added, kept.removed) == (1, 0, 0)
    assert located_draft.items.count() == 100
    with translation.override("en"):
        (removed,) = plan_xlsx_import(rows=workbook_read(data), plan=located_draft, remove_missing=True)
    assert (removed.updated, removed.removed, removed.unchanged) == (0, 1, 99)
    assert located_draft.items.count() == 99
    assert any("requires" in w for w in removed.warnings), removed.warnings  # a shortfall is left for the draft


def test_an_approved_plan_is_never_changed_upload_makes_a_new_draft(plans):
    before = items_state(plans[13])
    (result,) = plan_xlsx_import(rows=workbook_read(export([plans[13]])), plan=plans[13])
    assert result.created and result.plan.status == Plan.Status.DRAFT
    assert result.plan.version == plans[13].version + 1
    assert result.unchanged == 100
    plans[13].refresh_from_db()
    assert plans[13].status == Plan.Status.APPROVED and items_state(plans[13]) == before


# --- every error the form knows -----------------------------------------------------------------------


@pytest.fixture
def bad_file(plans):
    """The approved plan 13 with one error of every kind, row by row (Excel row numbers)."""
    wb = book(export([plans[13]]))
    ws = wb["plan"]
    ws.cell(row=3, column=column("measure"), value=99)  # unknown measure
    ws.cell(row=4, column=column("year"), value=2030)  # year out of range
    ws.cell(row=5, column=column("places_each"), value=0)  # places ≤ 0
    # A new row of measure 19 in Astana: measure 19 does not name Astana.
    for key, value in {"measure": 19, "region_kato": "710000000"}.items():
        ws.cell(row=6, column=column(key), value=value)
    for key in ("key", "region_name", "district_kato", "district_name", "facility_kind"):
        ws.cell(row=6, column=column(key)).value = None  # cell(value=None) would leave the value
    # Location outside its region: the row's region centre with latitude and longitude swapped.
    region = Region.objects.get(kato=str(ws.cell(row=7, column=column("region_kato")).value))
    ws.cell(row=7, column=column("longitude"), value=region.centre.y)
    ws.cell(row=7, column=column("latitude"), value=region.centre.x)
    ws.cell(row=8, column=column("count"), value=4)  # quota exceeded
    ws.cell(row=9, column=column("region_kato"), value="999999999")  # unknown region
    ws.cell(row=10, column=column("ppp_count"), value=5)  # more PPP objects than objects
    ws.cell(row=11, column=column("count"), value=0)  # no objects
    ws.cell(row=12, column=column("facility_kind"), value="Spaceport")  # not the measure's kind
    ws.cell(row=13, column=column("longitude"), value=71.4)  # longitude without latitude
    return saved(wb)


def test_a_file_with_every_error_lists_each_and_saves_nothing(plans, bad_file):
    draft = plan_create(plan_measure=13, copy_from=plans[13])
    before, plans_before = items_state(draft), Plan.objects.count()
    with translation.override("en"), pytest.raises(PlanImportError) as caught:
        plan_xlsx_import(rows=workbook_read(bad_file), plan=draft)
    where = {(e.row, e.column) for e in caught.value.errors}
    assert {
        (3, "measure"),
        (4, "year"),
        (5, "places_each"),
        (6, "region_name"),
        (7, "longitude"),
        (9, "region_kato"),
        (10, "ppp_count"),
        (11, "count"),
        (12, "facility_kind"),
        (13, "longitude"),
    } <= where
    with translation.override("en"):
        text = "\n".join(str(e) for e in caught.value.errors)
    assert "unknown measure 99" in text
    assert "does not name the region" in text
    assert "swapped" in text
    assert "the order requires" in text  # quota exceeded: a file-level error
    assert "row 7" in text and "“Longitude”" in text
    assert items_state(draft) == before and Plan.objects.count() == plans_before


def test_duplicate_rows_and_keys_are_row_errors(plans):
    wb = book(export([plans[13]]))
    ws = wb["plan"]
    for col in range(1, len(KEYS) + 1):
        ws.cell(row=103, column=col, value=ws.cell(row=3, column=col).value)  # rows 3–102 are the plan's 100
    with pytest.raises(PlanImportError) as caught:
        plan_xlsx_import(rows=workbook_read(saved(wb)), plan=plan_create(plan_measure=13))
    assert {e.column for e in caught.value.errors if e.row == 103} >= {"key", "measure"}


# --- bad files ----------------------------------------------------------------------------------------


def test_bad_files_get_plain_messages(plans):
    with translation.override("en"):
        with pytest.raises(PlanFileError, match="not an Excel workbook.*PDF"):
            workbook_read(b"%PDF-1.7 rest")
        with pytest.raises(PlanFileError, match="not an Excel workbook.*plain text"):
            workbook_read(b"measure;year\n14;2025\n")
        other = openpyxl.Workbook()
        other.active.title = "Sheet1"
        with pytest.raises(PlanFileError, match="no sheet “plan”.*Sheet1"):
            workbook_read(saved(other))
        wb = book(export([plans[13]]))
        wb["plan"].delete_cols(column("count"))
        with pytest.raises(PlanFileError, match="Columns missing.*“Objects” \\(count\\)"):
            workbook_read(saved(wb))
        wb = book(export([plans[13]]))
        wb["plan"].delete_rows(2)  # the key row gone, a header renamed
        wb["plan"].cell(row=1, column=column("year"), value="Jahr")
        with pytest.raises(PlanFileError, match="not recognised: “Jahr”"):
            workbook_read(saved(wb))


def test_headers_alone_are_enough_in_any_language(plans):
    wb = book(export([plans[13]], "ru"))
    wb["plan"].delete_rows(2)
    rows = workbook_read(saved(wb))
    assert len(rows) == 100 and rows[0].number == 2 and rows[0].values["measure"] == 18


# --- the command ----------------------------------------------------------------------------------------


def test_command_exports_imports_and_fails_with_the_row_errors(plans, bad_file, tmp_path):
    out = tmp_path / "plans.xlsx"
    stdout = StringIO()
    call_command("plan_xlsx", "export", "--out", str(out), "--lang", "en", stdout=stdout)
    assert "plan 12" in stdout.getvalue() and "plan 13" in stdout.getvalue()
    assert len(plan_cells(out.read_bytes())) == 2 + len(PlanItem.objects.filter(plan__in=plans.values()))

    versions = Plan.objects.count()
    stdout = StringIO()
    call_command("plan_xlsx", "import", str(out), "--dry-run", stdout=stdout)
    assert "Dry run: nothing was saved." in stdout.getvalue() and Plan.objects.count() == versions

    stdout = StringIO()
    call_command("plan_xlsx", "import", str(out), stdout=stdout)
    assert Plan.objects.count() == versions + 2  # a new draft of 12 and of 13
    assert stdout.getvalue().count("unchanged") == 2

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(bad_file)
    stderr = StringIO()
    with pytest.raises(CommandError, match="nothing was saved") as caught:
        call_command("plan_xlsx", "import", str(bad), "--plan", str(plans[13].pk), "--lang", "en", stderr=stderr)
    assert caught.value.returncode == 1
    assert "row 3" in stderr.getvalue() and "unknown measure 99" in stderr.getvalue()
    assert Plan.objects.count() == versions + 2

    text = tmp_path / "plan.csv"
    text.write_text("measure;year\n14;2025\n")
    with pytest.raises(CommandError, match="not an Excel workbook"):
        call_command("plan_xlsx", "import", str(text), "--lang", "en")
    with pytest.raises(CommandError, match="no plan with ID"):
        call_command("plan_xlsx", "export", "--plan", "999999", "--out", str(out))


# --- the pages ----------------------------------------------------------------------------------------


def upload(data: bytes, name: str = "plan.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def test_download_is_for_signed_in_roles(client, plans, akimat_a):
    url = f"/en/tracking/plans/{plans[13].pk}/xlsx/"
    response = client.get(url)
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(akimat_a)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="plan-13-v{plans[13].version}.xlsx"'
    assert plan_cells(response.content)[1] == KEYS
    both = client.get("/en/tracking/plans/xlsx/")
    assert (
        both.status_code == 200
        and len(plan_cells(both.content)) == 2 + PlanItem.objects.filter(plan__in=plans.values()).count()
    )


def test_upload_only_by_the_ministry(client, plans, akimat_a, planner, bad_file, monkeypatch):
    url = f"/en/tracking/plans/{plans[13].pk}/upload/"
    good = export([plans[13]])
    versions = Plan.objects.count()
    assert client.post(url, {"file": upload(good)}).status_code == 302  # anonymous: to the sign-in page
    client.force_login(akimat_a)
    assert client.post(url, {"file": upload(good)}).status_code == 403
    assert Plan.objects.count() == versions

    client.force_login(planner)
    response = client.post(url, {"file": upload(bad_file)})
    assert response.status_code == 400
    page = response.content.decode()
    assert "The file was not loaded" in page and "row 3" in page and "Nothing was saved." in page
    assert Plan.objects.count() == versions

    response = client.post(url, {"file": upload(b"%PDF-1.4 x", "plan.xlsx")})
    assert response.status_code == 400 and "it looks like a PDF document" in response.content.decode()

    with monkeypatch.context() as patch:
        patch.setattr("tracking.forms.PLAN_XLSX_MAX_BYTES", 1000)
        response = client.post(url, {"file": upload(good)})
    assert response.status_code == 400 and "a plan workbook may be at most 1" in response.content.decode()

    response = client.post(url, {"file": upload(good)})
    assert response.status_code == 302
    new = Plan.objects.get(plan_measure_id=13, version=plans[13].version + 1)
    assert response["Location"].endswith(f"/tracking/plans/{new.pk}/")
    assert new.status == Plan.Status.DRAFT and items_state(new) == items_state(plans[13])


# --- a located row: the form's path and approval ---------------------------------------------------------


def test_a_located_row_is_checked_on_the_page_path_and_placed_by_approval(plans, planner):
    draft = plan_create(plan_measure=13, copy_from=plans[13])
    item = draft.items.filter(measure_id=21, year=2025).select_related("region", "district").order_by("id").first()
    with translation.override("en"), pytest.raises(TrackingError, match="outside Kazakhstan"):
        plan_item_add(
            plan=draft,
            user=planner,
            measure=21,
            region_id=item.region_id,
            year=2024,
            count=1,
            location=Point(0, 0, srid=4326),
        )
    spot = item.district.geom.point_on_surface
    spot.srid = 4326
    # The row moves to 2024, where no facility is planned yet: approval creates one where the row says.
    PlanItem.objects.filter(pk=item.pk).update(year=2024, location=spot, name_en="Creative centre No. 7")
    assert plan_check(plan=draft, user=planner) == []
    plan_approve(plan=draft, user=planner)
    facility = Facility.objects.get(tracking__plan_item_id=item.pk)
    assert facility.location.equals_exact(spot, tolerance=1e-9) and facility.name_en == "Creative centre No. 7"
    assert facility.planned_year == 2024
