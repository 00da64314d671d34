"""A consolidated plan as an Excel workbook a ministry official fills in, and reading one back.

Pure openpyxl (no models): tracking.selectors.plan_export gathers the rows and the lists,
tracking.services.plan_import resolves what is read here and writes the draft.

The workbook:
- sheet "plan": row 1 the column headers in the user's language, row 2 (hidden) the stable column
  keys (COLUMNS), the plan's rows from row 3; frozen header, widths, number formats, and data
  validation lists on measure, region, district, year and facility kind (whole numbers on the counts,
  decimal degrees on longitude/latitude);
- sheet "lists" (hidden): the choices the validation lists point at;
- sheet "read_me": what each column means, the source (Order No. 191-ө), the "demo" label when demo
  rows are present, and the time the data are as of.
Sheet names and column keys are the same in every language: they are what the import reads. A file
whose key row was deleted is still read when its headers are the template's in any language.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from gis_portal.units import size_label
from parcels.sniff import HEAD_BYTES, KIND_LABELS, file_kind_sniff, zip_kind_sniff

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PLAN_SHEET = "plan"
LISTS_SHEET = "lists"
README_SHEET = "read_me"
HEADER_ROW, KEY_ROW, FIRST_DATA_ROW = 1, 2, 3
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2000
# Rows below the data that still get the validation lists (room to add rows in Excel).
SPARE_ROWS = 300
HEADER_FILL = PatternFill("solid", fgColor="DCE4EE")
DEMO_FONT = Font(bold=True, color="C00000")


@dataclass(frozen=True)
class Column:
    key: str
    label: Promise
    meaning: Promise
    width: int
    number_format: str = "General"
    required: bool = False


COLUMNS: tuple[Column, ...] = (
    Column(
        "key",
        gettext_lazy("Row key"),
        gettext_lazy(
            "Written by the portal: which row of the plan this line updates. Leave it as it is; "
            "leave it empty on a new row."
        ),
        22,
        "@",
    ),
    Column(
        "measure",
        gettext_lazy("Measure"),
        gettext_lazy("Number of the construction measure of the order, 14–26 (list)."),
        9,
        "0",
        True,
    ),
    Column("region_kato", gettext_lazy("Region KATO"), gettext_lazy("KATO code of the region (list)."), 13, "@"),
    Column(
        "region_name",
        gettext_lazy("Region"),
        gettext_lazy("Name of the region (list); the KATO code or the name is enough."),
        28,
    ),
    Column(
        "district_kato", gettext_lazy("District KATO"), gettext_lazy("KATO code of the district (optional)."), 13, "@"
    ),
    Column(
        "district_name",
        gettext_lazy("District"),
        gettext_lazy("Name of the district in that region (optional; list)."),
        28,
    ),
    Column(
        "year",
        gettext_lazy("Planned year"),
        gettext_lazy("2024, 2025 or 2026, within the measure's deadline."),
        9,
        "0",
        True,
    ),
    Column("count", gettext_lazy("Objects"), gettext_lazy("Number of objects of the row, at least 1."), 9, "0", True),
    Column(
        "ppp_count",
        gettext_lazy("Of them PPP"),
        gettext_lazy(
            "How many of the row's objects are built by public-private partnership (0 to the number of objects; "
            "“yes” means all, “no” none)."
        ),
        10,
        "0",
    ),
    Column(
        "places_each",
        gettext_lazy("Places per object"),
        gettext_lazy("Planned places (capacity) of each object; 300 when empty."),
        10,
        "0",
    ),
    Column(
        "longitude",
        gettext_lazy("Longitude"),
        gettext_lazy("WGS 84, decimal degrees east (about 46–88). Only for a row of one object; inside its region."),
        12,
        "0.000000",
    ),
    Column(
        "latitude",
        gettext_lazy("Latitude"),
        gettext_lazy("WGS 84, decimal degrees north (about 40–56). Only with the longitude."),
        12,
        "0.000000",
    ),
    Column(
        "facility_kind",
        gettext_lazy("Facility kind"),
        gettext_lazy("Kind of object the measure builds (list); written by the portal, checked on upload."),
        30,
    ),
    Column("name_kk", gettext_lazy("Name (Kazakh)"), gettext_lazy("Name of the object (optional)."), 30),
    Column("name_ru", gettext_lazy("Name (Russian)"), gettext_lazy("Name of the object (optional)."), 30),
    Column("name_en", gettext_lazy("Name (English)"), gettext_lazy("Name of the object (optional)."), 30),
)
KEYS = tuple(c.key for c in COLUMNS)
BY_KEY = {c.key: c for c in COLUMNS}


def column_label(key: str) -> str:
    return str(BY_KEY[key].label)


def row_key(*, measure: int, region_kato: str, district_kato: str | None, year: int) -> str:
    """The stable key of a plan row: its cell (measure, region, district, year), unique within a plan and
    the same in every version of the plan (a copied version keeps it)."""
    return f"{measure}/{region_kato}/{district_kato or '-'}/{year}"


@dataclass(frozen=True)
class TemplateLists:
    """The choices of the validation lists, in the language the workbook is written in."""

    measures: list[tuple[int, str]]  # number, title
    regions: list[tuple[str, str]]  # KATO, name
    districts: list[tuple[str, str, str]]  # KATO, name, region name
    years: list[int]
    kinds: list[tuple[str, str]]  # code, name


@dataclass(frozen=True)
class ReadMe:
    title: str
    lines: list[str]
    demo: str = ""  # the demo warning, shown in red when demo rows are present


class PlanFileError(Exception):
    """The file cannot be read as a plan workbook; the message says why in plain words."""


@dataclass
class FileRow:
    number: int  # the row number Excel shows
    values: dict[str, object] = field(default_factory=dict)


# --- writing ---------------------------------------------------------------------------------------


def _lists_sheet(wb: Workbook, lists: TemplateLists) -> dict[str, str]:
    """Write the hidden lists sheet; {column key: range formula of its list}."""
    ws = wb.create_sheet(LISTS_SHEET)
    columns = [
        ("measure", _("Measure"), [n for n, _t in lists.measures]),
        ("measure_title", _("Title"), [t for _n, t in lists.measures]),
        ("region_kato", _("Region KATO"), [k for k, _n in lists.regions]),
        ("region_name", _("Region"), [n for _k, n in lists.regions]),
        ("district_kato", _("District KATO"), [k for k, _n, _r in lists.districts]),
        ("district_name", _("District"), [n for _k, n, _r in lists.districts]),
        ("district_region", _("Region"), [r for _k, _n, r in lists.districts]),
        ("year", _("Planned year"), list(lists.years)),
        ("facility_kind", _("Facility kind"), [n for _c, n in lists.kinds]),
        ("facility_kind_code", _("Code"), [c for c, _n in lists.kinds]),
    ]
    ranges = {}
    for index, (key, header, values) in enumerate(columns, start=1):
        letter = get_column_letter(index)
        ws.cell(row=1, column=index, value=header).font = Font(bold=True)
        for row, value in enumerate(values, start=2):
            cell = ws.cell(row=row, column=index, value=value)
            if isinstance(value, str):
                cell.number_format = "@"
        ws.column_dimensions[letter].width = 30 if "name" in key or "title" in key or "kind" in key else 13
        ranges[key] = f"{LISTS_SHEET}!${letter}$2:${letter}${max(len(values), 1) + 1}"
    ws.sheet_state = "hidden"
    return ranges


def _validations(ws, *, ranges: dict[str, str], last_row: int) -> None:
    letters = {c.key: get_column_letter(i) for i, c in enumerate(COLUMNS, start=1)}

    def area(key: str) -> str:
        return f"{letters[key]}{FIRST_DATA_ROW}:{letters[key]}{last_row}"

    error = _("Choose a value from the list.")
    for key in ("measure", "region_kato", "region_name", "district_kato", "district_name", "year", "facility_kind"):
        dv = DataValidation(type="list", formula1=ranges[key], allow_blank=True, showErrorMessage=True, error=error)
        dv.add(area(key))
        ws.add_data_validation(dv)
    whole = {"count": ("1", "100"), "ppp_count": ("0", "100"), "places_each": ("1", "100000")}
    for key, (low, high) in whole.items():
        dv = DataValidation(
            type="whole",
            operator="between",
            formula1=low,
            formula2=high,
            allow_blank=True,
            showErrorMessage=key != "ppp_count",  # "yes"/"no" is accepted in the PPP column too
            error=_("A whole number from %(low)s to %(high)s.") % {"low": low, "high": high},
        )
        dv.add(area(key))
        ws.add_data_validation(dv)
    for key, (low, high) in {"longitude": ("-180", "180"), "latitude": ("-90", "90")}.items():
        dv = DataValidation(
            type="decimal",
            operator="between",
            formula1=low,
            formula2=high,
            allow_blank=True,
            showErrorMessage=True,
            error=_("Decimal degrees (WGS 84)."),
        )
        dv.add(area(key))
        ws.add_data_validation(dv)


def _readme_sheet(wb: Workbook, readme: ReadMe) -> None:
    ws = wb.create_sheet(README_SHEET)
    ws.append([readme.title])
    ws["A1"].font = Font(bold=True, size=14)
    if readme.demo:
        ws.append([readme.demo])
        ws.cell(row=ws.max_row, column=1).font = DEMO_FONT
    for line in readme.lines:
        ws.append([line])
    ws.append([])
    ws.append([_("Column"), _("Key"), _("Meaning")])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    for column in COLUMNS:
        required = _("required") if column.required else ""
        ws.append([str(column.label), column.key, " ".join(filter(None, [str(column.meaning), required]))])
    ws.column_dimensions["A"].width = 28
    ws.column_dimensions["B"].width = 16
    ws.column_dimensions["C"].width = 100
    for row in ws.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")


def workbook_write(*, rows: list[dict[str, object]], lists: TemplateLists, readme: ReadMe) -> bytes:
    """The plan workbook (in the active language) with `rows` (dicts keyed by COLUMNS' keys)."""
    wb = Workbook()
    ws = wb.active
    ws.title = PLAN_SHEET
    for index, column in enumerate(COLUMNS, start=1):
        header = ws.cell(row=HEADER_ROW, column=index, value=str(column.label))
        header.font = Font(bold=True)
        header.fill = HEADER_FILL
        header.alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(row=KEY_ROW, column=index, value=column.key)
        ws.column_dimensions[get_column_letter(index)].width = column.width
    ws.row_dimensions[KEY_ROW].hidden = True
    for number, row in enumerate(rows, start=FIRST_DATA_ROW):
        for index, column in enumerate(COLUMNS, start=1):
            value = row.get(column.key)
            cell = ws.cell(row=number, column=index, value=None if value in ("", None) else value)
            cell.number_format = column.number_format
    last_row = FIRST_DATA_ROW + len(rows) + SPARE_ROWS
    for index, column in enumerate(COLUMNS, start=1):
        if column.number_format != "General":
            for number in range(FIRST_DATA_ROW + len(rows), last_row + 1):
                ws.cell(row=number, column=index).number_format = column.number_format
    ws.freeze_panes = ws.cell(row=FIRST_DATA_ROW, column=2)
    ws.auto_filter.ref = f"A{KEY_ROW}:{get_column_letter(len(COLUMNS))}{max(FIRST_DATA_ROW, KEY_ROW + len(rows))}"
    _validations(ws, ranges=_lists_sheet(wb, lists), last_row=last_row)
    _readme_sheet(wb, readme)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- reading ---------------------------------------------------------------------------------------


def _fold(text: object) -> str:
    return " ".join(str(text).split()).casefold() if text is not None else ""


def _labels_any_language() -> dict[str, str]:
    """{folded header: column key} for the keys themselves and the headers in every language."""
    out = {_fold(c.key): c.key for c in COLUMNS}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            out.update({_fold(c.label): c.key for c in COLUMNS})
    return out


def _kind_check(data: bytes) -> None:
    kind = file_kind_sniff(data[:HEAD_BYTES])
    if kind is None:
        raise PlanFileError(_("The file is empty."))
    if kind == "zip":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                kind = zip_kind_sniff(archive.namelist())
        except zipfile.BadZipFile as exc:
            raise PlanFileError(_("The file is a damaged ZIP archive, not an Excel workbook.")) from exc
    if kind != "xlsx":
        raise PlanFileError(
            _("This file is not an Excel workbook (.xlsx): it looks like %(kind)s.") % {"kind": KIND_LABELS[kind]}
        )


def _header(rows: list[tuple]) -> tuple[int, dict[int, str]]:
    """(index of the first data row, {column index: key}) from the key row, else from the headers."""
    known = set(KEYS)
    for index, row in enumerate(rows[:3]):
        cells = [str(v).strip() for v in row if v not in (None, "")]
        if cells and "measure" in cells and all(c in known for c in cells):
            return index + 1, {i: str(v).strip() for i, v in enumerate(row) if v not in (None, "")}
    labels = _labels_any_language()
    header = rows[0] if rows else ()
    columns, unknown = {}, []
    for i, value in enumerate(header):
        if value in (None, ""):
            continue
        key = labels.get(_fold(value))
        if key is None:
            unknown.append(f"“{value}” ({get_column_letter(i + 1)})")
        else:
            columns[i] = key
    if unknown:
        raise PlanFileError(
            _("Columns not recognised: %(columns)s. Use the template's headers (see the sheet “%(sheet)s”).")
            % {"columns": ", ".join(unknown), "sheet": README_SHEET}
        )
    return 1, columns


def workbook_read(data: bytes) -> list[FileRow]:
    """The non-empty rows of the sheet "plan" keyed by column key; PlanFileError says why a file is refused."""
    if len(data) > MAX_BYTES:
        raise PlanFileError(
            _("The file is %(size)s; a plan workbook may be at most %(limit)s.")
            % {"size": size_label(len(data), like=MAX_BYTES), "limit": size_label(MAX_BYTES)}
        )
    _kind_check(data)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise PlanFileError(_("The Excel workbook cannot be read: it is damaged or not saved as .xlsx.")) from exc
    try:
        if PLAN_SHEET not in wb.sheetnames:
            raise PlanFileError(
                _(
                    "The workbook has no sheet “%(sheet)s” (its sheets: %(sheets)s). "
                    "Download the template from the plan's page."
                )
                % {"sheet": PLAN_SHEET, "sheets": ", ".join(wb.sheetnames)}
            )
        rows = [tuple(row) for row in wb[PLAN_SHEET].iter_rows(values_only=True)]
    finally:
        wb.close()
    first, columns = _header(rows)
    found = set(columns.values())
    missing = [k for k in ("measure", "year", "count") if k not in found]
    if not found & {"region_kato", "region_name"}:
        missing.append("region_kato")
    if missing:
        raise PlanFileError(
            _("Columns missing from the sheet “%(sheet)s”: %(columns)s (renamed or deleted?).")
            % {"sheet": PLAN_SHEET, "columns": ", ".join(f"“{column_label(k)}” ({k})" for k in missing)}
        )
    repeated = sorted({k for k in found if list(columns.values()).count(k) > 1})
    if repeated:
        raise PlanFileError(
            _("Columns given twice: %(columns)s.") % {"columns": ", ".join(f"“{column_label(k)}”" for k in repeated)}
        )
    out = []
    for offset, row in enumerate(rows[first:], start=first + 1):
        values = {key: row[i] for i, key in columns.items() if i < len(row)}
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values.values()):
            continue
        out.append(FileRow(number=offset, values=values))
    if len(out) > MAX_ROWS:
        raise PlanFileError(
            _("The sheet has %(n)s rows; a plan workbook may have at most %(max)s.") % {"n": len(out), "max": MAX_ROWS}
        )
    return out
