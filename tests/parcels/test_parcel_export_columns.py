"""Every parcel export format has exactly the documented columns (parcels/export.py, README "Parcel exports")."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from django.contrib.gis.gdal import DataSource
from django.urls import reverse

from parcels import export as export_module
from parcels.export import EXPORT_COLUMNS, SHAPEFILE_NAME_MAX
from parcels.io import read_parcel_file

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = list(EXPORT_COLUMNS)


def documented(text: str) -> list[str]:
    """Column names of the table under "| column | content |" in `text`."""
    table = text[text.index("| column | content |") :].split("\n\n", 1)[0]
    return re.findall(r"^\| (\w+) \|", table, flags=re.M)[1:]


def test_columns_fit_a_shapefile_and_are_documented_once():
    assert all(len(name) <= SHAPEFILE_NAME_MAX for name in COLUMNS)
    assert len(set(COLUMNS)) == len(COLUMNS)
    assert documented(export_module.__doc__) == COLUMNS
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert documented(readme[readme.index("## Parcel exports") :]) == COLUMNS


def _export(client, user, fmt: str) -> bytes:
    client.force_login(user)
    response = client.get(reverse("parcels:export"), {"format": fmt})
    assert response.status_code == 200
    return response.content


def _ogr_fields(path: Path) -> list[str]:
    layer = DataSource(str(path))[0]
    return list(layer.fields)


def test_geojson_columns(client, akimat_a, parcel_a):
    doc = json.loads(_export(client, akimat_a, "geojson"))
    (feature,) = doc["features"]
    assert list(feature["properties"]) == COLUMNS
    props = feature["properties"]
    assert props["parcel_id"] == parcel_a.pk and props["facility"] == parcel_a.facility_id
    assert props["region"] == parcel_a.region.kato and props["cadastral"] == parcel_a.cadastral_number
    assert props["area_srid"] == parcel_a.area_srid and props["akimat"] == parcel_a.issuing_akimat


def test_csv_columns(client, akimat_a, parcel_a):
    rows = list(csv.reader(io.StringIO(_export(client, akimat_a, "csv").decode("utf-8"))))
    assert rows[0] == [*COLUMNS, "wkt"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["parcel_id"] == str(parcel_a.pk) and row["cadastral"] == parcel_a.cadastral_number
    assert row["wkt"].startswith("MULTIPOLYGON")


def test_geopackage_columns(client, akimat_a, parcel_a, tmp_path):
    path = tmp_path / "parcels.gpkg"
    path.write_bytes(_export(client, akimat_a, "gpkg"))
    assert _ogr_fields(path) == COLUMNS
    feature = next(iter(DataSource(str(path))[0]))
    assert feature.get("cadastral") == parcel_a.cadastral_number


def test_shapefile_columns(client, akimat_a, parcel_a, tmp_path):
    with zipfile.ZipFile(io.BytesIO(_export(client, akimat_a, "shp"))) as archive:
        archive.extractall(tmp_path)
    assert _ogr_fields(tmp_path / "parcels.shp") == COLUMNS
    feature = next(iter(DataSource(str(tmp_path / "parcels.shp"))[0]))
    assert feature.get("cadastral") == parcel_a.cadastral_number


@pytest.mark.parametrize(("fmt", "name"), [("geojson", "x.geojson"), ("gpkg", "x.gpkg"), ("shp", "x.zip")])
def test_every_format_reads_back_with_the_same_names(client, akimat_a, parcel_a, tmp_path, fmt, name):
    path = tmp_path / name
    path.write_bytes(_export(client, akimat_a, fmt))
    (feature,) = read_parcel_file(path=path, filename=name, chosen_srid=None).features
    assert set(COLUMNS) <= set(feature.properties)
