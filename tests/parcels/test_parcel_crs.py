"""Coordinate systems of land offices (issue 15, point 4): Pulkovo 3° Gauss–Krüger zones and registered МСК.

The local system used here, "МСК-71 (test)", is INVENTED for the tests: a transverse Mercator on the
Krassovsky ellipsoid with a central meridian at 71°30′E, a false easting of 2 300 000 m and a false
northing of −5 000 000 m, and the Pulkovo 1942 → WGS 84 7-parameter shift as +towgs84 — shaped like
the МСК of a regional land office, not a real one.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from pyproj import CRS, Geod, Transformer
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_crs_info
from pyproj.enums import PJType

from parcels.crs import LocalCrs, LocalCrsOptions, multipolygon_to_wgs84
from parcels.forms import ImportForm
from parcels.io import ALLOWED_SRIDS, SRID_GROUPS, FileRejected, read_parcel_file
from parcels.models import LocalCoordinateSystem, Parcel, ParcelImportUpload
from parcels.selectors import local_crs_offered
from parcels.services import ParcelValidationError, local_crs_save, parcels_import

pytestmark = pytest.mark.django_db

GEOD = Geod(ellps="WGS84")
KAZAKHSTAN = AreaOfInterest(west_lon_degree=46.0, south_lat_degree=40.5, east_lon_degree=88.0, north_lat_degree=55.5)
MSK = (
    "+proj=tmerc +lat_0=0 +lon_0=71.5 +k=1 +x_0=2300000 +y_0=-5000000 +ellps=krass "
    "+towgs84=23.57,-140.95,-79.8,0,-0.35,-0.79,-0.22 +units=m +no_defs"
)
SIDE_M = 200.0


# --- helpers -------------------------------------------------------------------------------------


def corners_lonlat(facility) -> list[tuple[float, float]]:
    """A closed ring of a ~200 m square north-east of the facility, in WGS 84 degrees."""
    lon, lat = facility.location.x, facility.location.y
    east, _lat, _az = GEOD.fwd(lon, lat, 90, SIDE_M)
    _lon, north, _az = GEOD.fwd(lon, lat, 0, SIDE_M)
    return [(lon, lat), (east, lat), (east, north), (lon, north), (lon, lat)]


def ring_in(crs, ring: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The ring transformed by pyproj from WGS 84 into `crs` (x = easting)."""
    to = Transformer.from_crs(4326, crs, always_xy=True)
    return [to.transform(x, y) for x, y in ring]


def max_offset_m(geom, expected: list[tuple[float, float]]) -> float:
    """Largest geodesic distance (m) from a vertex of the outer ring to the nearest `expected` vertex
    (degrees), and back: ring order and orientation may change (a Shapefile's outer rings run clockwise)."""
    got = geom[0][0].coords
    assert len(got) == len(expected)

    def nearest(p, points) -> float:
        return min(GEOD.inv(p[0], p[1], q[0], q[1])[2] for q in points)

    return max(max(nearest(p, expected) for p in got), max(nearest(q, got) for q in expected))


def geojson(ring, *, facility, cadastral: str) -> bytes:
    feature = {
        "type": "Feature",
        "properties": {"facility_id": facility.pk, "cadastral_number": cadastral, "declared_area_ha": 4},
        "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
    }
    return json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()


def zipped_shapefile(tmp_path: Path, data: bytes, *, a_srs: str) -> Path:
    """A zipped Shapefile written by ogr2ogr, its .prj (ESRI WKT) written by GDAL from `a_srs`."""
    src = tmp_path / "src.geojson"
    src.write_bytes(data)
    out = tmp_path / "shp"
    out.mkdir()
    subprocess.run(  # noqa: S603
        ["ogr2ogr", "-f", "ESRI Shapefile", str(out / "p.shp"), str(src), "-a_srs", a_srs],  # noqa: S607
        check=True,
        capture_output=True,
    )
    assert (out / "p.prj").exists()
    target = tmp_path / "p.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for part in sorted(out.iterdir()):
            archive.write(part, arcname=part.name)
    return target


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def msk_data(**extra) -> dict:
    """A correct test point of MSK: 71.45°E 51.15°N and its local coordinates."""
    x, y = Transformer.from_crs(CRS.from_epsg(4326), CRS.from_proj4(MSK), always_xy=True).transform(71.45, 51.15)
    data = {
        "name": "МСК-71 (test)",
        "region": None,
        "definition": MSK,
        "test_x": x,
        "test_y": y,
        "test_lon": 71.45,
        "test_lat": 51.15,
        "tolerance_m": 1.0,
        "is_active": True,
    }
    data.update(extra)
    return data


@pytest.fixture
def msk(admin_user_role) -> LocalCoordinateSystem:
    return local_crs_save(user=admin_user_role, data=msk_data())


def plain(system: LocalCoordinateSystem) -> LocalCrs:
    return LocalCrs(pk=system.pk, name=system.name, definition=system.definition)


# --- the EPSG list ---------------------------------------------------------------------------------


def overlaps_kazakhstan_lon(west: float, east: float) -> bool:
    """Does [west, east] (degrees; west > east when it crosses the antimeridian) overlap 46°E–88°E?"""
    if west <= east:
        return west < KAZAKHSTAN.east_lon_degree and east > KAZAKHSTAN.west_lon_degree
    return west < KAZAKHSTAN.east_lon_degree or east > KAZAKHSTAN.west_lon_degree


def test_allowed_codes_are_what_pyproj_calls_them_and_cover_kazakhstan():
    for code, label in ALLOWED_SRIDS.items():
        crs = CRS.from_epsg(code)
        assert f"(EPSG:{code})" in label
        # The label is EPSG's name, written for people: "3-degree" as 3°, "72E" as 72°E, 6° zones marked.
        name = label.split(" (EPSG:")[0].replace(", longitude/latitude", "")
        name = name.replace("6° ", "").replace("3° ", "3-degree ").replace("°E", "E")
        assert name == crs.name, (code, label, crs.name)
        area = crs.area_of_use
        assert overlaps_kazakhstan_lon(area.west, area.east), code
        assert area.south < KAZAKHSTAN.north_lat_degree and area.north > KAZAKHSTAN.south_lat_degree, code
    # Every Pulkovo Gauss–Krüger system EPSG has over Kazakhstan is offered, and geographic Pulkovo 1995.
    found = {
        int(info.code)
        for info in query_crs_info(
            auth_name="EPSG", pj_types=PJType.PROJECTED_CRS, area_of_interest=KAZAKHSTAN, contains=False
        )
        if re.match(r"^Pulkovo 19(42|95) / (3-degree )?Gauss-Kruger ", info.name) and not info.deprecated
    }
    assert len(found) == 4 * 8 + 4 * 15
    assert found <= set(ALLOWED_SRIDS)
    assert {4200, 4284, 2540, 2599, 2657, 2715, 20012, 2471} <= set(ALLOWED_SRIDS)


def test_import_form_groups_the_systems(akimat_a, msk):
    choices = ImportForm(user=akimat_a).fields["srid"].choices
    groups = {str(label): values for label, values in choices[1:]}
    assert list(groups) == ["WGS 84", "Pulkovo 1942", "Pulkovo 1995", "Local systems (МСК)"]
    assert ("2540", ALLOWED_SRIDS[2540]) in groups["Pulkovo 1942"]
    assert len(groups["Pulkovo 1995"]) == len(SRID_GROUPS["pulkovo1995"])
    assert groups["Local systems (МСК)"] == [(f"local:{msk.pk}", "МСК-71 (test)")]


# --- a parcel in a Pulkovo 1942 3° zone ---------------------------------------------------------------


def test_geojson_in_3_degree_zone_24_lands_where_pyproj_puts_it(tmp_path, akimat_a, facility_a):
    lonlat = corners_lonlat(facility_a)
    local = ring_in(2540, lonlat)
    assert 24_000_000 < local[0][0] < 25_000_000  # zone-prefixed eastings
    data = geojson(local, facility=facility_a, cadastral="01-024-024-024")
    read = read_parcel_file(path=write(tmp_path, "p.geojson", data), filename="p.geojson", chosen_srid=2540)
    assert read.source_srid == 2540 and read.local_crs is None and not read.crs_from_file
    expected = [Transformer.from_crs(2540, 4326, always_xy=True).transform(x, y) for x, y in local]
    assert max_offset_m(read.features[0].geom, expected) < 1.0
    outcome = parcels_import(user=akimat_a, features=read.features, commit=True)
    assert outcome.committed, outcome.rows[0].problems
    assert max_offset_m(Parcel.objects.get(cadastral_number="01-024-024-024").geom, expected) < 1.0


def test_csv_in_3_degree_cm_72e_lands_where_pyproj_puts_it(tmp_path, akimat_a, facility_a):
    local = ring_in(2599, corners_lonlat(facility_a))
    assert 300_000 < local[0][0] < 700_000  # no zone prefix
    wkt = Polygon(local).wkt
    text = f"facility_id;cadastral_number;declared_area_ha;wkt\n{facility_a.pk};01-025-025-025;4;{wkt}\n"
    read = read_parcel_file(path=write(tmp_path, "p.csv", text.encode()), filename="p.csv", chosen_srid=2599)
    expected = [Transformer.from_crs(2599, 4326, always_xy=True).transform(x, y) for x, y in local]
    assert read.source_srid == 2599 and max_offset_m(read.features[0].geom, expected) < 1.0
    assert parcels_import(user=akimat_a, features=read.features, commit=True).committed


def test_shapefile_prj_of_3_degree_zone_written_by_ogr2ogr_is_recognised(tmp_path, akimat_a, facility_a):
    local = ring_in(2540, corners_lonlat(facility_a))
    data = geojson(local, facility=facility_a, cadastral="01-026-026-026")
    path = zipped_shapefile(tmp_path, data, a_srs="EPSG:2540")
    read = read_parcel_file(path=path, filename="p.zip", chosen_srid=None)
    assert read.source_srid == 2540 and read.crs_from_file
    expected = [Transformer.from_crs(2540, 4326, always_xy=True).transform(x, y) for x, y in local]
    assert max_offset_m(read.features[0].geom, expected) < 1.0
    assert parcels_import(user=akimat_a, features=read.features, commit=True).committed


# --- registering a local system ---------------------------------------------------------------------


def test_local_system_with_a_correct_test_point_is_saved_with_history(msk):
    assert msk.pk and msk.is_active and msk.region is None
    events = LocalCoordinateSystem.pgh_event_model.objects.filter(pgh_obj_id=msk.pk)
    assert [e.pgh_label for e in events] == ["insert"]


def test_wrong_test_point_is_refused_with_the_distance(admin_user_role):
    data = msk_data()
    data["test_x"] += 30.0  # 30 m east of where the point really is
    with pytest.raises(ParcelValidationError) as caught:
        local_crs_save(user=admin_user_role, data=data)
    (problem,) = caught.value.problems
    assert problem.field == "test_x"
    distance = float(re.search(r"([\d.]+) m from the given point", problem.message).group(1))
    assert 29.5 < distance < 30.5
    assert not LocalCoordinateSystem.objects.exists()


@pytest.mark.parametrize(
    "definition",
    [
        "+init=epsg:2540",
        MSK.replace("+towgs84=", "+init=ITRF2014:ITRF2008 +towgs84="),
        MSK + " +nadgrids=kz_grid.gsb",
        MSK + " +nadgrids=@null",
        MSK + " +geoidgrids=egm96_15.gtx",
        MSK + " +nadgrids=https://cdn.proj.org/kz.tif",
        CRS.from_proj4(MSK)
        .source_crs.to_wkt("WKT1_GDAL")
        .replace('UNIT["metre"', 'EXTENSION["PROJ4","+proj=tmerc +nadgrids=kz.gsb"],UNIT["metre"', 1),
        'BOUNDCRS[SOURCECRS[PROJCRS["x"]],TARGETCRS[GEOGCRS["WGS 84"]],ABRIDGEDTRANSFORMATION["t",'
        'METHOD["NTv2"],PARAMETERFILE["Latitude and longitude difference file","kz.gsb"]]]',
        CRS.from_proj4(MSK).source_crs.to_wkt()[:-1] + ',ID["x",1,URI["urn:ogc:def:crs:x"]]]',
    ],
)
def test_definitions_referring_to_files_or_the_network_are_refused(admin_user_role, definition):
    with pytest.raises(ParcelValidationError) as caught:
        local_crs_save(user=admin_user_role, data=msk_data(definition=definition))
    assert any(p.field == "definition" for p in caught.value.problems), caught.value.problems


@pytest.mark.parametrize(
    ("definition", "words"),
    [
        ("+proj=longlat +ellps=krass +no_defs", "projected"),
        ("EPSG:2540", "PROJ string"),
        ("+proj=tmerc +lon_0=71.5 +ellps=nonsense", "cannot read"),
        ("", "Enter the definition"),
    ],
)
def test_definitions_that_are_not_projected_systems_are_refused(admin_user_role, definition, words):
    with pytest.raises(ParcelValidationError, match=words):
        local_crs_save(user=admin_user_role, data=msk_data(definition=definition))


def test_only_administrators_register_local_systems(akimat_a, planner):
    for user in (akimat_a, planner):
        with pytest.raises(PermissionDenied):
            local_crs_save(user=user, data=msk_data())


# --- importing in a local system ---------------------------------------------------------------------


def test_parcel_chosen_in_the_local_system_lands_right(tmp_path, akimat_a, facility_a, msk):
    lonlat = corners_lonlat(facility_a)
    local = ring_in(CRS.from_proj4(MSK), lonlat)
    data = geojson(local, facility=facility_a, cadastral="01-071-071-071")
    read = read_parcel_file(
        path=write(tmp_path, "p.geojson", data),
        filename="p.geojson",
        chosen_srid=None,
        local=LocalCrsOptions(chosen=plain(msk), registered=(plain(msk),)),
    )
    assert read.local_crs == plain(msk) and read.source_srid is None and read.crs_label == "МСК-71 (test)"
    assert max_offset_m(read.features[0].geom, lonlat) < 1.0
    assert parcels_import(user=akimat_a, features=read.features, commit=True).committed
    parcel = Parcel.objects.get(cadastral_number="01-071-071-071")
    assert max_offset_m(parcel.geom, lonlat) < 1.0 and abs(float(parcel.computed_area_ha) - 4.0) < 0.05


def test_prj_equal_to_a_registered_system_is_recognised(tmp_path, akimat_a, facility_a, msk):
    lonlat = corners_lonlat(facility_a)
    data = geojson(ring_in(CRS.from_proj4(MSK), lonlat), facility=facility_a, cadastral="01-072-072-072")
    # ogr2ogr writes the .prj as ESRI WKT, which has no room for the +towgs84 shift: the match is by
    # projection parameters and the stored definition (with its shift) transforms.
    path = zipped_shapefile(tmp_path, data, a_srs=MSK)
    other = LocalCrs(pk=0, name="other", definition=MSK.replace("+x_0=2300000", "+x_0=1300000"))
    read = read_parcel_file(
        path=path, filename="p.zip", chosen_srid=None, local=LocalCrsOptions(registered=(other, plain(msk)))
    )
    assert read.local_crs == plain(msk) and read.crs_from_file
    assert max_offset_m(read.features[0].geom, lonlat) < 1.0


def test_geopackage_in_a_registered_system_is_recognised(tmp_path, facility_a, msk):
    lonlat = corners_lonlat(facility_a)
    src = write(
        tmp_path, "src.geojson", geojson(ring_in(CRS.from_proj4(MSK), lonlat), facility=facility_a, cadastral="")
    )
    target = tmp_path / "p.gpkg"
    subprocess.run(  # noqa: S603
        ["ogr2ogr", "-f", "GPKG", str(target), str(src), "-a_srs", MSK],  # noqa: S607
        check=True,
        capture_output=True,
    )
    registered = LocalCrsOptions(registered=(plain(msk),))
    read = read_parcel_file(path=target, filename="p.gpkg", chosen_srid=None, local=registered)
    assert read.local_crs == plain(msk) and read.crs_from_file
    assert max_offset_m(read.features[0].geom, lonlat) < 1.0


def test_prj_of_an_unregistered_local_system_gets_a_plain_message(tmp_path, facility_a, msk):
    data = geojson(ring_in(CRS.from_proj4(MSK), corners_lonlat(facility_a)), facility=facility_a, cadastral="")
    path = zipped_shapefile(tmp_path, data, a_srs=MSK.replace("+x_0=2300000", "+x_0=2400000"))
    with pytest.raises(FileRejected) as caught:
        read_parcel_file(path=path, filename="p.zip", chosen_srid=None, local=LocalCrsOptions(registered=(plain(msk),)))
    message = str(caught.value)
    assert "is not one the portal knows" in message
    assert "Choose the file's coordinate system in the list, or ask an administrator to register it" in message


def test_unknown_prj_with_a_chosen_system_uses_the_choice(tmp_path, facility_a, msk):
    # The plain message tells the user to choose: a choice made for a .prj that matches nothing is used.
    lonlat = corners_lonlat(facility_a)
    data = geojson(ring_in(CRS.from_proj4(MSK), lonlat), facility=facility_a, cadastral="")
    path = zipped_shapefile(tmp_path, data, a_srs=MSK.replace("+k=1", "+k=0.9996"))
    options = LocalCrsOptions(chosen=plain(msk), registered=(plain(msk),))
    read = read_parcel_file(path=path, filename="p.zip", chosen_srid=None, local=options)
    assert read.local_crs == plain(msk) and not read.crs_from_file
    assert max_offset_m(read.features[0].geom, lonlat) < 1.0


def test_choice_list_of_an_akimat_omits_other_regions_systems(
    admin_user_role, akimat_a, akimat_b, planner, region_a, region_b
):
    national = local_crs_save(user=admin_user_role, data=msk_data(name="national"))
    own = local_crs_save(user=admin_user_role, data=msk_data(name="Astana МСК", region=region_a))
    other = local_crs_save(user=admin_user_role, data=msk_data(name="Turkistan МСК", region=region_b))
    local_crs_save(user=admin_user_role, data=msk_data(name="retired", is_active=False))
    assert set(local_crs_offered(user=akimat_a)) == {national, own}
    assert set(local_crs_offered(user=akimat_b)) == {national, other}
    assert set(local_crs_offered(user=admin_user_role)) == {national, own, other}
    assert not local_crs_offered(user=planner).exists()  # planners do not import
    values = {v for _label, group in ImportForm(user=akimat_a).fields["srid"].choices[1:] for v, _ in group}
    assert f"local:{own.pk}" in values and f"local:{other.pk}" not in values
    form = ImportForm({"srid": f"local:{other.pk}"}, {"file": SimpleUploadedFile("p.geojson", b"{}")}, user=akimat_a)
    assert not form.is_valid() and "srid" in form.errors


def test_upload_remembers_the_local_system_and_imports_in_it(client, tmp_path, akimat_a, facility_a, msk):
    lonlat = corners_lonlat(facility_a)
    data = geojson(ring_in(CRS.from_proj4(MSK), lonlat), facility=facility_a, cadastral="01-073-073-073")
    client.force_login(akimat_a)
    response = client.post(
        reverse("parcels:import"), {"file": SimpleUploadedFile("p.geojson", data), "srid": f"local:{msk.pk}"}
    )
    assert response.status_code == 302, response.content[:2000]
    upload = ParcelImportUpload.objects.get(user=akimat_a)
    assert upload.local_crs == msk and upload.srid is None
    preview = client.get(response["Location"])
    assert preview.status_code == 200 and "МСК-71 (test)" in preview.content.decode()
    confirmed = client.post(reverse("parcels:import_confirm", args=[upload.token]))
    assert confirmed.status_code == 302
    assert max_offset_m(Parcel.objects.get(cadastral_number="01-073-073-073").geom, lonlat) < 1.0


def test_deactivated_system_is_no_longer_used_by_a_pending_preview(client, akimat_a, facility_a, msk):
    data = geojson(ring_in(CRS.from_proj4(MSK), corners_lonlat(facility_a)), facility=facility_a, cadastral="")
    client.force_login(akimat_a)
    response = client.post(
        reverse("parcels:import"), {"file": SimpleUploadedFile("p.geojson", data), "srid": f"local:{msk.pk}"}
    )
    LocalCoordinateSystem.objects.filter(pk=msk.pk).update(is_active=False)
    preview = client.get(response["Location"])
    assert preview.status_code == 400 and "is no longer offered" in preview.content.decode()


def test_import_command_takes_a_local_system_by_name(tmp_path, facility_a, msk):
    lonlat = corners_lonlat(facility_a)
    data = geojson(ring_in(CRS.from_proj4(MSK), lonlat), facility=facility_a, cadastral="01-074-074-074")
    out = StringIO()
    call_command("import_parcels", str(write(tmp_path, "p.geojson", data)), "--local-crs", msk.name, stdout=out)
    assert "МСК-71 (test)" in out.getvalue()
    assert max_offset_m(Parcel.objects.get(cadastral_number="01-074-074-074").geom, lonlat) < 1.0
    with pytest.raises(CommandError, match="no local coordinate system"):
        call_command("import_parcels", str(tmp_path / "p.geojson"), "--local-crs", "nope", stdout=StringIO())


# --- the admin page ----------------------------------------------------------------------------------


def test_admin_page_requires_the_administrator_role(client, akimat_a, planner, admin_user_role, msk):
    url = reverse("admin:parcels_localcoordinatesystem_changelist")
    change = reverse("admin:parcels_localcoordinatesystem_change", args=[msk.pk])
    for user in (akimat_a, planner):
        client.force_login(user)
        assert client.get(url).status_code in (302, 403)
        assert client.get(change).status_code in (302, 403)
        assert client.post(change, {"name": "hijacked"}).status_code in (302, 403)
    assert LocalCoordinateSystem.objects.get(pk=msk.pk).name == "МСК-71 (test)"
    client.force_login(admin_user_role)
    assert client.get(url).status_code == 200
    page = client.get(change).content.decode()
    assert "insert" in page and "admin_t" in page  # the history, with who made it


def test_admin_form_shows_the_distance_and_saves_through_the_service(client, admin_user_role):
    client.force_login(admin_user_role)
    url = reverse("admin:parcels_localcoordinatesystem_add")
    data = {k: ("" if v is None else v) for k, v in msk_data().items()}
    data["is_active"] = "on"
    inline = {"events-TOTAL_FORMS": "0", "events-INITIAL_FORMS": "0"}
    wrong = client.post(url, {**data, "test_y": data["test_y"] + 12.0, **inline})
    assert wrong.status_code == 200 and "m from the given point" in wrong.content.decode()
    assert not LocalCoordinateSystem.objects.exists()
    saved = client.post(url, {**data, **inline})
    assert saved.status_code == 302, saved.content.decode()[:3000]
    system = LocalCoordinateSystem.objects.get()
    event = LocalCoordinateSystem.pgh_event_model.objects.get(pgh_obj_id=system.pk)
    assert event.pgh_context.metadata.get("user") == admin_user_role.pk


def test_geometry_helper_keeps_polygons(msk):
    # A MultiPolygon of two parts in the local system stays two parts, each in WGS 84.
    x, y = msk.test_x, msk.test_y
    square = [(x, y), (x + 100, y), (x + 100, y + 100), (x, y + 100), (x, y)]
    moved = [(a + 500, b) for a, b in square]
    result = multipolygon_to_wgs84(MultiPolygon(Polygon(square), Polygon(moved)), local=plain(msk))
    assert result.srid == 4326 and len(result) == 2
    assert GEOD.inv(result[0][0][0][0], result[0][0][0][1], msk.test_lon, msk.test_lat)[2] < 1.0
