"""Each geometry check of a parcel, against real PostGIS and the real boundaries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.gis.geos import MultiPolygon

from parcels.checks import geometry_repair_preview, parcel_geometry_check
from parcels.services import ParcelValidationError, parcel_create


def codes(report):
    return {p.code for p in report.problems}


def test_clean_square_passes_with_region_and_district(facility_a, make_square):
    report = parcel_geometry_check(geom=make_square(facility_a.location, 200), facility=facility_a, declared_area_ha=4)
    assert report.problems == []
    assert report.region_id == facility_a.region_id
    assert report.district_id == facility_a.district_id
    assert abs(report.computed_area_ha - Decimal("4.0")) < Decimal("0.01")
    assert 32639 <= report.area_srid <= 32645


def test_self_intersection_is_reported_with_location_and_repair_previews(facility_a, wkt):
    x, y = facility_a.location.x, facility_a.location.y
    d = 0.002
    bowtie = wkt(f"SRID=4326;MULTIPOLYGON((({x} {y},{x + d} {y + d},{x + d} {y},{x} {y + d},{x} {y})))")
    report = parcel_geometry_check(geom=bowtie, facility=facility_a, declared_area_ha=1)
    assert codes(report) == {"invalid"}
    message = report.problems[0].message
    assert "Self-intersection" in message and "° N" in message
    repaired = geometry_repair_preview(geom=bowtie)
    assert repaired.valid and repaired.geom_type == "MultiPolygon" and len(repaired) == 2
    assert repaired.srid == 4326


def test_outside_kazakhstan(facility_a, make_square):
    from django.contrib.gis.geos import Point

    moscow = Point(37.6, 55.75, srid=4326)
    report = parcel_geometry_check(geom=make_square(moscow, 200), facility=facility_a, declared_area_ha=4)
    assert codes(report) == {"outside_kz"}
    assert "55.7" in report.problems[0].message


def test_swapped_lat_lon(facility_a, make_square):
    from django.contrib.gis.geos import Point

    loc = facility_a.location
    geom = make_square(loc, 200)
    flipped = MultiPolygon(*[type(p)(*[[(y, x) for x, y in ring] for ring in p]) for p in geom], srid=4326)
    assert Point(loc.y, loc.x).x < 56
    report = parcel_geometry_check(geom=flipped, facility=facility_a, declared_area_ha=4)
    assert codes(report) == {"swapped"}


def test_outside_facility_region(facility_a, facility_b, make_square):
    # A parcel drawn at the Turkistan facility but declared for the Astana facility.
    report = parcel_geometry_check(geom=make_square(facility_b.location, 200), facility=facility_a, declared_area_ha=4)
    assert "outside_region" in codes(report)
    assert facility_a.region.name in report.problems[0].message


def test_outside_facility_district(facility_a, make_square):
    from facilities.models import Facility

    other = (
        Facility.objects.filter(region=facility_a.region, district__isnull=False)
        .exclude(district=facility_a.district)
        .first()
    )
    if other is None:
        pytest.skip("demo data has a single district in region A")
    report = parcel_geometry_check(geom=make_square(other.location, 200), facility=facility_a, declared_area_ha=4)
    assert "outside_district" in codes(report)


def test_overlap_names_parcel_and_area(parcel_a, facility_a, facility_a2, make_square, admin_user_role, parcel_data):
    # 200 m square shifted 100 m east of parcel_a: overlap is 100 m × 200 m = 20 000 m² = 2 ha.
    geom = make_square(facility_a.location, 200, dx_m=100)
    report = parcel_geometry_check(geom=geom, facility=facility_a, declared_area_ha=4, exclude_parcel_id=None)
    overlap = [p for p in report.problems if p.code == "overlap"]
    assert len(overlap) == 1
    assert "01-001-001-001" in overlap[0].message
    assert "20000" in overlap[0].message.replace(" ", "").replace(",", "")[:200] or "2.0000 ha" in overlap[0].message
    # Adjacent (touching) parcels are fine.
    touching = make_square(facility_a.location, 200, dx_m=200)
    assert "overlap" not in codes(parcel_geometry_check(geom=touching, facility=facility_a, declared_area_ha=4))
    # The parcel does not overlap itself when edited.
    own = parcel_geometry_check(
        geom=parcel_a.geom, facility=facility_a, declared_area_ha=4, exclude_parcel_id=parcel_a.pk
    )
    assert "overlap" not in codes(own)


def test_area_mismatch_is_a_warning_not_a_block(facility_a, make_square, admin_user_role, parcel_data):
    geom = make_square(facility_a.location, 200)
    report = parcel_geometry_check(geom=geom, facility=facility_a, declared_area_ha=Decimal("5"))
    assert [(p.code, p.severity) for p in report.problems] == [("area_mismatch", "warning")]
    within = parcel_geometry_check(geom=geom, facility=facility_a, declared_area_ha=Decimal("4.15"))
    assert within.problems == []
    result = parcel_create(
        user=admin_user_role, facility=facility_a, geom=geom, data=parcel_data(declared_area_ha=Decimal("5"))
    )
    assert result.obj.pk and [w.code for w in result.warnings] == ["area_mismatch"]


@pytest.mark.parametrize("side_m", [10, 2000])
def test_implausible_size(facility_a, make_square, side_m):
    report = parcel_geometry_check(
        geom=make_square(facility_a.location, side_m), facility=facility_a, declared_area_ha=side_m**2 / 1e4
    )
    assert "implausible_size" in codes(report)


def test_errors_block_saving(facility_a, make_square, admin_user_role, parcel_data):
    from parcels.models import Parcel

    before = Parcel.objects.count()
    with pytest.raises(ParcelValidationError) as exc:
        parcel_create(
            user=admin_user_role, facility=facility_a, geom=make_square(facility_a.location, 5), data=parcel_data()
        )
    assert exc.value.problems[0].code == "implausible_size"
    assert Parcel.objects.count() == before
