"""API: token writes with the forms' validation, 400 bodies naming each problem, 409 on stale versions, reads."""

from __future__ import annotations

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from parcels.models import Parcel


@pytest.fixture
def api_a(akimat_a) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=akimat_a)[0].key}")
    return client


def test_create_read_update_conflict(api_a, facility_a2, make_square):
    body = {
        "type": "Feature",
        "geometry": json.loads(make_square(facility_a2.location, 200).json),
        "properties": {
            "facility_id": facility_a2.pk,
            "cadastral_number": "01-300-300-300",
            "declared_area_ha": "4.5",
            "land_category": "settlement",
            "right_type": "temporary_paid",
            "status": "allocated",
        },
    }
    created = api_a.post("/api/v1/parcels/", body, format="json")
    assert created.status_code == 201, created.content
    feature = created.json()
    assert feature["properties"]["version"] == 1
    assert [w["code"] for w in feature["warnings"]] == ["area_mismatch"]  # 4.5 declared vs 4.0 drawn: warning only
    pk = feature["id"]
    read = api_a.get(f"/api/v1/parcels/{pk}/")
    assert read.status_code == 200 and read.json()["properties"]["infrastructure_ready"] is False
    assert api_a.patch(f"/api/v1/parcels/{pk}/", {"notes": "one", "version": 1}, format="json").status_code == 200
    stale = api_a.patch(f"/api/v1/parcels/{pk}/", {"notes": "two", "version": 1}, format="json")
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    assert Parcel.objects.get(pk=pk).notes == "one"
    missing = api_a.patch(f"/api/v1/parcels/{pk}/", {"notes": "three"}, format="json")
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "version"


def test_400_names_each_problem(api_a, facility_a2, parcel_a, make_square):
    body = {
        "type": "Feature",
        "geometry": json.loads(make_square(facility_a2.location, 200, dx_m=0).json),
        "properties": {
            "facility_id": facility_a2.pk,
            "cadastral_number": "123",
            "declared_area_ha": "4",
            "land_category": "settlement",
            "right_type": "temporary_free",
            "status": "act_issued",
        },
    }
    response = api_a.post("/api/v1/parcels/", body, format="json")
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"cadastral_number", "act_number", "act_date"} <= fields
    bad_json = api_a.post(
        "/api/v1/parcels/",
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [71, 51]},
            "properties": {"facility_id": facility_a2.pk},
        },
        format="json",
    )
    assert bad_json.status_code == 400 and bad_json.json()["errors"][0]["field"] == "geometry"
    assert api_a.get("/api/v1/parcels/", {"region": "1; DROP TABLE x"}).status_code == 400
    assert api_a.get("/api/v1/parcels/", {"status": "' OR 1=1"}).status_code == 400


def test_links_api(api_a, parcel_a):
    url = f"/api/v1/parcels/{parcel_a.pk}/links/"
    bad = api_a.post(
        url,
        {"utility": "electricity", "status": "connected", "capacity": "150", "capacity_unit": "m3/day"},
        format="json",
    )
    assert bad.status_code == 400
    fields = {e["field"] for e in bad.json()["errors"]}
    assert {"balance_act_number", "capacity_unit"} <= fields
    ok = api_a.post(
        url, {"utility": "electricity", "status": "design", "capacity": "150", "capacity_unit": "kW"}, format="json"
    )
    assert ok.status_code == 201, ok.content
    link = ok.json()
    dup = api_a.post(url, {"utility": "electricity", "status": "planned"}, format="json")
    assert dup.status_code == 400 and dup.json()["errors"][0]["field"] == "utility"
    patched = api_a.patch(f"{url}{link['id']}/", {"provider": "KEGOC", "version": 1}, format="json")
    assert patched.status_code == 200 and patched.json()["version"] == 2
    assert api_a.patch(f"{url}{link['id']}/", {"provider": "X", "version": 1}, format="json").status_code == 409
    assert [x["utility"] for x in api_a.get(url).json()["links"]] == ["electricity"]


def test_list_query_count_is_constant(api_a, parcel_a, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = api_a.get("/api/v1/parcels/")
    assert response.status_code == 200 and response["Content-Type"] == "application/geo+json"
