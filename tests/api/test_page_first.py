"""Items pages with the page cache off and no validators: the page is built first, and the
count is skipped when the page holds every matched row (api.common.items_response)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db.models import Max

from facilities.models import Facility


def fc(response) -> dict:
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


@pytest.fixture
def page_cache_off(settings):
    settings.API_RESPONSE_CACHE_SECONDS = 0


@pytest.fixture
def tracked_later(db):
    """A tracking snapshot newer than every facility row: Last-Modified must come from it."""
    from tracking.models import TrackedFacility

    facility = Facility.objects.filter(region__kato="710000000").order_by("pk").first()
    TrackedFacility.objects.filter(facility=facility).delete()
    tracked = TrackedFacility.objects.create(facility=facility, parcel_on=dt.date(2025, 1, 10))
    newest = Facility.objects.aggregate(m=Max("updated_at"))["m"] + dt.timedelta(days=3)
    TrackedFacility.objects.filter(pk=tracked.pk).update(updated_at=newest)
    return newest


def test_a_complete_page_needs_one_statement_and_matches_the_counted_path(
    api, token_client, planner, settings, page_cache_off, tracked_later, django_assert_num_queries
):
    url = "/api/v1/facilities/?region=710000000&limit=1000"
    with django_assert_num_queries(1):
        first = api.get(url)
    data = fc(first)
    expected = Facility.objects.filter(region__kato="710000000").count()
    assert data["numberMatched"] == data["numberReturned"] == expected > 0
    assert data["next"] is None and data["numberMatchedEstimated"] is False
    # The time stamp of facilities is private: a planner gets it (one statement for the token too).
    signed_in = token_client(planner)
    with django_assert_num_queries(2):
        planner_first = signed_in.get(url)
    assert planner_first["Last-Modified"] == tracked_later.strftime("%a, %d %b %Y %H:%M:%S GMT")
    # The counted path (page cache on) gives the same validators for the same rows.
    settings.API_RESPONSE_CACHE_SECONDS = 300
    counted = api.get(url)
    assert counted["ETag"] == first["ETag"] and "Last-Modified" not in counted
    assert fc(counted)["features"] == data["features"]
    planner_counted = signed_in.get(url)
    assert (planner_counted["ETag"], planner_counted["Last-Modified"]) == (
        planner_first["ETag"],
        planner_first["Last-Modified"],
    )


def test_validators_still_give_304_before_any_page_is_built(
    api, token_client, planner, page_cache_off, django_assert_num_queries
):
    url = "/api/v1/facilities/?limit=1000"
    first = api.get(url)
    with django_assert_num_queries(1):  # the aggregate only
        assert api.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    signed_in = token_client(planner)  # who may read the private time stamp
    modified = signed_in.get(url)["Last-Modified"]
    with django_assert_num_queries(1):  # the aggregate: the token's row was read a moment ago (API_TOKEN_CACHE_SECONDS)
        assert signed_in.get(url, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304


@pytest.mark.parametrize("query", ["limit=7", "limit=7&offset=7"])
def test_a_partial_page_is_counted(api, page_cache_off, query, django_assert_num_queries):
    with django_assert_num_queries(2):  # the page (one row beyond it says more follow), then the count
        data = fc(api.get(f"/api/v1/facilities/?{query}"))
    assert data["numberMatched"] == Facility.objects.count()
    assert data["numberReturned"] == 7 and data["next"]


def test_an_empty_result_needs_one_statement(api, page_cache_off, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = api.get("/api/v1/facilities/?bbox=0,0,1,1")
    data = fc(response)
    assert data["features"] == [] and data["numberMatched"] == 0 and data["next"] is None
    assert "Last-Modified" not in response


@pytest.mark.parametrize("ordering", ["id", "-places", "name_en"])
def test_keyset_walks_both_ways_with_the_page_built_first(api, page_cache_off, ordering):
    seen, url, pages = [], f"/api/v1/facilities/?ordering={ordering}&limit=45", []
    while url:
        data = fc(api.get(url))
        pages.append([f["id"] for f in data["features"]])
        seen += pages[-1]
        assert data["numberMatched"] == Facility.objects.count()
        url = data["next"]
    assert len(seen) == len(set(seen)) == Facility.objects.count()
    assert len(pages) > 2
    back = fc(api.get(data["previous"]))
    assert [f["id"] for f in back["features"]] == pages[-2]
