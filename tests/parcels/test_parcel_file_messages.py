"""Unreadable parcel files get plain messages: what the file looks like, never a decoder's or OGR's text."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from parcels.io import FileRejected, read_parcel_file
from parcels.models import Parcel, ParcelImportUpload
from parcels.services import ParcelValidationError, document_add
from parcels.sniff import file_kind_sniff, zip_kind_sniff

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
CP1251_GEOJSON = (
    '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
    '{"Кадастровый номер": "21-320-101-1234", "Примечание": "участок под лагерь"}, "geometry": null}]}'
).encode("cp1251")


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def xlsx() -> bytes:
    """The members an Excel workbook has (what tells it apart from a plain zip archive)."""
    return _zip(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types/>' + b" " * 3000,
            "_rels/.rels": b"<Relationships/>",
            "docProps/app.xml": b"<Properties/>" + b"x" * 5000,
            "xl/workbook.xml": b"<workbook/>",
            "xl/worksheets/sheet1.xml": b"<worksheet/>",
        }
    )


def plain_zip() -> bytes:
    return _zip({"readme.txt": b"parcels of the Almaty district", "photo.jpg": b"\xff\xd8\xff\xe0"})


def read(tmp_path: Path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return read_parcel_file(path=path, filename=name, chosen_srid=None)


def rejected(tmp_path: Path, name: str, data: bytes) -> str:
    with pytest.raises(FileRejected) as info:
        read(tmp_path, name, data)
    return str(info.value)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("parcels.geojson", PDF, "This file is not GeoJSON: it looks like a PDF document."),
        ("parcels.geojson", PNG, "This file is not GeoJSON: it looks like a PNG image."),
        ("parcels.geojson", plain_zip(), "This file is not GeoJSON: it looks like a ZIP archive."),
        ("parcels.geojson", xlsx(), "This file is not GeoJSON: it looks like an Excel workbook."),
        ("parcels.kml", PDF, "This file is not KML: it looks like a PDF document."),
        ("parcels.kml", xlsx(), "This file is not KML: it looks like an Excel workbook."),
        ("parcels.kml", b'{"type": "FeatureCollection"}', "This file is not KML: it looks like a JSON document."),
        ("parcels.csv", PDF, "This file is not CSV with WKT: it looks like a PDF document."),
        ("parcels.csv", xlsx(), "This file is not CSV with WKT: it looks like an Excel workbook."),
        ("parcels.csv", PNG, "This file is not CSV with WKT: it looks like a PNG image."),
        ("parcels.zip", PDF, "This file is not zipped ESRI Shapefile: it looks like a PDF document."),
        ("parcels.zip", xlsx(), "This file is not zipped ESRI Shapefile: it looks like an Excel workbook."),
        ("parcels.zip", b"cadastral;area\n21-320-101-1234;4,5\n", "it looks like plain text."),
        ("parcels.kmz", b"<kml><Document/></kml>", "This file is not KMZ: it looks like a KML document."),
        ("parcels.kmz", PNG, "This file is not KMZ: it looks like a PNG image."),
        ("parcels.gpkg", PDF, "This file is not GeoPackage: it looks like a PDF document."),
        ("parcels.gpkg", plain_zip(), "This file is not GeoPackage: it looks like a ZIP archive."),
        ("parcels.geojson", b"\x00\x01\x02\x03binary\x00", "This file is not GeoJSON: it looks like binary data"),
        ("parcels.zip", b"\x00\x00\x27\x0a" + b"\x00" * 96, "the .shp part of a Shapefile alone"),
        ("parcels.csv", "wkt\nPOLYGON EMPTY\n".encode("utf-16"), "text in UTF-16 (save it as UTF-8)"),
    ],
)
def test_file_of_another_kind_is_named(tmp_path, name, data, message):
    assert message in rejected(tmp_path, name, data)


def test_cp1251_geojson_says_so_without_codec_words(tmp_path):
    message = rejected(tmp_path, "parcels.geojson", CP1251_GEOJSON)
    assert message == (
        "The GeoJSON is not UTF-8 text: it looks like Windows-1251 (Cyrillic) text, from line 1. "
        "Save it as UTF-8 and upload it again."
    )


def test_other_non_utf8_bytes_name_the_line(tmp_path):
    data = b'{"type": "FeatureCollection",\n"features": [],\n"name": "\x90\x81"}'
    message = rejected(tmp_path, "parcels.geojson", data)
    assert "line 3 holds bytes that are not UTF-8 characters" in message
    assert "codec" not in message and "0x90" not in message


def test_cp1251_kml_without_declaration_says_so(tmp_path):
    data = "<kml><Placemark><name>Участок</name></Placemark></kml>".encode("cp1251")
    message = rejected(tmp_path, "parcels.kml", data)
    assert message.startswith("The KML is not UTF-8 text: it looks like Windows-1251 (Cyrillic) text")


def test_kml_declaring_windows_1251_is_read(tmp_path):
    data = (
        '<?xml version="1.0" encoding="windows-1251"?><kml><Placemark><name>Участок</name>'
        "<Polygon><outerBoundaryIs><LinearRing><coordinates>71.4,51.1 71.41,51.1 71.41,51.11 71.4,51.1"
        "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>"
    ).encode("cp1251")
    assert read(tmp_path, "parcels.kml", data).features[0].properties["name"] == "Участок"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"type": "FeatureCollection"\n "features": []}',
            "The GeoJSON is not valid JSON: a comma is missing between two items (line 2, column 2).",
        ),
        (
            "{'type': 'FeatureCollection'}",
            "The GeoJSON is not valid JSON: a name is not in double quotes, or a comma is left before a closing "
            "brace (line 1, column 2).",
        ),
        ('{"type": "FeatureCollection", "features": [}', "a value is missing or is not valid"),
        ('{"type": "Feature"} {"type": "Feature"}', "more text follows the end of the JSON document (line 1,"),
    ],
)
def test_json_syntax_errors_in_words(tmp_path, text, message):
    assert message in rejected(tmp_path, "parcels.geojson", text.encode())


def test_malformed_kml_names_line_and_column(tmp_path):
    message = rejected(tmp_path, "parcels.kml", b"<kml>\n<Placemark>\n<name>a</nme>\n</Placemark></kml>")
    assert message == "The KML is not well-formed XML: the error is at line 3, column 10."


def test_kml_with_bad_coordinates_names_the_token(tmp_path):
    data = (
        b"<kml><Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>71.4;51.1 71.41,51.1 71.41,51.11 "
        b"71.4,51.1</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>"
    )
    (feature,) = read(tmp_path, "parcels.kml", data).features
    assert [p.message for p in feature.problems] == [
        "unreadable coordinates “71.4;51.1”: a point is longitude,latitude in decimal degrees"
    ]


def test_damaged_geopackage_is_plain(tmp_path):
    data = b"SQLite format 3\x00" + b"\x10\x00\x01\x01" + b"\x00" * 48 + b"GPKG" + b"\x00" * 100
    message = rejected(tmp_path, "parcels.gpkg", data)
    assert message == "The file is not a readable GeoPackage: it is damaged or has no GeoPackage tables."


def test_no_message_carries_python_exception_text(tmp_path):
    """Every refusal of this module, across the kinds above, is free of exception class names and codec words."""
    cases = [
        ("a.geojson", CP1251_GEOJSON),
        ("a.geojson", b"{bad json"),
        ("a.kml", b"<kml><unclosed></kml>"),
        ("a.gpkg", b"SQLite format 3\x00" + b"\x00" * 200),
        ("a.zip", b"PK\x03\x04broken archive"),
    ]
    for name, data in cases:
        message = rejected(tmp_path, name, data)
        for word in ("codec", "Error", "Exception", "0x", "char ", "Expecting", "sqlite3", "GDAL"):
            assert word not in message, (name, message)


def test_a_real_geojson_still_passes_the_sniffing(tmp_path, make_square, facility_a):
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": json.loads(make_square(facility_a.location, 100).json)}
    ]}  # fmt: skip
    assert read(tmp_path, "p.geojson", ("\ufeff" + json.dumps(fc)).encode()).features[0].geom is not None


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (PDF, "pdf"),
        (PNG, "png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"GIF89a\x01\x00", "gif"),
        (b"II*\x00\x08\x00\x00\x00", "tiff"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        (b"Rar!\x1a\x07\x01\x00", "rar"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "7z"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 8, "ole"),
        (b"SQLite format 3\x00" + b"\x00" * 52 + b"GPKG" + b"\x00" * 28, "gpkg"),
        (b"SQLite format 3\x00" + b"\x00" * 84, "sqlite"),
        (b"\xef\xbb\xbf  <?xml version='1.0'?><kml xmlns='http://www.opengis.net/kml/2.2'>", "kml"),
        (b"<!DOCTYPE html><html><body>Not found</body></html>", "html"),
        (b"<?xml version='1.0'?><gml:FeatureCollection/>", "xml"),
        (b'\n  [{"a": 1}]', "json"),
        (b"wkt;cadastral\n", "text"),
        ("Кадастр".encode("cp1251"), "text"),
        (b"abc\x00def", "binary"),
        (b"", None),
    ],
)
def test_file_kind_sniff(head, kind):
    assert file_kind_sniff(head) == kind


def test_zip_kinds_by_members():
    assert zip_kind_sniff(["[Content_Types].xml", "_rels/.rels", "word/document.xml"]) == "docx"
    assert zip_kind_sniff(["[Content_Types].xml", "xl/workbook.xml"]) == "xlsx"
    assert zip_kind_sniff(["mimetype", "META-INF/manifest.xml", "content.xml"]) == "odf"
    assert zip_kind_sniff(["parcels.shp", "parcels.dbf", "parcels.shx"]) == "zip"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("parcels.geojson", PDF, "This file is not GeoJSON: it looks like a PDF document."),
        ("parcels.csv", xlsx(), "This file is not CSV with WKT: it looks like an Excel workbook."),
        ("parcels.geojson", CP1251_GEOJSON, "it looks like Windows-1251 (Cyrillic) text"),
    ],
)
def test_preview_answers_400_with_the_message_and_saves_nothing(
    client, akimat_a, settings, tmp_path, django_capture_on_commit_callbacks, name, data, message
):
    settings.MEDIA_ROOT = tmp_path / "media"
    parcels_before = Parcel.objects.count()
    client.force_login(akimat_a)
    response = client.post(reverse("parcels:import"), {"file": SimpleUploadedFile(name, data), "srid": ""})
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        preview = client.get(response["Location"])
    assert preview.status_code == 400
    assert message in preview.content.decode()
    assert Parcel.objects.count() == parcels_before
    assert not ParcelImportUpload.objects.exists()
    assert not [p for p in (tmp_path / "media").rglob("*") if p.is_file()]


def test_import_form_states_the_limit_in_its_units(client, akimat_a, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PARCEL_IMPORT_MAX_BYTES = 2 * 1024 * 1024
    client.force_login(akimat_a)
    upload = SimpleUploadedFile("big.geojson", b" " * (2 * 1024 * 1024 + 1))
    response = client.post(reverse("parcels:import"), {"file": upload, "srid": ""})
    assert response.status_code == 200
    assert "The file is larger than 2 MiB." in response.content.decode()
    assert not ParcelImportUpload.objects.exists()


def test_document_size_message_uses_the_units_of_the_limit(admin_user_role, parcel_a):
    upload = SimpleUploadedFile("act.pdf", PDF + b" " * (1536 * 1024 - len(PDF)))
    with pytest.raises(ParcelValidationError) as info:
        document_add(
            user=admin_user_role, parcel=parcel_a, uploaded_file=upload, title="act", kind="act", max_bytes=1024 * 1024
        )
    assert [p.message for p in info.value.problems] == ["The file is 1.5 MiB; at most 1 MiB is accepted."]
