"""Hostile files: zip bombs, zip slip, symlinks, XXE and billion laughs in KML, NaN/huge coordinates."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path

import pytest

from parcels.io import FileRejected, read_parcel_file, zip_extract_safe


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_zip_bomb_refused_before_unpacking(tmp_path, settings):
    settings.PARCEL_ZIP_MAX_UNCOMPRESSED = 10 * 1024 * 1024
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("p.shp", b"\0" * (20 * 1024 * 1024))  # compresses to ~20 kB
    path = write(tmp_path, "bomb.zip", buf.getvalue())
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FileRejected, match="more than 10 MiB"):
        zip_extract_safe(path, out)
    assert list(out.iterdir()) == []


def test_member_lying_about_its_size_is_stopped(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.dbf", b"x" * 100_000)
    raw = bytearray(buf.getvalue())
    # Patch the declared uncompressed size in the central directory (offset 24 in the record) to 10 bytes.
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FileRejected):
        zip_extract_safe(write(tmp_path, "liar.zip", bytes(raw)), out)


def test_too_many_files(tmp_path, settings):
    settings.PARCEL_ZIP_MAX_FILES = 5
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(6):
            z.writestr(f"f{i}.txt", b"x")
    with pytest.raises(FileRejected, match="6"):
        read_parcel_file(path=write(tmp_path, "many.zip", buf.getvalue()), filename="many.zip", chosen_srid=None)


@pytest.mark.parametrize("name", ["../evil.shp", "/etc/evil.shp", "a/../../evil.shp", "..\\evil.shp", "C:/evil.shp"])
def test_zip_slip_refused(tmp_path, name):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, b"x")
    with pytest.raises(FileRejected, match="unsafe path"):
        read_parcel_file(path=write(tmp_path, "slip.zip", buf.getvalue()), filename="slip.zip", chosen_srid=None)
    assert not (tmp_path.parent / "evil.shp").exists()


def test_symlink_member_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("p.dbf")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/passwd")
    with pytest.raises(FileRejected, match="symbolic link"):
        read_parcel_file(path=write(tmp_path, "link.zip", buf.getvalue()), filename="link.zip", chosen_srid=None)


XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&xxe;</name></Placemark></kml>"""
XXE_HTTP = XXE_FILE.replace(b"file:///etc/passwd", b"http://169.254.169.254/latest/meta-data/")
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<kml><Placemark><name>&lol4;</name></Placemark></kml>"""


@pytest.mark.parametrize("payload", [XXE_FILE, XXE_HTTP, LAUGHS], ids=["xxe-file", "xxe-http", "billion-laughs"])
def test_kml_entities_refused(tmp_path, payload):
    with pytest.raises(FileRejected, match="entities"):
        read_parcel_file(path=write(tmp_path, "x.kml", payload), filename="x.kml", chosen_srid=None)


def test_kmz_with_xxe_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("doc.kml", XXE_FILE)
    with pytest.raises(FileRejected, match="entities"):
        read_parcel_file(path=write(tmp_path, "x.kmz", buf.getvalue()), filename="x.kmz", chosen_srid=None)


def test_geojson_nan_refused(tmp_path):
    text = (
        b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},'
        b'"geometry":{"type":"Polygon","coordinates":[[[NaN,1],[2,2],[3,1],[NaN,1]]]}}]}'
    )
    with pytest.raises(FileRejected, match="NaN"):
        read_parcel_file(path=write(tmp_path, "n.geojson", text), filename="n.geojson", chosen_srid=None)


def test_geojson_huge_coordinates_and_wrong_types_are_feature_problems(tmp_path):
    features = [
        {
            "type": "Feature",
            "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [[[1e300, 1], [2, 2], [3, 1], [1e300, 1]]]},
        },
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [71, 51]}},
        {"type": "Feature", "properties": {}, "geometry": None},
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": []}},
    ]
    read = read_parcel_file(
        path=write(tmp_path, "h.geojson", json.dumps({"type": "FeatureCollection", "features": features}).encode()),
        filename="h.geojson",
        chosen_srid=None,
    )
    assert [f.geom for f in read.features] == [None] * 4
    assert all(f.problems and f.problems[0].field == "geometry" for f in read.features)
    assert "Point" in read.features[1].problems[0].message


def test_not_a_geopackage(tmp_path):
    with pytest.raises(FileRejected, match="GeoPackage"):
        read_parcel_file(path=write(tmp_path, "x.gpkg", b"not sqlite at all" * 10), filename="x.gpkg", chosen_srid=None)
