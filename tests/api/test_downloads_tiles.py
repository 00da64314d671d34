"""Downloads (?format=geojson|csv|gpkg) with the same filters, and vector tiles via ST_AsMVT."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
from django.contrib.gis.gdal import DataSource
from django.contrib.gis.geos import GEOSGeometry
from django.test import override_settings

from facilities.models import Facility
from tests.clients import decode_vector_tile, problem_fields


def test_geojson_download_has_every_filtered_feature(api):
    response = api.get("/api/v1/facilities/?format=geojson&measure=18&limit=1")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    assert response["Content-Disposition"].startswith('attachment; filename="facilities-')
    data = json.loads(response.content)
    assert len(data["features"]) == Facility.objects.filter(measure_id=18).count()  # no paging


def test_csv_download(api):
    response = api.get("/api/v1/facilities/?format=csv&region=710000000")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    expected = Facility.objects.filter(region__kato="710000000")
    assert len(rows) == expected.count()
    row = next(r for r in rows if int(r["id"]) == expected.first().pk)
    assert row["region"] == "710000000"
    point = GEOSGeometry(row["wkt"], srid=4326)
    assert point.distance(expected.first().location) < 1e-6


@pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="gdal-bin not installed")
def test_geopackage_download(api, tmp_path):
    response = api.get("/api/v1/facilities/?format=gpkg&kind=art_school")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/geopackage+sqlite3"
    target = tmp_path / "f.gpkg"
    target.write_bytes(response.content)
    layer = DataSource(str(target))[0]
    assert layer.name == "facilities"
    assert len(layer) == Facility.objects.filter(kind_id="art_school").count()
    assert layer.srs.srid == 4326
    assert "places" in layer.fields and "is_ppp" not in layer.fields


@pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="gdal-bin not installed")
def test_geopackage_download_in_utm(api, tmp_path):
    response = api.get("/api/v1/facilities/?format=gpkg&region=710000000&crs=EPSG:32642")
    target = tmp_path / "f.gpkg"
    target.write_bytes(response.content)
    layer = DataSource(str(target))[0]
    assert layer.srs.srid == 32642
    feature = next(iter(layer))
    assert feature.geom.x > 100_000  # metres, not degrees


@override_settings(API_DOWNLOAD_MAX=10)
def test_downloads_are_capped_with_a_clear_error(api):
    response = api.get("/api/v1/facilities/?format=csv")
    assert response.status_code == 400 and "format" in problem_fields(response)


def test_vector_tile_of_facilities(api):
    response = api.get("/tiles/facilities/0/0/0.pbf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    layers = decode_vector_tile(response.content)
    assert layers["facilities"]["features"] == Facility.objects.exclude(location=None).count()
    assert "is_ppp" not in layers["facilities"]["keys"] and "places" in layers["facilities"]["keys"]
    etag = response["ETag"]
    assert api.get("/tiles/facilities/0/0/0.pbf", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_vector_tile_for_a_planner_has_private_fields(token_client, planner):
    layers = decode_vector_tile(token_client(planner).get("/tiles/facilities/0/0/0.pbf").content)
    assert "is_ppp" in layers["facilities"]["keys"]


def test_empty_tile_and_bad_addresses(api):
    assert api.get("/tiles/facilities/5/0/0.pbf").content == b""  # the Pacific: no facility
    assert api.get("/tiles/facilities/2/4/0.pbf").status_code == 400
    assert api.get("/tiles/facilities/23/0/0.pbf").status_code == 400
    assert api.get("/tiles/nothing/0/0/0.pbf").status_code == 404
    assert api.get("/tiles/facilities/0/0/0.pbf?x=1").status_code == 400
