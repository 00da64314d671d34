"""Parcel files as land offices export them: Russian and Kazakh columns, Excel's CSV, a CP1251 Shapefile, and
the columns a user maps in the preview (remembered for that user only)."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from parcels.models import ImportColumnChoice, Parcel
from parcels.selectors import import_column_choices
from parcels.services import ParcelValidationError, import_column_choices_save, import_row_data
from tests.parcels.test_parcel_import import fc, feature, ogr, rect_utm, run, write


def excel_csv(header: list[str], rows: list[list[str]]) -> bytes:
    """A CSV as Excel on a Russian Windows saves it: ";" between cells, Windows-1251, CRLF."""
    lines = [";".join(header)] + [";".join(row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")


def test_excel_csv_in_cp1251_with_russian_headers_decimal_commas_and_dates(tmp_path, akimat_a, facility_a, make_square):
    geom = make_square(facility_a.location, 200)
    data = excel_csv(
        ["facility_id", "Кадастровый №", "Площадь, га", "Категория земель", "Вид права", "Номер акта",
         "Дата акта", "Срок, лет", "Кем выдан / Акимат", "Статус", "Примечание", "WKT"],
        [[str(facility_a.pk), "01-О17-017-017", "4,0", "Земли населённых пунктов",
          "Временное возмездное землепользование", "№ 17/2024", "12.03.2024", "49", "Акимат г. Астаны",
          "Акт выдан", "ёлки на участке", geom.wkt]],
    )  # fmt: skip
    read, outcome = run(akimat_a, write(tmp_path, "Выгрузка ЗК.csv", data))
    assert read.encoding == "Windows-1251"
    assert outcome.committed and outcome.saved == 1, outcome.rows[0].problems
    parcel = Parcel.objects.get(cadastral_number="01-017-017-017")
    assert (parcel.declared_area_ha, parcel.act_date, parcel.term_years) == (Decimal("4"), date(2024, 3, 12), 49)
    assert (parcel.land_category, parcel.right_type, parcel.status) == ("settlement", "temporary_paid", "act_issued")
    assert (parcel.act_number, parcel.issuing_akimat, parcel.notes) == (
        "№ 17/2024",
        "Акимат г. Астаны",
        "ёлки на участке",
    )


def test_utf8_csv_with_bom_and_a_comma_separator_is_read_as_utf8(tmp_path, akimat_a, facility_a, make_square):
    geom = make_square(facility_a.location, 200)
    text = f'facility_id,Кадастрлық нөмір,"Ауданы, га",wkt\n{facility_a.pk},01-018-018-018,"4,0","{geom.wkt}"\n'
    read, outcome = run(akimat_a, write(tmp_path, "p.csv", "\ufeff".encode() + text.encode()))
    assert read.encoding == "UTF-8"
    assert outcome.committed, outcome.rows[0].problems
    assert Parcel.objects.get(cadastral_number="01-018-018-018").declared_area_ha == Decimal("4")


def test_every_problem_of_a_row_names_the_column_as_written(tmp_path, akimat_a, facility_a, make_square):
    geom = make_square(facility_a.location, 200)
    data = excel_csv(
        ["facility_id", "Кадастровый номер", "Площадь, га", "Дата акта", "Категория земель", "Срок, лет", "wkt"],
        [[str(facility_a.pk), "01-017", "четыре", "31.02.2024", "луг", "4,5", geom.wkt]],
    )
    _, outcome = run(akimat_a, write(tmp_path, "p.csv", data), commit=False)
    messages = {p["field"]: p["message"] for p in outcome.rows[0].problems}
    assert messages["declared_area_ha"] == "Площадь, га: «четыре» is not a number of hectares"
    assert messages["cadastral_number"].startswith("Кадастровый номер: «01-017» is not a cadastral number")
    assert messages["act_date"] == "Дата акта: «31.02.2024» is not a date; write it as dd.mm.yyyy"
    assert messages["land_category"].startswith("Категория земель: «луг» is not a land category; accepted:")
    assert "(settlement)" in messages["land_category"]
    assert messages["term_years"] == "Срок, лет: «4,5» is not a whole number of years"
    assert not outcome.committed


def test_cp1251_shapefile_with_cpg_and_cut_russian_and_kazakh_column_names(tmp_path, akimat_a, facility_a):
    geom = rect_utm(facility_a, 32642, 200, 250)  # 5 ha
    props = {
        "facility_id": facility_a.pk,
        "Кадастровый номер": "01 019 019 019",
        "Площадь, га": "5,0",
        # CP1251 has no ң: Kazakh files in it write н (the import folds Kazakh letters the same way).
        "Жер санаты": "Елді мекендердін жерлері",
        "Вид права": "уакытша отеусiз жер пайдалану",  # a Latin i among Cyrillic letters
        "Дата выдачи акта": "01.04.2024 0:00:00",
        "Номер акта": "19",
        "Ескерту": "жана учаске",
    }
    ogr(tmp_path, fc([feature(geom, **props)], srid=32642), "ESRI Shapefile", "shp", "-nln", "p",
        "-lco", "ENCODING=CP1251")  # fmt: skip
    shp = tmp_path / "shp"
    assert (shp / "p.cpg").read_text().strip().upper() in ("CP1251", "1251")
    assert "Кадастровы".encode("cp1251") in (shp / "p.dbf").read_bytes()  # names cut to 10 CP1251 bytes
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for part in shp.iterdir():
            z.write(part, arcname=part.name)
    read, outcome = run(akimat_a, write(tmp_path, "p.zip", buf.getvalue()))
    assert outcome.committed, outcome.rows[0].problems
    names = set(read.features[0].properties)
    assert {"Кадастровы", "Площадь, г", "Жер санаты", "Вид права", "Дата выдач", "Номер акта", "Ескерту"} <= names
    parcel = Parcel.objects.get(cadastral_number="01-019-019-019")
    assert (parcel.land_category, parcel.right_type) == ("settlement", "temporary_free")
    assert (parcel.declared_area_ha, parcel.act_date, parcel.act_number) == (Decimal("5"), date(2024, 4, 1), "19")
    assert parcel.notes == "жана учаске"


def test_look_alike_cadastral_numbers_are_normalised_in_the_import(tmp_path, akimat_a, facility_a, make_square):
    data = fc([feature(make_square(facility_a.location, 200), facility_id=facility_a.pk, КН="О1:02О:З20:О21",
                       **{"Площадь, га": 4})])  # fmt: skip
    _, outcome = run(akimat_a, write(tmp_path, "p.geojson", data))
    assert outcome.committed, outcome.rows[0].problems
    assert Parcel.objects.filter(cadastral_number="01-020-320-021").exists()


def test_row_data_reports_sources_and_uses_the_mapping_for_unknown_columns():
    values = import_row_data(
        {"Шифр": "7", "КН": "01 021 021 021", "Площадь": "4,5", "Адрес": "ул. Абая"},
        mapping={"шифр": "facility_ref", "Площадь": "declared_area_ha", "адрес": ""},
    )
    assert values.problems == []
    assert values.facility_ref == "7"
    assert values.data["cadastral_number"] == "01-021-021-021"
    assert values.data["declared_area_ha"] == Decimal("4.5")
    assert values.sources == {"facility_ref": "Шифр", "cadastral_number": "КН", "declared_area_ha": "Площадь"}
    assert (values.data["land_category"], values.data["status"]) == ("settlement", "candidate")


def test_column_choices_are_validated_all_or_none(akimat_a):
    with pytest.raises(ParcelValidationError, match="“geom” is not a field a column can feed"):
        import_column_choices_save(user=akimat_a, choices={"Шифр": "facility_ref", "Контур": "geom"})
    with pytest.raises(ParcelValidationError, match="its name is empty"):
        import_column_choices_save(user=akimat_a, choices={"--": "notes"})
    assert not ImportColumnChoice.objects.filter(user=akimat_a).exists()
    assert import_column_choices_save(user=akimat_a, choices={"Шифр": "facility_ref", "ШИФР ": "notes"}) == 1
    assert import_column_choices(user=akimat_a) == {"шифр": "notes"}


def upload_csv(client, tmp_name: str, data: bytes) -> str:
    response = client.post(reverse("parcels:import"), {"file": SimpleUploadedFile(tmp_name, data), "srid": ""})
    assert response.status_code == 302, response.content.decode()[-2000:]
    return response["Location"]


def test_unknown_column_mapped_in_the_preview_is_remembered_for_the_same_user_only(
    client, akimat_a, admin_user_role, facility_a, facility_a2, make_square
):
    def csv_for(facility, number):
        geom = make_square(facility.location, 200)
        return excel_csv(
            ["Шифр объекта", "Кадастровый номер", "Площадь участка", "Адрес", "wkt"],
            [[str(facility.pk), number, "4,0", "ул. Абая, 1", geom.wkt]],
        )

    client.force_login(akimat_a)
    preview_url = upload_csv(client, "first.csv", csv_for(facility_a, "01-022-022-022"))
    page = client.get(preview_url)
    text = page.content.decode()
    assert page.status_code == 200 and 'id="import-columns"' in text
    assert "The file was read as Windows-1251 text." in text
    assert 'data-column="Кадастровый номер" data-how="name"' in text
    assert 'data-column="Шифр объекта" data-how="unknown"' in text
    assert 'name="column" value="Площадь участка"' in text and 'name="column" value="Кадастровый номер"' not in text
    assert "Save the import" not in text  # no declared area (nor facility) yet: the rows cannot be saved

    token = preview_url.rstrip("/").rsplit("/", 1)[-1]
    columns_url = reverse("parcels:import_columns", args=[token])
    assert client.get(columns_url).status_code == 405
    bad = client.post(columns_url, {"column": ["Адрес"], "field": ["geom"]})
    assert bad.status_code == 400 and "is not a field a column can feed" in bad.content.decode()
    assert client.post(columns_url, {"column": ["Адрес"], "field": []}).status_code == 400
    saved = client.post(
        columns_url,
        {"column": ["Шифр объекта", "Площадь участка", "Адрес"], "field": ["facility_ref", "declared_area_ha", ""]},
    )
    assert saved.status_code == 302 and saved["Location"] == preview_url
    page = client.get(preview_url).content.decode()
    assert 'data-column="Шифр объекта" data-how="choice"' in page
    assert 'data-column="Адрес" data-how="ignored"' in page
    assert "Save the import" in page
    assert client.post(preview_url + "confirm/").status_code == 302
    parcel = Parcel.objects.get(cadastral_number="01-022-022-022")
    assert (parcel.declared_area_ha, parcel.facility) == (Decimal("4"), facility_a)

    # The next file of the same user: the columns are mapped already.
    second = upload_csv(client, "second.csv", csv_for(facility_a2, "01-023-023-023"))
    assert 'data-column="Площадь участка" data-how="choice"' in client.get(second).content.decode()
    assert client.post(second + "confirm/").status_code == 302
    assert Parcel.objects.filter(cadastral_number="01-023-023-023").exists()

    # Another user's upload of the same columns is not mapped by the first user's choices.
    client.force_login(admin_user_role)
    other = upload_csv(client, "third.csv", csv_for(facility_a2, "01-024-024-024"))
    page = client.get(other).content.decode()
    assert 'data-column="Шифр объекта" data-how="unknown"' in page and "Save the import" not in page
    # Nor may the other user post choices to the first user's upload.
    assert client.post(columns_url, {"column": ["Адрес"], "field": ["notes"]}).status_code == 404
    assert import_column_choices(user=admin_user_role) == {}
