"""GeoJSON REST API (/api/v1/): filters, ordering, paging, public/private fields, errors."""

from __future__ import annotations

import json

import pytest
from django.contrib.gis.geos import Point, Polygon

from facilities.models import Facility
from layers.models import District, Region
from tests.clients import problem_fields


def fc(response) -> dict:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/geo+json"
    return json.loads(response.content)


def test_facilities_collection_is_rfc7946(api):
    data = fc(api.get("/api/v1/facilities/?limit=5"))
    assert data["type"] == "FeatureCollection"
    assert data["numberMatched"] == data["count"] == Facility.objects.count()
    assert data["numberReturned"] == len(data["features"]) == 5
    feature = data["features"][0]
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
    lon, lat = feature["geometry"]["coordinates"]
    db = Facility.objects.get(pk=feature["id"]).location
    assert abs(lon - db.x) < 1e-6 and abs(lat - db.y) < 1e-6  # longitude first, 6 decimals
    assert 46 <= lon <= 88 and 40 <= lat <= 56  # inside Kazakhstan


def test_polygons_are_counter_clockwise_and_rounded(api):
    data = fc(api.get("/api/v1/regions/?limit=20"))
    assert data["numberMatched"] == Region.objects.count()
    for feature in data["features"]:
        polygons = feature["geometry"]["coordinates"]
        for polygon in polygons:
            ring = polygon[0]
            # Shoelace: positive area = counter-clockwise exterior ring.
            area2 = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False))
            assert area2 > 0
            for x, y in ring[:50]:
                assert round(x, 6) == x and round(y, 6) == y


@pytest.mark.parametrize(
    ("param", "value", "check"),
    [
        ("region", "710000000", lambda qs: qs.filter(region__kato="710000000")),
        ("region", "710000000,610000000", lambda qs: qs.filter(region__kato__in=["710000000", "610000000"])),
        ("measure", "18", lambda qs: qs.filter(measure_id=18)),
        ("kind", "art_school", lambda qs: qs.filter(kind_id="art_school")),
        ("planned_year", "2025", lambda qs: qs.filter(planned_year=2025)),
        ("is_demo", "true", lambda qs: qs.filter(is_demo=True)),
    ],
)
def test_facility_filters_match_the_database(api, param, value, check):
    data = fc(api.get(f"/api/v1/facilities/?{param}={value}&limit=1000"))
    expected = set(check(Facility.objects.all()).values_list("pk", flat=True))
    assert {f["id"] for f in data["features"]} == expected
    assert data["numberMatched"] == len(expected)


def test_district_filter(token_client, planner):
    api = token_client(planner)  # district is private: anonymous clients may not filter on it
    facility = Facility.objects.exclude(district=None).first()
    if facility is None:
        pytest.skip("demo facilities carry no district")
    data = fc(api.get(f"/api/v1/facilities/?district={facility.district.kato}&limit=1000"))
    assert facility.pk in {f["id"] for f in data["features"]}
    assert data["numberMatched"] == Facility.objects.filter(district=facility.district).count()


def test_name_filter_searches_three_languages(api):
    facility = Facility.objects.first()
    word = facility.name_ru.split()[0]
    data = fc(api.get("/api/v1/facilities/", {"name": word, "limit": 1000}))
    assert facility.pk in {f["id"] for f in data["features"]}
    assert all(
        word.lower() in (f["properties"]["name_ru"] + f["properties"]["name_kk"] + f["properties"]["name_en"]).lower()
        for f in data["features"]
    )


def test_bbox_filter(api):
    box = (70.0, 50.0, 72.5, 52.0)
    data = fc(api.get("/api/v1/facilities/?bbox=" + ",".join(map(str, box)) + "&limit=1000"))
    expected = set(Facility.objects.filter(location__intersects=Polygon.from_bbox(box)).values_list("pk", flat=True))
    assert {f["id"] for f in data["features"]} == expected


def test_bbox_in_utm_and_output_crs(api):
    facility = Facility.objects.filter(region__kato="710000000").first()
    utm = facility.location.transform(32642, clone=True)
    bbox = f"{utm.x - 100},{utm.y - 100},{utm.x + 100},{utm.y + 100}"
    data = fc(
        api.get(
            "/api/v1/facilities/",
            {"bbox": bbox, "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/32642", "crs": "EPSG:32642"},
        )
    )
    ids = {f["id"]: f for f in data["features"]}
    assert facility.pk in ids
    x, y = ids[facility.pk]["geometry"]["coordinates"]
    assert abs(x - utm.x) < 0.01 and abs(y - utm.y) < 0.01


def test_updated_since_and_datetime(token_client, planner):
    api = token_client(planner)  # the facilities' time stamp is private
    latest = Facility.objects.order_by("-updated_at").first()
    stamp = latest.updated_at.isoformat().replace("+00:00", "Z")
    data = fc(api.get("/api/v1/facilities/", {"updated_since": stamp, "limit": 1000}))
    assert latest.pk in {f["id"] for f in data["features"]}
    assert data["numberMatched"] == Facility.objects.filter(updated_at__gte=latest.updated_at).count()
    assert fc(api.get("/api/v1/facilities/", {"datetime": "../2000-01-01T00:00:00Z"}))["numberMatched"] == 0
    assert (
        fc(api.get("/api/v1/facilities/", {"datetime": "2000-01-01/.."}))["numberMatched"] == Facility.objects.count()
    )


@pytest.mark.parametrize("ordering", ["places", "-places", "name_en", "-planned_year", "id"])
def test_ordering_and_keyset_pages_walk_the_whole_collection(api, ordering):
    seen, url = [], f"/api/v1/facilities/?ordering={ordering}&limit=40"
    while url:
        data = fc(api.get(url))
        seen += [f["id"] for f in data["features"]]
        url = data["next"]
    field = ordering.lstrip("-").replace("id", "pk")
    expected = list(
        Facility.objects.order_by(
            ordering.replace("id", "pk"), "pk" if not ordering.startswith("-") else "-pk"
        ).values_list("pk", flat=True)
    )
    assert seen == expected, field


def test_previous_links_go_back(api):
    first = fc(api.get("/api/v1/facilities/?limit=30&ordering=-places"))
    second = fc(api.get(first["next"]))
    back = fc(api.get(second["previous"]))
    assert [f["id"] for f in back["features"]] == [f["id"] for f in first["features"]]
    assert first["previous"] is None
    assert any(link["rel"] == "prev" for link in second["links"])


def test_offset_paging(api):
    page = fc(api.get("/api/v1/facilities/?limit=10&offset=20"))
    expected = list(Facility.objects.order_by("pk").values_list("pk", flat=True)[20:30])
    assert [f["id"] for f in page["features"]] == expected
    assert "offset=30" in page["next"] and "offset=10" in page["previous"]


def test_simplify_and_precision(api):
    full = api.get("/api/v1/regions/?limit=20")
    simplified = api.get("/api/v1/regions/?limit=20&simplify=5000&precision=3")
    assert len(simplified.content) < len(full.content) / 3
    coords = json.loads(simplified.content)["features"][0]["geometry"]["coordinates"][0][0]
    assert all(round(c, 3) == c for point in coords for c in point)


def test_regions_and_districts_filters(api):
    data = fc(api.get("/api/v1/districts/?region=710000000&limit=1000&simplify=1000"))
    assert data["numberMatched"] == District.objects.filter(region__kato="710000000").count() > 0
    assert {f["properties"]["region"] for f in data["features"]} == {"710000000"}
    one = fc(api.get("/api/v1/regions/?region=710000000&simplify=1000"))
    assert [f["properties"]["kato"] for f in one["features"]] == ["710000000"]


def test_item_endpoint(api):
    facility = Facility.objects.first()
    response = api.get(f"/api/v1/facilities/{facility.pk}/")
    assert response.status_code == 200 and response["Content-Type"] == "application/geo+json"
    feature = json.loads(response.content)
    assert feature["id"] == facility.pk and feature["properties"]["places"] == facility.places
    assert api.get("/api/v1/facilities/999999999/").status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "region=71'; DROP TABLE facilities_facility;--",
        "name=x' OR '1'='1",
        "name=a;b",
        "ordering=places;delete",
        "ordering=location",  # not allow-listed
        "ordering=places,-id",
        "bbox=1,2,3",
        "bbox=10,10,5,5",
        "bbox=nan,1,2,3",
        "limit=0",
        "limit=100001",
        "limit=abc",
        "measure=1 OR 1=1",
        "kind=/*x*/",
        "is_demo=maybe",
        "crs=EPSG:9999",
        "precision=20",
        "simplify=-5",
        "datetime=yesterday",
        "updated_since=2024-13-45",
        "cursor=bm90LWEtY3Vyc29y",
        "unknown=1",
        "format=shp",
        "region=abc",
    ],
)
def test_bad_parameters_give_400_json_naming_the_parameter(api, query):
    response = api.get(f"/api/v1/facilities/?{query}")
    assert response.status_code == 400, response.content[:300]
    name = query.split("=")[0]
    assert name in problem_fields(response), response.json()


def test_bad_parameters_on_plain_resources(api):
    assert api.get("/api/v1/measures/?ordering=title_kk").status_code == 400
    assert api.get("/api/v1/measures/?measure=1'").status_code == 400
    assert api.get("/api/v1/quotas/?what=1").status_code == 400


def test_plain_json_resources(api):
    measures = api.get("/api/v1/measures/").json()
    assert measures["count"] == 26 and measures["results"][0]["number"] == 1
    assert api.get("/api/v1/measures/?measure=18").json()["results"][0]["number"] == 18
    quotas = api.get("/api/v1/quotas/?region=710000000").json()
    assert quotas["count"] > 0 and all("710000000" in q["regions"] for q in quotas["results"])
    targets = api.get("/api/v1/kpi-targets/?year=2026").json()
    assert targets["count"] > 0 and {t["year"] for t in targets["results"]} == {2026}
    page = api.get("/api/v1/measures/?limit=10&ordering=-number").json()
    assert page["results"][0]["number"] == 26 and page["next"]


def test_index_lists_resources(api):
    data = api.get("/api/v1/").json()
    for key in ("regions", "districts", "facilities", "measures", "quotas", "kpi-targets", "schema", "docs"):
        assert key in data


def test_constant_query_count(api, django_assert_num_queries):
    # One aggregate (numberMatched, Last-Modified) + one statement that builds the page — whatever the page size.
    for limit in (1, 150):
        with django_assert_num_queries(2):
            assert api.get(f"/api/v1/facilities/?limit={limit}").status_code == 200
    with django_assert_num_queries(2):
        assert api.get("/api/v1/regions/?limit=20&simplify=2000").status_code == 200


@pytest.mark.usefixtures("no_token_cache")
def test_constant_query_count_for_a_signed_in_user(token_client, planner, django_assert_num_queries):
    client = token_client(planner)
    client.get("/api/v1/facilities/?limit=2")  # warm the per-process caches (content types)
    counts = []
    for limit in (1, 150):
        with django_assert_num_queries(3) as ctx:  # token with user and membership + aggregate + page
            client.get(f"/api/v1/facilities/?limit={limit}")
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_a_page_point_has_no_python_parsing(api, monkeypatch):
    """The features array is PostGIS text passed through: json.loads is never called for it."""
    calls = []
    original = json.loads
    monkeypatch.setattr(
        "gis_portal.geo.geojson.json.loads", lambda s, *a, **k: calls.append(len(s)) or original(s, *a, **k)
    )
    api.get("/api/v1/facilities/?limit=150")
    assert all(n < 100 for n in calls)  # only the two keyset keys are decoded


def test_facility_location_is_used_as_stored(api):
    facility = Facility.objects.first()
    facility.location = Point(71.123456789, 51.987654321, srid=4326)
    facility.save()
    feature = json.loads(api.get(f"/api/v1/facilities/{facility.pk}/").content)
    assert feature["geometry"]["coordinates"] == [71.123457, 51.987654]


def test_number_matched_is_estimated_beyond_the_exact_count_bound(api, settings, django_assert_num_queries):
    settings.API_EXACT_COUNT_MAX = 50
    with django_assert_num_queries(3):  # capped count, EXPLAIN estimate, page
        response = api.get("/api/v1/facilities/?limit=10")
    data = fc(response)
    assert data["numberMatchedEstimated"] is True
    assert data["numberMatched"] > 50  # the planner's estimate, at least the bound
    assert "ETag" not in response
    small = fc(api.get("/api/v1/facilities/?region=710000000&limit=10"))
    assert small["numberMatchedEstimated"] is False
    assert small["numberMatched"] == Facility.objects.filter(region__kato="710000000").count()


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=5000", "offset=-1", "offset=x"])
def test_plain_resources_check_paging(api, query):
    response = api.get(f"/api/v1/measures/?{query}")
    assert response.status_code == 400 and query.split("=")[0] in problem_fields(response)


def test_quota_region_filter_has_no_duplicates(api):
    data = api.get("/api/v1/quotas/?region=710000000,750000000&limit=100").json()
    measures = [q["measure"] for q in data["results"]]
    assert len(measures) == len(set(measures)) == data["count"]
