"""Every filter of every REST collection, generated from the registry, against the ORM's own answer.

Public collections are read anonymously, the others (and private properties) by a planner, who may
read every row. The fixtures give every layer rows (finished analyses for the result layers), so
every declared filter is exercised: none is skipped.
"""

from __future__ import annotations

import json

import pytest

from gis_portal.geo.collections import collections_all

CASES = [
    (c.id, name)
    for c in collections_all()
    if c.rest
    for name, spec in c.filters.items()
    if spec.lookups and spec.condition is None
]


@pytest.fixture
def parcels_with_links(admin_user_role, region_a, region_b):
    """Two parcels (regions A and B) with a water link each, so the signed-in-only layers have rows."""
    from django.contrib.gis.geos import LineString

    from parcels.models import Utility
    from parcels.services import link_create, parcel_create
    from tests.parcels.conftest import base_data, facility_in, square

    for i, region in enumerate((region_a, region_b)):
        facility = facility_in(region)
        parcel = parcel_create(
            user=admin_user_role,
            facility=facility,
            geom=square(facility.location, 120),
            data=base_data(cadastral_number=f"0{i + 1}-123-456-789", status="allocated"),
        ).obj
        c = parcel.geom.centroid
        link_create(
            user=admin_user_role,
            parcel=parcel,
            utility=Utility.objects.get(code="water"),
            data={"required": True, "status": "planned"},
            route=LineString((c.x - 0.004, c.y), (c.x, c.y), srid=4326),
        )


@pytest.mark.parametrize(("collection_id", "name"), CASES)
def test_filter_matches_the_orm(api, token_client, planner, parcels_with_links, request, collection_id, name):
    if collection_id.startswith("accessibility-"):
        request.getfixturevalue("runs")  # finished analyses, so the result layers have rows
    if collection_id == "accessibility-isochrones":
        request.getfixturevalue("isochrone_rows")
    collection = next(c for c in collections_all() if c.id == collection_id)
    if not collection.public or collection.private_names(collection.filter_reads(name)):
        # Signed-in-only layers, and filters on private properties (refused to anonymous
        # clients: tests/api/test_private_fields.py), are read by a planner.
        api = token_client(planner)
    spec = collection.filters[name]
    queryset = collection.selector()
    value = queryset.exclude(**{f"{spec.lookups[0]}__isnull": True}).values_list(spec.lookups[0], flat=True).first()
    # A filter the fixtures cannot exercise is a gap in the fixtures, not a case to skip.
    assert value is not None, f"the test data has no {collection_id} row with a {name}"
    if spec.kind == "text":
        value = str(value)[1:5]
        expected = spec.apply(queryset, value)
    else:
        text = str(value).lower() if spec.kind == "bool" else str(value)
        expected = spec.apply(queryset, spec.parse(name, text))
        value = text
    params = {name: value, "limit": 10000}
    if collection.geometry_type.startswith("Multi"):
        params["simplify"] = 5000  # boundaries are large; the filter is what is tested
    response = api.get(f"/api/v1/{collection_id}/", params)
    assert response.status_code == 200, response.content[:300]
    data = json.loads(response.content)
    assert {f["id"] for f in data["features"]} == set(expected.values_list("pk", flat=True))
    assert data["numberMatched"] == expected.count() > 0
