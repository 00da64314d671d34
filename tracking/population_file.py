"""Reading a file of district population figures (CSV or XLSX): its table, its columns, its values.

No database here: tracking.services.population_districts matches the rows to districts and saves them.
Column names are compared as parcels.import_columns.column_key makes them (case, Kazakh letters,
punctuation folded), so "Код КАТО", "като коды" and "KATO" all name the KATO column.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from layers.models import INDICATOR_AGES, PopulationFigure
from parcels import sniff
from parcels.import_columns import column_key, is_blank, number_parse, text_clean

MAX_ROWS = 20_000

# Field -> the names a ministry, akimat or statistics office file uses for it (en, ru, kk).
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "kato": ("kato", "kato code", "district kato", "като", "код като", "като района", "като коды", "аудан като"),
    "district": ("district", "district name", "район", "наименование района", "аудан", "аудан атауы"),
    "region": ("region", "region kato", "область", "регион", "облыс", "өңір", "като области"),
    "age": (
        "age", "age band", "age group", "indicator", "возраст", "возрастная группа", "показатель", "жас",
        "жас тобы", "көрсеткіш",
    ),
    "age_from": ("age from", "from age", "возраст от", "жастан", "жас басы"),
    "age_to": ("age to", "to age", "возраст до", "жасқа дейін", "жас соңы"),
    "year": ("year", "год", "жыл"),
    "date": ("date", "reference date", "на дату", "дата", "күні", "мерзімі"),
    "value": ("value", "population", "count", "численность", "население", "значение", "халық саны", "саны", "мәні"),
    "source": ("source", "источник", "дереккөз", "көзі"),
    "source_issued": (
        "source date", "date of source", "date of the source", "published", "дата источника", "дата публикации",
        "дереккөз күні", "жарияланған күні",
    ),
}  # fmt: skip
REQUIRED = ("value", "source", "source_issued")

_KEYS = {column_key(name): field for field, names in COLUMN_NAMES.items() for name in names}


class FileUnreadable(ValueError):
    """The whole file is refused (not CSV/XLSX, no table, required columns missing); the message says why."""


@dataclass
class Table:
    columns: dict[str, str]  # field -> the file's own column name
    rows: list[tuple[int, dict[str, object]]]  # (row number as the user sees it, {field: cell})


def _csv_rows(data: bytes) -> list[list[object]]:
    """The rows of a CSV, its text encoding and separator as Excel writes them (parcels.sniff.csv_text_decode)."""
    decoded = sniff.csv_text_decode(data)
    if decoded is None:
        raise FileUnreadable(_("The CSV is neither UTF-8 nor Windows-1251 text."))
    return list(csv.reader(io.StringIO(decoded.text), delimiter=decoded.delimiter))


def _xlsx_rows(data: bytes) -> list[list[object]]:
    """The first worksheet's cells (values, not formulas)."""
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError):
        raise FileUnreadable(_("The Excel file cannot be read; save it again as .xlsx.")) from None
    try:
        return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def table_read(*, data: bytes, filename: str) -> Table:
    """The table of a CSV or XLSX file: the first non-empty row names the columns. Raises FileUnreadable."""
    kind = sniff.file_kind_sniff(data[: sniff.HEAD_BYTES])
    if kind is None:
        raise FileUnreadable(_("The file is empty."))
    if kind == "zip":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                kind = sniff.zip_kind_sniff(archive.namelist())
        except zipfile.BadZipFile:
            raise FileUnreadable(_("The Excel file cannot be read; save it again as .xlsx.")) from None
    if kind == "xlsx":
        cells = _xlsx_rows(data)
    elif kind == "text":
        cells = _csv_rows(data)
    else:
        raise FileUnreadable(
            _("This file is neither CSV nor an Excel workbook (.xlsx): it looks like %(kind)s.")
            % {"kind": sniff.KIND_LABELS.get(kind, kind)}
        )
    numbered = [(i, row) for i, row in enumerate(cells, start=1) if any(not is_blank(c) for c in row)]
    if not numbered:
        raise FileUnreadable(_("The file has no table."))
    (_head_number, head), body = numbered[0], numbered[1:]
    if len(body) > MAX_ROWS:
        raise FileUnreadable(_("The file has more than %(n)s rows; split it.") % {"n": MAX_ROWS})
    columns: dict[str, str] = {}
    positions: dict[str, int] = {}
    for position, name in enumerate(head):
        field = _KEYS.get(column_key(name)) if not is_blank(name) else None
        if field and field not in columns:
            columns[field] = text_clean(name)
            positions[field] = position
    missing = [f for f in REQUIRED if f not in columns]
    if "kato" not in columns and "district" not in columns:
        missing.insert(0, "kato")
    if "year" not in columns and "date" not in columns:
        missing.append("year")
    if missing:
        raise FileUnreadable(
            _("Columns missing: %(missing)s. Expected columns, in any order: %(expected)s.")
            % {"missing": ", ".join(COLUMN_NAMES[f][0] for f in missing), "expected": expected_columns()}
        )
    rows = [(number, {f: (row[p] if p < len(row) else None) for f, p in positions.items()}) for number, row in body]
    return Table(columns=columns, rows=rows)


def expected_columns() -> str:
    """The columns a file needs, as the page and the errors name them."""
    return _(
        "kato (or district with region), age (e.g. 0-17, 6–17, total; or age from and age to), year (or date), "
        "value, source, source date"
    )


_BAND = re.compile(r"^(\d{1,3})\s*(?:-|–|—|\.\.|to|до)\s*(\d{1,3})\b")
_PLUS = re.compile(r"^(\d{1,3})\s*\+")
_TOTAL_WORDS = {"total", "all", "all ages", "всего", "все", "все возрасты", "итого", "барлыгы", "барлык жас"}


def age_parse(value: object) -> tuple[str, int | None, int | None]:
    """(indicator, age from, age to) of an age cell: "total"/"всего", a named indicator code, "0-17",
    "6–17 лет", "65+" (to 120). A band with the ages of a named indicator is that indicator. Blank is the
    total population. Raises ValueError with the reason."""
    if is_blank(value):
        return PopulationFigure.Indicator.TOTAL, None, None
    text = text_clean(value)
    if text in PopulationFigure.Indicator.values:
        return text, None, None
    key = column_key(text)
    if key in _TOTAL_WORDS:
        return PopulationFigure.Indicator.TOTAL, None, None
    if match := _BAND.match(text.casefold()):
        lo, hi = int(match[1]), int(match[2])
    elif match := _PLUS.match(text):
        lo, hi = int(match[1]), 120
    else:
        raise ValueError(_("«%(v)s» is not an age band; write it as 0-17, 6-17 or total") % {"v": value})
    return band_indicator(lo, hi)


def band_indicator(lo: int, hi: int) -> tuple[str, int | None, int | None]:
    """The named indicator with ages lo–hi, else an age band. Raises ValueError for impossible ages."""
    if not 0 <= lo <= hi <= 120:
        raise ValueError(
            _("the ages %(lo)s–%(hi)s are not a band (0 to 120, the first not above the second)") % {"lo": lo, "hi": hi}
        )
    for indicator, ages in INDICATOR_AGES.items():
        if ages == (lo, hi):
            return indicator, None, None
    return PopulationFigure.AGE_BAND, lo, hi


def people_parse(value: object) -> int:
    """A number of people: whole, not negative ("12 345", "12345,0"). Raises ValueError with the reason."""
    try:
        number = number_parse(value)
    except (ValueError, InvalidOperation, ArithmeticError):
        raise ValueError(_("«%(v)s» is not a number") % {"v": value}) from None
    if number is None:
        raise ValueError(_("the value is missing"))
    if number < 0:
        raise ValueError(_("a number of people cannot be negative (%(v)s)") % {"v": value})
    if number != number.to_integral_value() or number > Decimal(2_000_000_000):
        raise ValueError(_("«%(v)s» is not a whole number of people") % {"v": value})
    return int(number)
