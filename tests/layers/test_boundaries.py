"""Boundaries: the default geokz set and loading any OGR file in any CRS."""

import shutil
import subprocess

import pytest
from django.conf import settings
from django.contrib.gis.db.models.functions import Area, Transform
from django.core.management import CommandError, call_command
from django.db.models import F

from facilities.models import Facility
from layers.models import District, Region


def test_default_boundaries_cover_all_regions_and_districts(db):
    assert Region.objects.filter(geom__isnull=False).count() == 20
    assert District.objects.count() == 224
    for district in District.objects.select_related("region")[:224]:
        assert district.kato[:2] == district.region.kato[:2]
    # Every administrative centre lies inside its own region (one spatial query).
    assert Region.objects.filter(centre__isnull=False).count() == 20
    assert Region.objects.exclude(geom__contains=F("centre")).count() == 0
    assert "CC BY 4.0" in Region.objects.first().boundary_source


def test_demo_facilities_lie_in_their_region_and_district(db):
    demo = Facility.objects.filter(is_demo=True)
    assert demo.filter(location__isnull=True).count() == 0
    assert demo.exclude(region__geom__contains=F("location")).count() == 0
    assert demo.filter(district__isnull=True).count() == 0
    assert demo.exclude(district__geom__contains=F("location")).count() == 0
    assert demo.exclude(district__region=F("region")).count() == 0


def _area_km2(region_kato: str) -> float:
    row = (
        Region.objects.filter(kato=region_kato)
        .annotate(a=Area(Transform("geom", 32642)))
        .values_list("a", flat=True)
        .get()
    )
    return row.sq_km


@pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="ogr2ogr (gdal-bin) not installed")
def test_load_boundaries_from_shapefile_in_utm(db, tmp_path):
    """A shapefile in UTM 42N (EPSG:32642) is transformed to EPSG:4326 on load: the area survives."""
    src = settings.BOUNDARIES_PATH / "kaz_admbnda_adm1_2024.geojson"
    shp = tmp_path / "astana_utm.shp"
    subprocess.run(
        ["ogr2ogr", "-t_srs", "EPSG:32642", "-where", "KATO='710000000'", str(shp), str(src)],
        check=True,
        capture_output=True,
    )
    before = _area_km2("710000000")
    Region.objects.filter(kato="710000000").update(geom=None)
    call_command(
        "load_boundaries",
        str(shp),
        "--level",
        "region",
        "--field-map",
        "kato=KATO",
        "--source",
        "test: UTM 42N shapefile",
    )
    region = Region.objects.get(kato="710000000")
    assert region.geom.srid == 4326
    assert -180 <= region.geom.centroid.x <= 180 and 71 < region.geom.centroid.x < 72  # longitude first
    assert _area_km2("710000000") == pytest.approx(before, rel=1e-4)
    assert region.boundary_source == "test: UTM 42N shapefile"


def test_load_boundaries_names_the_problem(db, tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text(
        '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"KATO":"12x"},'
        '"geometry":{"type":"Polygon","coordinates":[[[70,50],[71,50],[71,51],[70,50]]]}}]}'
    )
    with pytest.raises(CommandError, match="feature 1.*'12x' is not a 9-digit KATO"):
        call_command("load_boundaries", str(bad), "--level", "region", "--field-map", "kato=KATO", "--source", "x")
    with pytest.raises(CommandError, match="field 'CODE' not found"):
        call_command("load_boundaries", str(bad), "--level", "region", "--field-map", "kato=CODE", "--source", "x")
    with pytest.raises(CommandError, match="no such file"):
        call_command(
            "load_boundaries", str(tmp_path / "nope.shp"), "--level", "region", "--field-map", "kato=K", "--source", "x"
        )


@pytest.mark.skipif(shutil.which("ogr2ogr") is None, reason="ogr2ogr (gdal-bin) not installed")
def test_load_districts_from_geopackage_in_web_mercator_with_field_map(db, tmp_path):
    src = settings.BOUNDARIES_PATH / "kaz_admbnda_adm2_2024.geojson"
    gpkg = tmp_path / "districts.gpkg"
    subprocess.run(
        [
            "ogr2ogr", "-f", "GPKG", "-t_srs", "EPSG:3857", "-nln", "audandar",
            "-sql", "SELECT KATO AS code, ADM2_KK AS atauy, ADM2_RU AS nazvanie, ADM2_EN AS name FROM "
            "kaz_admbnda_adm2_2024 WHERE KATO LIKE '71%'",
            str(gpkg), str(src),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    District.objects.filter(kato__startswith="71").update(name_en="?", geom=None)
    call_command(
        "load_boundaries",
        str(gpkg),
        "--layer",
        "audandar",
        "--level",
        "district",
        "--field-map",
        "kato=code,name_kk=atauy,name_ru=nazvanie,name_en=name",
        "--source",
        "test gpkg",
    )
    astana = District.objects.filter(kato__startswith="71")
    assert astana.count() >= 4
    assert astana.filter(geom__isnull=True).count() == 0
    assert not astana.filter(name_en="?").exists()
    # Reprojected back from Web Mercator, each district lies within Astana's boundary (~10 m tolerance).
    region = Region.objects.get(kato="710000000")
    assert astana.exclude(geom__coveredby=region.geom.buffer(0.0001)).count() == 0
