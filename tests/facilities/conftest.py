"""Fixtures of the facility tests: points inside and outside a facility's region and district (EPSG:4326)."""

from __future__ import annotations

import pytest
from django.contrib.gis.db.models.functions import PointOnSurface

from layers.models import District
from tests.parcels.conftest import facility_in


def district_point(district: District):
    """A point inside `district` (ST_PointOnSurface, EPSG:4326)."""
    return District.objects.annotate(p=PointOnSurface("geom")).values_list("p", flat=True).get(pk=district.pk)


@pytest.fixture
def astana_facility(region_a):
    """A demo facility of Astana with a location and a district."""
    return facility_in(region_a)


@pytest.fixture
def other_district(astana_facility):
    """Another district of the facility's region (Astana), with a point inside it."""
    district = (
        District.objects.filter(region=astana_facility.region_id, geom__isnull=False)
        .exclude(pk=astana_facility.district_id)
        .order_by("kato")
        .first()
    )
    district.point = district_point(district)
    return district
