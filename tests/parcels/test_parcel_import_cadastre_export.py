"""A land officer loads the cadastre's own exports, knowing no portal id (issue 15, "done means").

Two files written as land offices write them, uploaded through the import pages as the akimat of Astana:

- a zipped Shapefile in Windows-1251 with its `.cpg`, Russian and Kazakh column names (cut to 10
  characters by dBASE), decimal commas and dd.mm.yyyy dates, in Pulkovo 1942 / 3-degree Gauss–Krüger
  zone 24 (EPSG:2540, with the `.prj` GDAL writes), no facility id: one parcel whose facility lies inside
  it, one between two planned facilities (ambiguous: the officer chooses), one whose cadastral number is
  already in the portal (it updates that parcel: new act, corrected boundary);
- a semicolon CSV from Excel (Windows-1251) in a local system (МСК) that an administrator registered,
  chosen at upload.

The facilities are made here, 3 km and more from the demo ones, so that only they are candidates.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pyproj import CRS

from facilities.models import Facility
from layers.models import District
from parcels.import_columns import UNKNOWN, columns_resolve, file_columns
from parcels.io import read_parcel_file
from parcels.models import Parcel
from parcels.selectors import parcel_export, parcel_list
from parcels.services import SYSTEM, local_crs_save, parcel_create, parcel_history, parcel_update, parcels_import
from tests.parcels.conftest import base_data, square
from tests.parcels.test_parcel_crs import MSK, msk_data, ring_in
from tests.parcels.test_parcel_import import fc, feature, ogr

pytestmark = pytest.mark.django_db

ZONE_24 = 2540  # Pulkovo 1942 / 3-degree Gauss-Kruger zone 24


def offset_point(origin: Point, dx_m: float, dy_m: float) -> Point:
    """`origin` moved by metres east/north (measured in WGS 84 / UTM 42N), as EPSG:4326."""
    p = origin.transform(32642, clone=True)
    moved = Point(p.x + dx_m, p.y + dy_m, srid=32642)
    moved.transform(4326)
    return moved


def planned_facility(template: Facility, location: Point, name: str) -> Facility:
    district = District.objects.get(geom__intersects=location)
    return Facility.objects.create(
        kind=template.kind,
        measure=template.measure,
        region=template.region,
        district=district,
        name_kk=name,
        name_ru=name,
        name_en=name,
        places=120,
        location=location,
        planned_year=2025,
    )


@pytest.fixture
def site(facility_a, settings):
    """Five planned facilities around a spot 3 km north of facility_a; one already has a parcel."""
    settings.PARCEL_IMPORT_MATCH_DISTANCE_M = 400
    base = offset_point(facility_a.location, 0, 3000)
    made = {
        key: planned_facility(facility_a, offset_point(base, dx, dy), f"Test centre {key}")
        for key, (dx, dy) in {
            "inside": (0, 0),
            "left": (-1500, 0),  # with "right": 150 m either side of the ambiguous parcel
            "right": (-1200, 0),
            "updated": (1500, 0),
            "local": (0, -1500),
        }.items()
    }
    existing = parcel_create(
        user=SYSTEM,
        facility=made["updated"],
        geom=square(made["updated"].location, 200),
        data=base_data(cadastral_number="01-100-100-100", status="allocated", act_number=""),
    ).obj
    return made, existing


def cp1251_shapefile(tmp_path, features: list) -> bytes:
    """A zipped Shapefile as a cadastre office exports it: CP1251 text with a .cpg, the .prj of EPSG:2540."""
    ogr(tmp_path, fc(features, srid=ZONE_24), "ESRI Shapefile", "shp", "-nln", "участки", "-lco", "ENCODING=CP1251")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in sorted((tmp_path / "shp").iterdir()):
            archive.write(part, arcname=part.name)
    return buffer.getvalue()


def in_zone_24(geom):
    return geom.transform(ZONE_24, clone=True)


def test_land_officer_imports_cadastre_exports_without_any_id(
    client, tmp_path, akimat_a, admin_user_role, region_a, site
):
    made, existing = site
    client.force_login(akimat_a)

    # --- 1. The Shapefile: three rows, Russian/Kazakh columns, no facility id. --------------------
    between = offset_point(made["left"].location, 150, 0)
    corrected = square(existing.facility.location, 200, dx_m=4)  # the surveyor moved the boundary 4 m east
    columns = {"Кадастровый номер": None, "Площадь, га": None, "Номер акта": None, "Дата акта": None}
    rows = [
        (square(made["inside"].location, 200), "01-200-200-201", "4,0", "", "", "Земли населённых пунктов"),
        # CP1251 has no ң: Kazakh text in such files writes н.
        (square(between, 200), "01-200-200-202", "4,0", "", "", "Елді мекендердін жерлері"),
        (corrected, "01-100-100-100", "4,0", "12/2024", "15.03.2024", "Земли населенных пунктов"),
    ]
    features = [
        feature(
            in_zone_24(geom),
            **dict(zip(columns, (number, area, act, act_date), strict=True)),
            **{"Категория земель": category, "Ескертпе": "новый участок"},
        )
        for geom, number, area, act, act_date, category in rows
    ]
    shapefile = SimpleUploadedFile("Выгрузка_ЗК.zip", cp1251_shapefile(tmp_path, features))
    response = client.post(reverse("parcels:import"), {"file": shapefile, "srid": ""})
    assert response.status_code == 302, response.content.decode()[:1000]
    preview_url = response["Location"]
    token = preview_url.rstrip("/").split("/")[-1]
    page = client.get(preview_url).content.decode()

    # The preview names the system from the .prj and which column fed which field.
    assert "EPSG:2540" in page
    assert 'data-column="Кадастровы" data-how="name"' in page  # cut to 10 characters by dBASE, still known
    assert 'data-column="Площадь, г" data-how="name"' in page
    # Row 1 matched by location; row 2 asks, offering both nearby facilities; row 3 shows its differences.
    assert "its location lies inside the parcel" in page
    assert 'name="facility_2"' in page
    assert f'value="{made["left"].pk}"' in page and f'value="{made["right"].pk}"' in page
    assert "updates parcel 01-100-100-100" in page
    assert "12/2024" in page and ("15.03.2024" in page or "2024-03-15" in page)
    assert "Save the import" not in page  # a choice is still open

    # --- 2. The officer chooses the facility of row 2, then saves. ----------------------------------
    chosen = client.post(reverse("parcels:import_choices", args=[token]), {"facility_2": str(made["right"].pk)})
    assert chosen.status_code == 302
    page = client.get(preview_url).content.decode()
    assert "chosen by you" in page and "Save the import" in page
    saved = client.post(reverse("parcels:import_confirm", args=[token]))
    assert saved.status_code == 302

    first = Parcel.objects.get(cadastral_number="01-200-200-201")
    second = Parcel.objects.get(cadastral_number="01-200-200-202")
    assert first.facility == made["inside"] and second.facility == made["right"]
    assert (first.declared_area_ha, first.land_category, first.notes) == (Decimal("4"), "settlement", "новый участок")
    assert first.geom.contains(made["inside"].location)
    existing.refresh_from_db()
    assert (existing.act_number, existing.act_date) == ("12/2024", date(2024, 3, 15))
    # The corrected boundary, not the old one (4 m apart: ~1 600 m² differ); the Shapefile reversed its rings.
    moved_m2 = existing.geom.transform(32642, clone=True).sym_difference(corrected.transform(32642, clone=True)).area
    assert existing.version > 1 and moved_m2 < 1.0
    assert len(parcel_history(parcel=existing)) >= 2  # the earlier version is kept and restorable

    # --- 3. The Excel CSV in the registered local system (МСК). ------------------------------------
    msk = local_crs_save(user=admin_user_role, data=msk_data(region=region_a))
    target = square(made["local"].location, 200)
    ring = ring_in(CRS.from_proj4(MSK), list(target[0][0].coords))
    local_wkt = "POLYGON ((" + ", ".join(f"{x:.3f} {y:.3f}" for x, y in ring) + "))"
    header = "Кадастровый номер;Площадь, га;Номер акта;Дата акта;Вид права;WKT"
    line = f"01-200-200-203;4,00;7-ЗУ;01.04.2024;временное безвозмездное землепользование;{local_wkt}"
    csv_bytes = (header + "\r\n" + line + "\r\n").encode("cp1251")
    upload = SimpleUploadedFile("акты 2024.csv", csv_bytes)
    response = client.post(reverse("parcels:import"), {"file": upload, "srid": f"local:{msk.pk}"})
    assert response.status_code == 302, response.content.decode()[:1000]
    page = client.get(response["Location"]).content.decode()
    assert "МСК-71 (test)" in page and "Windows-1251" in page
    assert "its location lies inside the parcel" in page
    token = response["Location"].rstrip("/").split("/")[-1]
    assert client.post(reverse("parcels:import_confirm", args=[token])).status_code == 302
    third = Parcel.objects.get(cadastral_number="01-200-200-203")
    assert third.facility == made["local"] and third.act_date == date(2024, 4, 1) and third.act_number == "7-ЗУ"
    assert third.right_type == "temporary_free"
    assert third.geom.contains(made["local"].location)


@pytest.mark.parametrize("fmt,name", [("geojson", "parcels.geojson"), ("shp", "parcels.zip"), ("csv", "parcels.csv")])
def test_an_export_read_back_changes_nothing_and_every_column_is_known(tmp_path, akimat_a, parcel_a, fmt, name):
    """The portal's own export re-imports: each parcel is found by its cadastral number and is unchanged."""
    content, _media_type, _filename = parcel_export(
        queryset=parcel_list(user=akimat_a, filters={"region": parcel_a.region.kato}), fmt=fmt
    )
    path = tmp_path / name
    path.write_bytes(content)
    read = read_parcel_file(path=path, filename=name, chosen_srid=None)
    uses = columns_resolve(file_columns([f.properties for f in read.features]))
    assert not [u.column for u in uses if u.how == UNKNOWN]
    outcome = parcels_import(user=akimat_a, features=read.features, commit=True)
    mine = next(r for r in outcome.rows if r.cadastral_number == parcel_a.cadastral_number)
    assert mine.action == "unchanged", (mine.changes, mine.boundary, mine.problems)
    assert outcome.created == 0 and outcome.committed
    parcel_a.refresh_from_db()
    assert parcel_a.version == 1


def test_confirm_does_not_overwrite_a_parcel_changed_after_the_preview(client, akimat_a, parcel_a, make_square):
    """The preview showed version 1; somebody saves version 2 before the officer confirms: nothing is saved."""
    client.force_login(akimat_a)
    row = feature(make_square(parcel_a.facility.location, 200), КН=parcel_a.cadastral_number, **{"Номер акта": "A-1"})
    response = client.post(reverse("parcels:import"), {"file": SimpleUploadedFile("p.geojson", fc([row])), "srid": ""})
    page = client.get(response["Location"]).content.decode()
    assert 'name="version_1" value="1"' in page and "updates parcel" in page
    token = response["Location"].rstrip("/").split("/")[-1]
    parcel_update(user=SYSTEM, parcel_id=parcel_a.pk, expected_version=1, data={"notes": "checked on site"})
    stale = client.post(reverse("parcels:import_confirm", args=[token]), {"version_1": "1"}, follow=True)
    assert "somebody changed a parcel of this file after your preview" in stale.content.decode()
    assert 'name="version_1" value="2"' in stale.content.decode()
    parcel_a.refresh_from_db()
    assert (parcel_a.act_number, parcel_a.notes, parcel_a.version) == ("", "checked on site", 2)
    # Looked at again, the preview shows version 2 and the confirmation goes through.
    assert client.post(reverse("parcels:import_confirm", args=[token]), {"version_1": "2"}).status_code == 302
    parcel_a.refresh_from_db()
    assert (parcel_a.act_number, parcel_a.notes, parcel_a.version) == ("A-1", "checked on site", 3)


def test_a_candidate_parcel_without_a_number_gets_its_number_from_a_later_file(akimat_a, facility_a2, tmp_path):
    """No cadastral number yet: a row naming the facility updates its parcel; the act brings the number."""
    geom = square(facility_a2.location, 200)
    parcel = parcel_create(user=SYSTEM, facility=facility_a2, geom=geom, data=base_data(status="candidate")).obj
    row = feature(geom, facility=facility_a2.pk, **{"Кадастровый номер": "01-300-300-300", "Номер акта": "5"})
    path = tmp_path / "p.geojson"
    path.write_bytes(fc([row]))
    read = read_parcel_file(path=path, filename=path.name, chosen_srid=None)
    outcome = parcels_import(user=akimat_a, features=read.features, commit=True)
    assert outcome.committed and outcome.updated == 1 and outcome.created == 0, outcome.rows[0].problems
    parcel.refresh_from_db()
    assert (parcel.cadastral_number, parcel.act_number, parcel.version) == ("01-300-300-300", "5", 2)
    # A row naming the same facility with ANOTHER number is a different parcel: it is not merged into this one.
    other = feature(square(facility_a2.location, 200, dx_m=500), facility=facility_a2.pk, КН="01-300-300-301")
    path.write_bytes(fc([other]))
    read = read_parcel_file(path=path, filename=path.name, chosen_srid=None)
    outcome = parcels_import(user=akimat_a, features=read.features, commit=True)
    assert not outcome.committed and outcome.rows[0].action == "create"
    assert any(p["code"] == "facility_has_parcel" for p in outcome.rows[0].problems), outcome.rows[0].problems
