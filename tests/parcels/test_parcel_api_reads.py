"""Reads of /api/v1/parcels/ and /api/v1/infrastructure-links/: the API's collection query path (issue 6)."""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import LineString

from parcels.models import Utility
from parcels.services import link_create, parcel_create
from tests.clients import token_client as client_for
from tests.parcels.conftest import base_data, facility_in, square

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_parcels_a(admin_user_role, region_a):
    """Five parcels of five facilities in region A (statuses alternate), each with a water link."""
    water = Utility.objects.get(code="water")
    parcels = []
    for i in range(5):
        facility = facility_in(region_a, index=i)
        parcel = parcel_create(
            user=admin_user_role,
            facility=facility,
            geom=square(facility.location, 100),
            data=base_data(status="allocated" if i % 2 else "candidate", cadastral_number=f"01-001-001-{i:03d}"),
        ).obj
        start = parcel.geom.centroid
        link_create(
            user=admin_user_role,
            parcel=parcel,
            utility=water,
            data={"required": True, "status": "planned"},
            route=LineString((start.x - 0.005, start.y), (start.x, start.y), srid=4326),
        )
        parcels.append(parcel)
    return parcels


def test_list_pages_with_next_links_and_a_total(planner, five_parcels_a, parcel_b):
    client = client_for(planner)
    first = client.get("/api/v1/parcels/", {"limit": 2, "region": five_parcels_a[0].region.kato})
    assert first.status_code == 200 and first["Content-Type"] == "application/geo+json"
    body = first.json()
    assert body["numberMatched"] == 5 and body["numberReturned"] == 2 and body["previous"] is None
    seen = [f["id"] for f in body["features"]]
    url = body["next"]
    while url:
        page = client.get(url).json()
        seen += [f["id"] for f in page["features"]]
        url = page["next"]
    assert seen == sorted(p.pk for p in five_parcels_a)
    props = body["features"][0]["properties"]
    assert props["version"] == 1 and props["region"] == five_parcels_a[0].region.kato


def test_filters_bbox_and_ordering(planner, five_parcels_a):
    client = client_for(planner)
    allocated = client.get("/api/v1/parcels/", {"status": "allocated"}).json()
    assert {f["id"] for f in allocated["features"]} == {p.pk for p in five_parcels_a if p.status == "allocated"}
    text = client.get("/api/v1/parcels/", {"name": "001-003"}).json()
    assert [f["id"] for f in text["features"]] == [five_parcels_a[3].pk]
    xmin, ymin, xmax, ymax = five_parcels_a[0].geom.extent
    boxed = client.get("/api/v1/parcels/", {"bbox": f"{xmin},{ymin},{xmax},{ymax}"}).json()
    assert five_parcels_a[0].pk in {f["id"] for f in boxed["features"]}
    assert five_parcels_a[4].pk not in {f["id"] for f in boxed["features"]}
    newest = client.get("/api/v1/parcels/", {"ordering": "-id", "limit": 1}).json()
    assert newest["features"][0]["id"] == max(p.pk for p in five_parcels_a)
    bad = client.get("/api/v1/parcels/", {"status": "' OR 1=1"})
    assert bad.status_code == 400 and "status" in bad.json()


def test_akimat_reads_only_its_region_and_anonymous_nothing(akimat_a, akimat_b, five_parcels_a, parcel_b):
    ids_a = {f["id"] for f in client_for(akimat_a).get("/api/v1/parcels/").json()["features"]}
    assert ids_a == {p.pk for p in five_parcels_a}
    ids_b = {f["id"] for f in client_for(akimat_b).get("/api/v1/parcels/").json()["features"]}
    assert ids_b == {parcel_b.pk}
    assert client_for(None).get("/api/v1/parcels/").status_code in (401, 403)
    assert client_for(None).get("/api/v1/infrastructure-links/").status_code in (401, 403)
    links_b = client_for(akimat_b).get("/api/v1/infrastructure-links/").json()
    assert links_b["numberMatched"] == 0


def test_conditional_get_and_downloads(planner, five_parcels_a):
    client = client_for(planner)
    response = client.get("/api/v1/parcels/")
    etag = response["ETag"]
    assert client.get("/api/v1/parcels/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    csv = client.get("/api/v1/parcels/", {"format": "csv"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert len(csv.content.decode().strip().splitlines()) == 1 + 5
    gz = client.get("/api/v1/parcels/", HTTP_ACCEPT_ENCODING="gzip")
    assert gz["Content-Encoding"] == "gzip"


def test_links_collection_lists_routes_with_versions(planner, five_parcels_a):
    body = client_for(planner).get("/api/v1/infrastructure-links/", {"parcel": five_parcels_a[1].pk}).json()
    assert body["numberMatched"] == 1
    feature = body["features"][0]
    assert feature["geometry"]["type"] == "LineString" and feature["properties"]["utility"] == "water"
    assert feature["properties"]["version"] == 1
    one = client_for(planner).get(f"/api/v1/infrastructure-links/{feature['id']}/")
    assert one.status_code == 200 and one.json()["id"] == feature["id"]


def test_query_count_does_not_grow_with_the_page(planner, five_parcels_a, django_assert_max_num_queries):
    client = client_for(planner)
    client.get("/api/v1/parcels/?limit=1")  # warm per-process caches
    for limit in (1, 5):
        # token (+ membership) + aggregate + page, whatever the page size
        with django_assert_max_num_queries(4):
            assert client.get(f"/api/v1/parcels/?limit={limit}").status_code == 200


def test_writes_still_go_to_the_parcels_app(akimat_a, facility_a2):
    import json

    body = {
        "type": "Feature",
        "geometry": json.loads(square(facility_a2.location, 200).json),
        "properties": {
            "facility_id": facility_a2.pk,
            "declared_area_ha": "4",
            "land_category": "settlement",
            "right_type": "temporary_free",
            "status": "candidate",
        },
    }
    created = client_for(akimat_a).post("/api/v1/parcels/", body, format="json")
    assert created.status_code == 201, created.content
    listed = client_for(akimat_a).get("/api/v1/parcels/", {"facility": facility_a2.pk}).json()
    assert [f["id"] for f in listed["features"]] == [created.json()["id"]]


def test_write_bodies_are_json_only_and_bad_json_names_the_body(akimat_a, parcel_a):
    client = client_for(akimat_a)
    broken = client.post("/api/v1/parcels/", "{not json", content_type="application/json")
    assert broken.status_code == 400
    assert broken.json()["errors"][0]["field"] == "body"
    form = client.post("/api/v1/parcels/", {"geometry": "null"}, format="multipart")
    assert form.status_code == 415 and "detail" in form.json()
    patch = client.patch(f"/api/v1/parcels/{parcel_a.pk}/", "[", content_type="application/json")
    assert patch.status_code == 400 and patch.json()["errors"][0]["field"] == "body"
    assert client.get(f"/api/v1/parcels/{parcel_a.pk}/")["Content-Type"] == "application/geo+json"
