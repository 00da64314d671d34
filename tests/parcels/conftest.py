"""Fixtures of the parcels tests: parcels built as squares (in UTM) around demo facilities."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Polygon

from facilities.models import Facility
from parcels.geometry import utm_srid_for_lon
from parcels.models import Parcel
from parcels.services import parcel_create


def square(center, side_m: float, *, dx_m: float = 0.0, dy_m: float = 0.0) -> MultiPolygon:
    """A square of `side_m` metres (in the UTM zone of `center`), shifted by dx/dy metres, as EPSG:4326."""
    srid = utm_srid_for_lon(center.x)
    c = center.transform(srid, clone=True)
    x, y, h = c.x + dx_m, c.y + dy_m, side_m / 2
    poly = Polygon(((x - h, y - h), (x + h, y - h), (x + h, y + h), (x - h, y + h), (x - h, y - h)), srid=srid)
    poly.transform(4326)
    return MultiPolygon(poly, srid=4326)


@pytest.fixture
def make_square():
    return square


def facility_in(region, *, index: int = 0) -> Facility:
    return (
        Facility.objects.filter(region=region, location__isnull=False, district__isnull=False)
        .order_by("id")[index : index + 1]
        .get()
    )


@pytest.fixture
def facility_a(region_a):
    return facility_in(region_a)


@pytest.fixture
def facility_a2(region_a):
    return facility_in(region_a, index=1)


@pytest.fixture
def facility_b(region_b):
    return facility_in(region_b)


def base_data(**extra) -> dict:
    data = {
        "cadastral_number": "",
        "declared_area_ha": Decimal("4.0"),
        "land_category": "settlement",
        "right_type": "temporary_free",
        "status": "allocated",
        "act_number": "",
        "act_date": None,
        "issuing_akimat": "",
        "term_years": 49,
        "notes": "",
    }
    data.update(extra)
    return data


@pytest.fixture
def parcel_data():
    return base_data


@pytest.fixture
def parcel_a(admin_user_role, facility_a) -> Parcel:
    return parcel_create(
        user=admin_user_role,
        facility=facility_a,
        geom=square(facility_a.location, 200),
        data=base_data(cadastral_number="01-001-001-001"),
    ).obj


@pytest.fixture
def parcel_b(admin_user_role, facility_b) -> Parcel:
    return parcel_create(
        user=admin_user_role,
        facility=facility_b,
        geom=square(facility_b.location, 200),
        data=base_data(cadastral_number="19-002-002-002"),
    ).obj


def ewkt(geom: GEOSGeometry) -> str:
    return geom.ewkt


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploaded scans go to a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (the catalogues are checked by tests/test_translations.py)."""
    from django.utils import translation

    with translation.override("en"):
        yield
