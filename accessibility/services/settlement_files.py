"""Rows of a settlement list (CSV, XLSX or GeoJSON) with their columns recognised (kk/ru/en names).

Column names are compared after parcels.import_columns.column_key. A column named like an age band
("0-5", "6–17 лет", "65+") is an age group of the population. Values are returned as written; the
service (accessibility.services.settlements) checks them row by row.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile

from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from accessibility.services.errors import SettlementImportError
from parcels.import_columns import column_key, text_clean

COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    "id": ("id", "№ п/п", "номер строки"),
    "kato": ("kato", "kato code", "КАТО", "код КАТО", "КАТО коды", "код", "КАТО код"),
    "name": ("name", "settlement", "Наименование", "Название", "Населенный пункт", "Наименование населенного пункта"),
    "name_kk": (
        "name_kk", "name kk", "Атауы", "Елді мекен", "Елді мекеннің атауы", "Атауы (қаз)", "Наименование на казахском",
        "Наименование (каз)", "Наименование на государственном языке",
    ),
    "name_ru": ("name_ru", "name ru", "Наименование на русском", "Наименование (рус)", "Атауы (орыс)"),
    "population": (
        "population", "total population", "Численность", "Численность населения", "Население", "Всего",
        "Население всего", "Халық саны", "Тұрғындар саны", "Барлығы", "Халық саны барлығы",
    ),
    "child_population": (
        "child_population", "children", "Дети", "Дети 0-17", "Дети 0-17 лет", "Детское население",
        "Численность детей", "Балалар", "Балалар саны", "Балалар 0-17",
    ),
    "lon": ("lon", "lng", "longitude", "x", "Долгота", "Бойлық"),
    "lat": ("lat", "latitude", "y", "Широта", "Ендік"),
    "date": ("date", "source_date", "Дата", "На дату", "Дата данных", "Күні", "Деректер күні"),
}  # fmt: skip
_ALIASES = {column_key(s): field for field, names in COLUMN_SYNONYMS.items() for s in names}
# "0-5", "0–17 лет", "6 - 17 жас", "65+", "65 и старше" (after column_key: "0 5", "65", …).
_AGE_BAND = re.compile(
    r"^(\d{1,3})\s*(?:[-–—]\s*(\d{1,3})|\+|\s*(?:и старше|жас және одан жоғары))\s*(?:лет|жас|years?)?$"
)
FIELDS = tuple(COLUMN_SYNONYMS)
HEADER_SEARCH_LINES = 20


def age_band(column: object) -> str | None:
    """The age band a column name states ("0-5", "65+"), or None."""
    match = _AGE_BAND.match(str(column).strip().casefold())
    if not match:
        return None
    return f"{match[1]}-{match[2]}" if match[2] else f"{match[1]}+"


def _columns(names: list[object]) -> tuple[dict[str, str], dict[str, str]]:
    """({column as written: field}, {column as written: age band}); a second column naming a field is refused."""
    fields: dict[str, str] = {}
    ages: dict[str, str] = {}
    for name in names:
        if name is None or str(name).strip() == "":
            continue
        field = _ALIASES.get(column_key(name))
        if field:
            if field in fields.values():
                raise SettlementImportError(
                    _("columns: %(column)r and another column both give %(field)s") % {"column": name, "field": field}
                )
            fields[str(name)] = field
        elif band := age_band(name):
            ages[str(name)] = band
    return fields, ages


def _shape(raw_rows: list[tuple[str, dict]], names: list[object]) -> list[dict]:
    fields, ages = _columns(names)
    if "lon" in fields.values() or "lat" in fields.values():
        if not {"lon", "lat"} <= set(fields.values()):
            raise SettlementImportError(_("columns: give both longitude and latitude, or neither"))
    if not {"name", "name_kk", "name_ru"} & set(fields.values()):
        raise SettlementImportError(
            _("columns: no settlement name column (expected e.g. name, Наименование, Атауы, name_kk, name_ru)")
        )
    if "population" not in fields.values():
        raise SettlementImportError(_("missing column(s) population"))
    rows = []
    for where, raw in raw_rows:
        row = {field: raw.get(column) for column, field in fields.items()}
        row["_ages"] = {band: raw.get(column) for column, band in ages.items()}
        row["_where"] = where
        if all(text_clean(v) == "" for k, v in raw.items() if k is not None):
            continue  # an empty line between blocks of a spreadsheet
        rows.append(row)
    return rows


def rows_csv(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    names = list(reader.fieldnames or [])
    raw = [(_("CSV line %(n)s") % {"n": n}, row) for n, row in enumerate(reader, start=2)]
    return _shape(raw, names)


def rows_xlsx(content: bytes) -> list[dict]:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise SettlementImportError(
            _("XLSX: the file cannot be read as an Excel workbook (%(error)s)") % {"error": exc}
        ) from exc
    sheet = book.worksheets[0]
    lines = sheet.iter_rows(values_only=True)
    names: list[object] = []
    raw = []
    for n, line in enumerate(lines, start=1):
        if not names:
            # The header is the first line naming a known column: title lines above it are skipped.
            if any(c is not None and column_key(c) in _ALIASES for c in line):
                names = list(line)
            elif n >= HEADER_SEARCH_LINES:
                break
            continue
        raw.append((_("XLSX row %(n)s") % {"n": n}, dict(zip(names, line, strict=False))))
    if not names:
        book.close()
        raise SettlementImportError(
            _("XLSX: no line of the first %(n)s names a known column (e.g. КАТО, Наименование, population)")
            % {"n": HEADER_SEARCH_LINES}
        )
    book.close()
    return _shape(raw, names)


def rows_geojson(text: str) -> list[dict]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettlementImportError(_("GeoJSON: not valid JSON (%(error)s)") % {"error": exc}) from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise SettlementImportError(_("GeoJSON: expected a FeatureCollection"))
    raw, names = [], {"lon", "lat"}
    for n, feat in enumerate(data.get("features") or [], start=1):
        where = _("feature %(n)s") % {"n": n}
        geom = (feat or {}).get("geometry") or {}
        if geom.get("type") != "Point" or len(geom.get("coordinates") or []) < 2:
            raise SettlementImportError(
                _("%(where)s: geometry must be a Point (RFC 7946, longitude first)") % {"where": where}
            )
        props = dict(feat.get("properties") or {})
        props.setdefault("id", feat.get("id"))
        props["lon"], props["lat"] = geom["coordinates"][0], geom["coordinates"][1]
        names |= set(props)
        raw.append((where, props))
    return _shape(raw, sorted(names, key=str))
