"""Fixtures of the API tests: a token client per role (tests/conftest.py empties the cache around each test)."""

import pytest
from django.contrib.gis.geos import LineString, MultiPolygon, Polygon
from rest_framework.test import APIClient

from accessibility.models import Isochrone
from facilities.models import Facility
from parcels.models import Utility
from parcels.services import link_create, parcel_create
from tests import clients
from tests.parcels.conftest import base_data, facility_in, square


@pytest.fixture
def api(db):
    return APIClient()


@pytest.fixture
def token_client(db):
    return clients.token_client


@pytest.fixture
def parcels_and_links(admin_user_role, region_a, region_b):
    """A parcel with a water link in each of the two test regions (the layers with stored columns)."""
    made = []
    for region in (region_a, region_b):
        facility = facility_in(region)
        parcel = parcel_create(
            user=admin_user_role, facility=facility, geom=square(facility.location, 150), data=base_data()
        ).obj
        start = facility.location.transform(4326, clone=True)
        route = LineString((start.x - 0.01, start.y - 0.01), (start.x, start.y), srid=4326)
        link_create(
            user=admin_user_role,
            parcel=parcel,
            utility=Utility.objects.get(code="water"),
            data={"required": True, "status": "planned"},
            route=route,
        )
        made.append(parcel)
    return made


@pytest.fixture
def isochrone_rows(runs, region_a, region_b):
    """Isochrones need a road network and a travel-time run (tests/accessibility/test_travel_isochrones.py); here
    one square per region's first located facility, stored on the coverage run, is enough to test the filters."""
    for region in (region_a, region_b):
        facility = Facility.objects.filter(region=region, location__isnull=False).order_by("pk").first()
        x, y = facility.location.x, facility.location.y
        square = Polygon.from_bbox((x - 0.05, y - 0.05, x + 0.05, y + 0.05))
        Isochrone.objects.create(
            run=runs["coverage"], facility=facility, minutes=30, geom=MultiPolygon(square, srid=4326)
        )
