"""Import of parcels from every format and CRS, the all-or-nothing rule and file safety."""

from __future__ import annotations

import io
import json
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon

from parcels.io import FileRejected, read_parcel_file
from parcels.models import Parcel
from parcels.services import parcels_import


def rect_utm(facility, srid: int, w: float, h: float, *, dx: float = 0.0) -> MultiPolygon:
    """A w × h metre rectangle drawn directly in `srid`, near the facility (coordinates in that CRS)."""
    c = facility.location.transform(srid, clone=True)
    x, y = round(c.x + dx), round(c.y)
    return MultiPolygon(Polygon(((x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)), srid=srid), srid=srid)


def fc(features, *, srid: int | None = None) -> bytes:
    doc = {"type": "FeatureCollection", "features": features}
    if srid:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{srid}"}}
    return json.dumps(doc).encode()


def feature(geom, **props) -> dict:
    return {"type": "Feature", "geometry": json.loads(geom.json), "properties": props}


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def run(user, path: Path, *, srid=None, commit=True):
    read = read_parcel_file(path=path, filename=path.name, chosen_srid=srid)
    return read, parcels_import(user=user, features=read.features, commit=commit)


def ogr(tmp_path: Path, geojson: bytes, driver: str, out: str, *extra: str) -> Path:
    src = write(tmp_path, "src.geojson", geojson)
    target = tmp_path / out
    subprocess.run(["ogr2ogr", "-f", driver, str(target), str(src), *extra], check=True, capture_output=True)
    return target


def test_geojson_in_utm42n_area_matches_known_area(tmp_path, akimat_a, facility_a):
    geom = rect_utm(facility_a, 32642, 200, 300)  # 60 000 m² = 6 ha, drawn in UTM 42N
    data = fc(
        [feature(geom, facility_id=facility_a.pk, cadastral_number="01-011-011-011", declared_area_ha=6)], srid=32642
    )
    read, outcome = run(akimat_a, write(tmp_path, "p.geojson", data))
    assert read.source_srid == 32642 and read.crs_from_file
    assert outcome.committed and outcome.saved == 1, outcome.rows[0].problems
    parcel = Parcel.objects.get(cadastral_number="01-011-011-011")
    assert parcel.area_srid == 32642
    assert abs(parcel.computed_area_ha - Decimal("6")) < Decimal("0.0006")  # within 0.01 %
    assert parcel.region == facility_a.region


def test_preview_saves_nothing(tmp_path, akimat_a, facility_a, make_square):
    data = fc([feature(make_square(facility_a.location, 200), facility_id=facility_a.pk, declared_area_ha=4)])
    before = Parcel.objects.count()
    _, outcome = run(akimat_a, write(tmp_path, "p.geojson", data), commit=False)
    assert not outcome.committed and not outcome.has_errors and outcome.rows[0].computed_area_ha
    assert Parcel.objects.count() == before


def test_one_bad_feature_saves_none_and_names_number_field_reason(
    tmp_path, akimat_a, facility_a, facility_a2, make_square
):
    good = feature(make_square(facility_a.location, 200), facility_id=facility_a.pk, declared_area_ha=4)
    bad = feature(make_square(facility_a2.location, 200), facility_id=facility_a2.pk, declared_area_ha="four")
    before = Parcel.objects.count()
    _, outcome = run(akimat_a, write(tmp_path, "p.geojson", fc([good, bad])))
    assert not outcome.committed and outcome.saved == 0
    assert Parcel.objects.count() == before
    assert outcome.rows[0].problems == []
    assert outcome.rows[1].number == 2
    assert (
        outcome.rows[1].problems[0]["field"] == "declared_area_ha" and "four" in outcome.rows[1].problems[0]["message"]
    )


def test_overlapping_features_within_one_file_are_caught(tmp_path, akimat_a, facility_a, facility_a2, make_square):
    one = feature(make_square(facility_a.location, 200), facility_id=facility_a.pk, declared_area_ha=4)
    two = feature(make_square(facility_a.location, 200, dx_m=50), facility_id=facility_a2.pk, declared_area_ha=4)
    _, outcome = run(akimat_a, write(tmp_path, "p.geojson", fc([one, two])))
    assert not outcome.committed
    assert {p["code"] for p in outcome.rows[1].problems} >= {"overlap"}


def test_other_region_facility_is_refused(tmp_path, akimat_a, facility_b, make_square):
    data = fc([feature(make_square(facility_b.location, 200), facility_id=facility_b.pk, declared_area_ha=4)])
    _, outcome = run(akimat_a, write(tmp_path, "p.geojson", data))
    assert not outcome.committed and outcome.rows[0].problems[0]["field"] == "facility_id"


def test_zipped_shapefile_with_prj_in_utm42n(tmp_path, akimat_a, facility_a):
    geom = rect_utm(facility_a, 32642, 200, 250)
    gj = fc([feature(geom, facility_id=facility_a.pk, cadastral="01-012-012-012", area_ha=5)], srid=32642)
    ogr(tmp_path, gj, "ESRI Shapefile", "shp", "-nln", "parcels")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for part in (tmp_path / "shp").iterdir():
            z.write(part, arcname=part.name)
    read, outcome = run(akimat_a, write(tmp_path, "p.zip", buf.getvalue()))
    assert read.source_srid == 32642 and read.crs_from_file
    assert outcome.committed, outcome.rows[0].problems
    assert abs(Parcel.objects.get(cadastral_number="01-012-012-012").computed_area_ha - Decimal("5")) < Decimal("0.001")


def test_shapefile_without_prj_needs_a_chosen_crs(tmp_path, akimat_a, facility_a):
    geom = rect_utm(facility_a, 32642, 200, 250)
    ogr(tmp_path, fc([feature(geom, facility_id=facility_a.pk, area_ha=5)]), "ESRI Shapefile", "shp", "-nln", "p")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for part in (tmp_path / "shp").iterdir():
            if part.suffix != ".prj":
                z.write(part, arcname=part.name)
    path = write(tmp_path, "p.zip", buf.getvalue())
    with pytest.raises(FileRejected, match=".prj"):
        read_parcel_file(path=path, filename="p.zip", chosen_srid=None)
    read, outcome = run(akimat_a, path, srid=32642)
    assert read.source_srid == 32642 and not read.crs_from_file and outcome.committed


def test_prj_with_crs_outside_allow_list_is_refused(tmp_path, facility_a):
    from pyproj import CRS

    geom = rect_utm(facility_a, 32642, 200, 250)
    ogr(tmp_path, fc([feature(geom, facility_id=facility_a.pk)]), "ESRI Shapefile", "shp", "-nln", "p")
    (tmp_path / "shp" / "p.prj").write_text(CRS.from_epsg(2154).to_wkt("WKT1_ESRI"))  # RGF93 / Lambert-93 (France)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for part in (tmp_path / "shp").iterdir():
            z.write(part, arcname=part.name)
    with pytest.raises(FileRejected, match="2154"):
        read_parcel_file(path=write(tmp_path, "p.zip", buf.getvalue()), filename="p.zip", chosen_srid=None)


def test_prj_with_proj_string_is_refused(tmp_path, facility_a):
    from parcels.io import srid_from_prj

    with pytest.raises(FileRejected):
        srid_from_prj("+proj=utm +zone=42 +datum=WGS84 +init=file:///etc/passwd")


def test_geopackage_in_pulkovo_gauss_kruger_zone_12(tmp_path, akimat_a, facility_a):
    geom = rect_utm(facility_a, 28412, 200, 200)
    target = ogr(
        tmp_path,
        fc(
            [feature(geom, facility_id=facility_a.pk, cadastral_number="01-013-013-013", declared_area_ha=4)],
            srid=28412,
        ),
        "GPKG",
        "p.gpkg",
    )
    read, outcome = run(akimat_a, target)
    assert read.source_srid == 28412 and read.crs_from_file
    assert outcome.committed, outcome.rows[0].problems
    assert abs(Parcel.objects.get(cadastral_number="01-013-013-013").computed_area_ha - Decimal("4")) < Decimal("0.01")


def test_kml_and_kmz(tmp_path, akimat_a, facility_a, facility_a2, make_square):
    def kml(facility, number):
        ring = " ".join(f"{x},{y},0" for x, y in make_square(facility.location, 200)[0][0])
        return f"""<Placemark><name>{number}</name><ExtendedData>
          <Data name="facility_id"><value>{facility.pk}</value></Data>
          <Data name="cadastral_number"><value>{number}</value></Data>
          <Data name="declared_area_ha"><value>4</value></Data></ExtendedData>
          <Polygon><outerBoundaryIs><LinearRing><coordinates>{ring}</coordinates></LinearRing></outerBoundaryIs></Polygon>
        </Placemark>"""

    doc = '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>{}</Document></kml>'
    read, outcome = run(akimat_a, write(tmp_path, "p.kml", doc.format(kml(facility_a, "01-014-014-014")).encode()))
    assert read.source_srid == 4326 and outcome.committed, outcome.rows[0].problems
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("doc.kml", doc.format(kml(facility_a2, "01-015-015-015")))
    read, outcome = run(akimat_a, write(tmp_path, "p.kmz", buf.getvalue()))
    assert read.format == "kmz" and outcome.committed, outcome.rows[0].problems
    assert Parcel.objects.filter(cadastral_number__in=["01-014-014-014", "01-015-015-015"]).count() == 2


def test_csv_with_wkt_in_web_mercator(tmp_path, akimat_a, facility_a):
    geom = rect_utm(facility_a, 3857, 300, 300)  # 3857 metres are not ground metres: area ≈ 9 ha × cos²(lat)
    text = f"facility_id;cadastral_number;declared_area_ha;wkt\n{facility_a.pk};01-016-016-016;3.5;{geom.wkt}\n"
    read, outcome = run(akimat_a, write(tmp_path, "p.csv", text.encode()), srid=3857)
    assert read.source_srid == 3857 and outcome.committed, outcome.rows[0].problems
    parcel = Parcel.objects.get(cadastral_number="01-016-016-016")
    import math

    expected = 9 * math.cos(math.radians(facility_a.location.y)) ** 2
    assert abs(float(parcel.computed_area_ha) - expected) / expected < 0.01


def test_csv_row_errors_name_row_and_column(tmp_path, akimat_a, facility_a):
    text = f"facility_id,declared_area_ha,wkt\n{facility_a.pk},4,POLYGON((1 2, 3\nabc,4,POINT(71 51)\n"
    _, outcome = run(akimat_a, write(tmp_path, "p.csv", text.encode()))
    assert not outcome.committed
    assert outcome.rows[0].problems[0]["field"] == "wkt" and "WKT" in outcome.rows[0].problems[0]["message"]
    fields = {p["field"] for p in outcome.rows[1].problems}
    assert {"facility_id", "geometry"} <= fields


def test_unsupported_crs_and_extension(tmp_path):
    with pytest.raises(FileRejected, match="2154"):
        read_parcel_file(path=write(tmp_path, "p.csv", b"wkt\nPOINT(1 2)\n"), filename="p.csv", chosen_srid=2154)
    with pytest.raises(FileRejected, match=".dwg"):
        read_parcel_file(path=write(tmp_path, "p.dwg", b"x"), filename="p.dwg", chosen_srid=None)


def test_management_command_all_or_nothing(tmp_path, facility_a, facility_a2, make_square):
    from django.core.management import CommandError, call_command

    good = feature(
        make_square(facility_a.location, 200),
        facility_id=facility_a.pk,
        cadastral_number="01-400-400-400",
        declared_area_ha=4,
    )
    # An unknown id no longer stops a row (it is matched by location); 20 km from any facility nothing
    # matches, and a row waiting for a choice is an error of the command that lists the candidates.
    bad = feature(make_square(facility_a2.location, 200, dy_m=-20_000), facility_id=999999, declared_area_ha=4)
    path = write(tmp_path, "p.geojson", fc([good, bad]))
    out = io.StringIO()
    with pytest.raises(CommandError, match="nothing was saved"):
        call_command("import_parcels", str(path), stdout=out)
    assert "feature 2: facility_id: warning" in out.getvalue() and "candidates: #" in out.getvalue()
    assert not Parcel.objects.filter(cadastral_number="01-400-400-400").exists()
    out = io.StringIO()
    call_command("import_parcels", str(path), "--skip-unmatched", "--dry-run", stdout=out)
    assert "1 parcel created; 1 row skipped" in out.getvalue()
    assert not Parcel.objects.filter(cadastral_number="01-400-400-400").exists()
    path = write(tmp_path, "q.geojson", fc([good]))
    call_command("import_parcels", str(path), "--dry-run", stdout=io.StringIO())
    assert not Parcel.objects.filter(cadastral_number="01-400-400-400").exists()
    call_command("import_parcels", str(path), stdout=io.StringIO())
    assert Parcel.objects.filter(cadastral_number="01-400-400-400").exists()


def test_demo_parcels_command(region_a):
    from django.core.management import call_command

    from parcels.selectors import parcel_infrastructure_readiness

    call_command("load_demo_parcels", "--regions", f"{region_a.kato},610000000", stdout=io.StringIO())
    demo = Parcel.objects.filter(is_demo=True)
    assert demo.values("region").distinct().count() == 2
    assert {"act_issued", "allocated"} <= set(demo.values_list("status", flat=True))
    assert demo.filter(links__isnull=False).exists()
    ids = list(demo.values_list("pk", flat=True))
    readiness = parcel_infrastructure_readiness(parcel_ids=ids)
    assert set(readiness) == set(ids)
    assert not any(readiness[pk] for pk in demo.filter(links__isnull=True).values_list("pk", flat=True))
    assert all(demo.filter(status="act_issued").values_list("act_number", flat=True))


def test_csv_with_swapped_lat_lon_is_explained(tmp_path, akimat_a, facility_a, make_square):
    geom = make_square(facility_a.location, 200)
    swapped = "POLYGON((" + ", ".join(f"{y} {x}" for x, y in geom[0][0]) + "))"
    text = f'facility_id,declared_area_ha,wkt\n{facility_a.pk},4,"{swapped}"\n'
    _, outcome = run(akimat_a, write(tmp_path, "p.csv", text.encode()))
    assert not outcome.committed
    assert [p["code"] for p in outcome.rows[0].problems] == ["swapped"]
    assert "swapped" in outcome.rows[0].problems[0]["message"]
