"""Column names and values of parcel files as land offices write them (parcels.import_columns, no database)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from parcels.import_columns import (
    BY_CHOICE,
    BY_NAME,
    DUPLICATE,
    IGNORED,
    IMPORT_ALIASES,
    UNKNOWN,
    area_parse,
    cadastral_parse,
    choice_parse,
    column_examples,
    column_key,
    columns_resolve,
    date_parse,
    file_columns,
    term_parse,
    text_clean,
)


@pytest.mark.parametrize(
    ("name", "field"),
    [
        ("Кадастровый номер", "cadastral_number"),
        ("Кадастровый №", "cadastral_number"),
        ("КАДАСТРОВЫЙ  N", "cadastral_number"),
        ("Кад. номер", "cadastral_number"),
        ("КН", "cadastral_number"),
        ("kad_nomer", "cadastral_number"),
        ("Кадастрлық нөмір", "cadastral_number"),
        ("Кадастрлық нөмірі", "cadastral_number"),
        ("Кадастрлык номер", "cadastral_number"),  # typed without a Kazakh keyboard
        ("Кадастровы", "cadastral_number"),  # the DBF's 10-character cut
        ("Кадaстровый нoмер", "cadastral_number"),  # Latin a and o among Cyrillic letters
        ("cadastral_", "cadastral_number"),
        ("Площадь, га", "declared_area_ha"),
        ("Площадь (га)", "declared_area_ha"),
        ("S, га", "declared_area_ha"),
        ("Ауданы, га", "declared_area_ha"),
        ("Площадь, г", "declared_area_ha"),
        ("declared_a", "declared_area_ha"),
        ("Номер акта", "act_number"),
        ("№ акта", "act_number"),
        ("N акта", "act_number"),
        ("Акт нөмірі", "act_number"),
        ("Дата акта", "act_date"),
        ("Акт күні", "act_date"),
        ("Дата выдачи акта", "act_date"),
        ("Категория земель", "land_category"),
        ("Жер санаты", "land_category"),
        ("land_categ", "land_category"),
        ("Вид права", "right_type"),
        ("Право", "right_type"),
        ("Құқық түрі", "right_type"),
        ("Срок, лет", "term_years"),
        ("Мерзімі, жыл", "term_years"),
        ("Мерзімі, ж", "term_years"),
        ("Примечание", "notes"),
        ("Ескерту", "notes"),
        ("Кем выдан / Акимат", "issuing_akimat"),
        ("issuing_ak", "issuing_akimat"),
        ("Статус", "status"),
        ("facility_id", "facility_ref"),
        ("facility_i", "facility_ref"),
        ("Объект", "facility_ref"),
        ("Код объекта", "facility_ref"),
        ("Номер объекта", "facility_ref"),
        ("Нысан", "facility_ref"),
        ("№ по плану", "facility_ref"),
        ("reference", "facility_ref"),
    ],
)
def test_column_names_as_land_offices_write_them(name, field):
    assert IMPORT_ALIASES.get(column_key(name)) == field


@pytest.mark.parametrize("name", ["Площадь", "Ауданы", "area", "Адрес", "Шифр", ""])
def test_unit_less_and_unrelated_columns_are_not_guessed(name):
    assert column_key(name) not in IMPORT_ALIASES


def test_column_key_folds_case_punctuation_yo_and_number_signs():
    assert column_key("  Кадастровый_№ ") == column_key("кадастровый номер") == "кадастровый номер"
    assert column_key("Дата выдачи (ё)") == "дата выдачи е"
    assert column_key("Акт нөмірі") == column_key("АКТ НОМЕР") == "акт номер"


def test_columns_resolve_names_choices_duplicates_and_unknown():
    columns = ["Кадастровый номер", "КН", "Адрес", "Шифр", "Площадь", "Area, ha"]
    uses = columns_resolve(columns, mapping={"адрес": "", "ШИФР": "facility_ref", "площадь": "declared_area_ha"})
    by_column = {u.column: u for u in uses}
    assert [u.column for u in uses] == columns
    assert (by_column["Кадастровый номер"].how, by_column["Кадастровый номер"].feeds) == (BY_NAME, "cadastral_number")
    assert by_column["КН"].how == DUPLICATE and by_column["КН"].other == "Кадастровый номер"
    assert not by_column["КН"].feeds and not by_column["КН"].choosable
    assert by_column["Адрес"].how == IGNORED and by_column["Адрес"].choosable
    assert (by_column["Шифр"].how, by_column["Шифр"].feeds) == (BY_CHOICE, "facility_ref")
    # A chosen column gives way to a column recognised by name for the same field.
    assert by_column["Площадь"].how == DUPLICATE and by_column["Площадь"].other == "Area, ha"
    assert by_column["Area, ha"].how == BY_NAME


def test_columns_resolve_ignores_a_choice_of_an_unknown_field_and_choices_for_known_names():
    uses = columns_resolve(["Шифр", "Статус"], mapping={"Шифр": "geom", "Статус": "notes"})
    assert [(u.how, u.feeds) for u in uses] == [(UNKNOWN, ""), (BY_NAME, "status")]


def test_file_columns_and_examples_keep_file_order():
    rows = [{"a": "", "b": 1.0}, {"c": "x" * 50, "a": "—"}, {"a": "first"}]
    assert file_columns(rows) == ["a", "b", "c"]
    assert column_examples(rows) == {"b": "1", "c": "x" * 40, "a": "first"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.03.2024", date(2024, 3, 12)),
        ("12/03/2024", date(2024, 3, 12)),
        ("2024-03-12", date(2024, 3, 12)),
        ("12.03.2024 0:00:00", date(2024, 3, 12)),
        ("2024-03-12T00:00:00", date(2024, 3, 12)),
        ("12.03.2024 г.", date(2024, 3, 12)),
        ("1.3.2024", date(2024, 3, 1)),
        (date(2024, 3, 12), date(2024, 3, 12)),
        (datetime(2024, 3, 12, 10, 30), date(2024, 3, 12)),
        (45363, date(2024, 3, 12)),  # Excel's serial day number
        (45363.0, date(2024, 3, 12)),
        ("45363", date(2024, 3, 12)),
        ("", None),
        (None, None),
        ("—", None),
    ],
)
def test_dates(value, expected):
    assert date_parse(value) == expected


@pytest.mark.parametrize("value", ["31.02.2024", "12.03.24", "вчера", "2024", 2024, "12.13.2024", True])
def test_not_dates_give_a_plain_reason(value):
    with pytest.raises(ValueError, match="is not a date; write it as dd.mm.yyyy"):
        date_parse(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1 234,5", Decimal("1234.5")),
        ("1\u00a0234,5", Decimal("1234.5")),
        ("1\u202f234,56789", Decimal("1234.5679")),
        ("4,5", Decimal("4.5")),
        ("4.5", Decimal("4.5")),
        ("1.234,5", Decimal("1234.5")),
        ("1,234.5", Decimal("1234.5")),
        ("4,5 га", Decimal("4.5")),
        ("1.234.567", Decimal("1234567")),
        ("1,234,567", Decimal("1234567")),
        ("-2,5", Decimal("-2.5")),
        (4, Decimal("4")),
        (4.25, Decimal("4.25")),
        ("", None),
        (None, None),
    ],
)
def test_areas(value, expected):
    assert area_parse(value) == expected


@pytest.mark.parametrize(
    "value", ["четыре", "4,5,6.7", "4 5", "1 2345,6", "1.234 567,8", "NaN", "inf", "1e5", "4,5 x", True]
)
def test_not_areas(value):
    with pytest.raises(ValueError, match="is not a number of hectares"):
        area_parse(value)


def test_text_keeps_line_breaks_and_drops_the_point_zero_of_whole_numbers():
    assert text_clean("  первая\tстрока \r\nвторая  ") == "первая строка \nвторая"
    assert (text_clean(17.0), text_clean(17.5), text_clean("—"), text_clean(None)) == ("17", "17.5", "", "")


def test_terms_in_whole_years():
    assert term_parse("49") == 49
    assert term_parse("49,0") == 49
    assert term_parse("49 лет") == 49
    assert term_parse(10.0) == 10
    assert term_parse("") is None
    with pytest.raises(ValueError, match="is not a whole number of years"):
        term_parse("4,5")
    with pytest.raises(ValueError, match="is not a whole number of years"):
        term_parse("бессрочно")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("21-320-101-1234", "21-320-101-1234"),
        ("21-32О-1О1-1234", "21-320-101-1234"),  # Cyrillic О
        ("2l-320-101-O12", "21-320-101-012"),  # Latin l and O
        ("21-З20-101-123", "21-320-101-123"),  # Cyrillic З
        ("21–320—101‑1234", "21-320-101-1234"),  # en dash, em dash, non-breaking hyphen
        ("21:320:101:1234", "21-320-101-1234"),
        ("21 320 101 1234", "21-320-101-1234"),
        ("21\u00a0320\u00a0101\u00a0123", "21-320-101-123"),
        ("213201011234", "21-320-101-1234"),
        ("21320101123", "21-320-101-123"),
        (21320101123.0, "21-320-101-123"),  # a DBF number column
        ("", ""),
        ("-", ""),
        (None, ""),
    ],
)
def test_cadastral_numbers_are_normalised(value, expected):
    assert cadastral_parse(value) == expected


@pytest.mark.parametrize("value", ["21-320-101", "2132010112", "21-320-101-12345", "КН 21-320-101-123", "abc"])
def test_not_cadastral_numbers(value):
    with pytest.raises(ValueError, match=r"is not a cadastral number \(NN-NNN-NNN-NNN or NN-NNN-NNN-NNNN\)"):
        cadastral_parse(value)


@pytest.mark.parametrize(
    ("kind", "value", "code"),
    [
        ("land_category", "Земли населенных пунктов", "settlement"),
        ("land_category", "Земли населённых пунктов (городов, поселков и сельских населенных пунктов)", "settlement"),
        ("land_category", "Елді мекендердің жерлері", "settlement"),
        ("land_category", "елді мекендердің жерлері", "settlement"),
        ("land_category", "Земли промышленности, транспорта, связи, для нужд космической деятельности", "industry"),
        ("land_category", "Земли сельскохозяйственного назначения", "agricultural"),
        ("land_category", "Ерекше қорғалатын табиғи аумақтардың жерлері", "protected"),
        ("land_category", "Земли лесного фонда", "forest"),
        ("land_category", "Су қорының жерлері", "water"),
        ("land_category", "Земли запаса", "reserve"),
        ("land_category", "lands of settlements", "settlement"),
        ("land_category", "settlement", "settlement"),
        ("land_category", "RESERVE", "reserve"),
        ("right_type", "временное возмездное землепользование", "temporary_paid"),
        ("right_type", "Временное возмездное землепользование (аренда)", "temporary_paid"),
        ("right_type", "уақытша өтеулі жер пайдалану", "temporary_paid"),
        ("right_type", "Временное безвозмездное землепользование", "temporary_free"),
        ("right_type", "Уақытша өтеусіз жер пайдалану", "temporary_free"),
        ("right_type", "temporary free land use", "temporary_free"),
        ("right_type", "temporary_paid", "temporary_paid"),
        ("right_type", "Постоянное землепользование", "other"),
        ("status", "Акт выдан", "act_issued"),
        ("status", "act_issued", "act_issued"),
        ("status", "Бөлінген", "allocated"),
        ("status", "allocated", "allocated"),
        ("status", "кандидат", "candidate"),
        ("status", "Отозван", "revoked"),
        ("status", "", None),
    ],
)
def test_choice_values_in_russian_kazakh_english_and_codes(kind, value, code):
    assert choice_parse(value, kind=kind) == code


def test_unknown_choice_values_list_the_accepted_ones():
    with pytest.raises(ValueError, match="«луг» is not a land category; accepted: lands of settlements"):
        choice_parse("луг", kind="land_category")
    with pytest.raises(ValueError, match=r"is not a right to land; accepted: .*\(temporary_paid\)"):
        choice_parse("временное землепользование", kind="right_type")  # paid or free?
    with pytest.raises(ValueError, match="is not a parcel status"):
        choice_parse("готов", kind="status")
