"""Public/private field split by role (accounts.permissions), throttling, CORS, gzip, conditional GET."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from django.test import override_settings

from facilities.models import Facility
from gis_portal.geo.collections import collection_get

PRIVATE = {"district", "is_ppp", "finances_published", "created_at", "updated_at"}


def features(response):
    assert response.status_code == 200, response.content[:300]
    return json.loads(response.content)["features"]


PUBLIC = set(collection_get("facilities").public_properties)


def test_public_fields_are_those_of_the_public_map(db, client):
    # One declaration: the public map's GeoJSON (the page's layer loads it) carries exactly the properties
    # anonymous API clients read.
    html = client.get("/en/maps/public/").content.decode()
    url = re.search(r'"dataUrl": ?"([^"]+)"', html).group(1)
    collection = json.loads(client.get(url).content)
    assert collection["features"] and all(set(f["properties"]) == PUBLIC for f in collection["features"])


def test_anonymous_reads_public_fields_only(api):
    for feature in features(api.get("/api/v1/facilities/?limit=1000")):
        assert set(feature["properties"]) == PUBLIC
    one = Facility.objects.first()
    item = json.loads(api.get(f"/api/v1/facilities/{one.pk}/").content)
    assert set(item["properties"]) == PUBLIC
    ogc = features(api.get("/ogc/collections/facilities/items?limit=1000"))
    assert all(set(f["properties"]) == PUBLIC for f in ogc)


def test_anonymous_downloads_and_html_have_no_private_fields(api):
    csv_text = api.get("/api/v1/facilities/?format=csv").content.decode()
    header = csv_text.splitlines()[0].split(",")
    assert not PRIVATE & set(header)
    html = api.get("/ogc/collections/facilities/items?f=html&limit=50").content.decode()
    assert "is_ppp" not in html and "created_at" not in html


def test_planner_reads_private_fields_everywhere(token_client, planner):
    client = token_client(planner)
    for feature in features(client.get("/api/v1/facilities/?limit=1000")):
        assert set(feature["properties"]) == PUBLIC | PRIVATE


def test_akimat_reads_private_fields_of_its_own_region_only(token_client, akimat_a, region_a):
    client = token_client(akimat_a)
    rows = features(client.get("/api/v1/facilities/?limit=1000"))
    assert len(rows) == Facility.objects.count()  # facilities are public objects
    own = [f for f in rows if f["properties"]["region"] == region_a.kato]
    other = [f for f in rows if f["properties"]["region"] != region_a.kato]
    assert own and other
    assert all(PRIVATE <= set(f["properties"]) for f in own)
    assert all(not PRIVATE & set(f["properties"]) for f in other)
    other_id = other[0]["id"]
    item = json.loads(client.get(f"/api/v1/facilities/{other_id}/").content)
    assert "is_ppp" not in item["properties"]


def test_session_users_are_recognised(client, akimat_b, region_b):
    client.force_login(akimat_b)
    rows = features(client.get(f"/api/v1/facilities/?region={region_b.kato}&limit=1000"))
    assert rows and all("is_ppp" in f["properties"] for f in rows)


def test_etags_differ_by_role(api, token_client, planner):
    anonymous = api.get("/api/v1/facilities/?limit=5")["ETag"]
    signed_in = token_client(planner).get("/api/v1/facilities/?limit=5")["ETag"]
    assert anonymous != signed_in


@override_settings(API_ANON_THROTTLE_RATE="3/min")
def test_anonymous_reads_are_rate_limited(api, token_client, planner):
    for _ in range(3):
        assert api.get("/api/v1/facilities/?limit=1").status_code == 200
    response = api.get("/api/v1/facilities/?limit=1")
    assert response.status_code == 429
    assert "detail" in response.json()
    # Signed-in users are not throttled by the anonymous rate.
    client = token_client(planner)
    assert all(client.get("/api/v1/facilities/?limit=1").status_code == 200 for _ in range(5))


def test_conditional_get_with_etag_and_last_modified(api, token_client, planner):
    # The facilities' time stamp (updated_at) is private: a planner, who reads it on every row, gets
    # Last-Modified; anonymous clients revalidate by ETag only (tests/api/test_private_fields.py).
    signed_in = token_client(planner)
    modified = signed_in.get("/api/v1/facilities/?limit=5")["Last-Modified"]
    assert signed_in.get("/api/v1/facilities/?limit=5", HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    first = api.get("/api/v1/facilities/?limit=5")
    etag = first["ETag"]
    assert etag.startswith('W/"') and "Last-Modified" not in first
    assert api.get("/api/v1/facilities/?limit=5", HTTP_IF_NONE_MATCH=etag).status_code == 304
    # A change to the data gives a new ETag.
    facility = Facility.objects.first()
    facility.places += 1
    facility.save()
    again = api.get("/api/v1/facilities/?limit=5", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 200 and again["ETag"] != etag


def test_conditional_get_on_items_and_plain_resources(api):
    one = Facility.objects.first()
    etag = api.get(f"/api/v1/facilities/{one.pk}/")["ETag"]
    assert api.get(f"/api/v1/facilities/{one.pk}/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    etag = api.get("/api/v1/measures/")["ETag"]
    assert api.get("/api/v1/measures/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    etag = api.get("/ogc/collections/facilities/items?limit=3")["ETag"]
    assert api.get("/ogc/collections/facilities/items?limit=3", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_not_modified_costs_one_query(api, django_assert_num_queries):
    etag = api.get("/api/v1/facilities/?limit=150")["ETag"]
    with django_assert_num_queries(1):
        assert api.get("/api/v1/facilities/?limit=150", HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_gzip(api):
    response = api.get("/api/v1/facilities/?limit=150", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    data = json.loads(gzip.decompress(response.content))
    assert data["numberReturned"] == 150
    assert "Accept-Encoding" in response["Vary"]


@pytest.mark.parametrize(
    "url", ["/api/v1/facilities/", "/ogc/collections", "/api/v1/measures/", "/tiles/facilities/0/0/0.pbf"]
)
def test_cors_for_public_reads(api, url):
    response = api.get(url, HTTP_ORIGIN="https://maps.example.org")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    preflight = api.options(url, HTTP_ORIGIN="https://maps.example.org", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert "GET" in preflight["Access-Control-Allow-Methods"]


def test_no_cors_outside_the_api(api):
    response = api.get("/en/", HTTP_ORIGIN="https://maps.example.org")
    assert "Access-Control-Allow-Origin" not in response


def test_unchanged_pages_come_from_the_cache(api, django_assert_num_queries):
    url = "/api/v1/facilities/?limit=50"
    first = api.get(url)
    with django_assert_num_queries(1):  # the aggregate that makes the ETag; no page statement
        second = api.get(url)
    assert second.content == first.content
    facility = Facility.objects.first()
    facility.places += 1
    facility.save()
    third = json.loads(api.get(url).content)
    changed = next(f for f in third["features"] if f["id"] == facility.pk)
    assert changed["properties"]["places"] == facility.places


def test_cache_is_per_role(api, token_client, planner):
    url = "/api/v1/facilities/?limit=5"
    api.get(url)
    rows = features(token_client(planner).get(url))
    assert all("is_ppp" in f["properties"] for f in rows)
