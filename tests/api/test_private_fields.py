"""Private properties stay private through filters, sort orders, time windows and Last-Modified.

The facilities' `district` and `updated_at` are private (facilities/collections.py). Before, an
anonymous client recovered each facility's district by filtering on it, and its updated_at through
`datetime`, `sortby` and Last-Modified. The declarations name what each filter and ordering key
reveals (gis_portal.geo.collections) and accounts.layer_access applies one rule to all of them.
"""

from __future__ import annotations

import json

import pytest

from facilities.models import Facility
from gis_portal.geo.collections import Collection, Filter, register


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content[:300]
    return {f["id"] for f in json.loads(response.content)["features"]}


def _refused(response, param: str) -> None:
    assert response.status_code == 400, response.content[:300]
    assert param in response.content.decode()


@pytest.fixture
def district(db):
    return Facility.objects.exclude(district=None).values_list("district__kato", flat=True).first()


@pytest.mark.parametrize("base", ["/api/v1/facilities/", "/ogc/collections/facilities/items"])
def test_anonymous_clients_cannot_filter_sort_or_window_on_private_properties(api, base, district):
    _refused(api.get(base, {"district": district}), "district")
    _refused(api.get(base, {"sortby": "updated_at"}), "sortby")
    _refused(api.get(base, {"sortby": "-updated_at"}), "sortby")
    _refused(api.get(base, {"ordering": "updated_at"}), "ordering")
    _refused(api.get(base, {"datetime": "2000-01-01T00:00:00Z/.."}), "datetime")
    _refused(api.get(base, {"updated_since": "2000-01-01T00:00:00Z"}), "updated_since")
    # Public properties filter and sort as before.
    assert _ids(api.get(base, {"region": "710000000", "sortby": "-places", "limit": 1000}))


def test_no_last_modified_for_callers_who_may_not_read_the_time_stamp(api, token_client, akimat_a, planner):
    one = Facility.objects.first()
    for url in ("/api/v1/facilities/?limit=5", f"/api/v1/facilities/{one.pk}/", "/ogc/collections/facilities/items"):
        response = api.get(url)
        assert response.status_code == 200 and response["ETag"] and "Last-Modified" not in response, url
        # An akimat reads the stamp of its own region's facilities only: not of the whole collection.
        assert "Last-Modified" not in token_client(akimat_a).get(url), url
        assert token_client(planner).get(url)["Last-Modified"], url
    assert "Last-Modified" not in api.get("/tiles/facilities/5/22/11.pbf")
    # Regions declare their time stamp public.
    assert api.get("/api/v1/regions/?limit=1")["Last-Modified"]


def test_an_akimat_filters_on_a_private_property_only_where_it_may_read_it(token_client, akimat_a, region_a):
    """A district filter matches the akimat's own region's rows only: other regions reveal nothing."""
    api = token_client(akimat_a)
    own = Facility.objects.filter(region=region_a).exclude(district=None).first()
    other = Facility.objects.exclude(region=region_a).exclude(district=None).first()
    assert _ids(api.get("/api/v1/facilities/", {"district": own.district.kato, "limit": 1000})) == set(
        Facility.objects.filter(district=own.district, region=region_a).values_list("pk", flat=True)
    )
    assert _ids(api.get("/api/v1/facilities/", {"district": other.district.kato, "limit": 1000})) == set()
    # Without the filter the other region's facilities are listed (their public fields).
    assert other.pk in _ids(api.get("/api/v1/facilities/", {"limit": 1000}))
    # A sort order reveals every row's value: refused unless the property is readable on every row.
    _refused(api.get("/api/v1/facilities/", {"sortby": "updated_at"}), "sortby")


def test_a_planner_filters_sorts_and_windows_on_every_row(token_client, planner, district):
    api = token_client(planner)
    assert _ids(api.get("/api/v1/facilities/", {"district": district, "limit": 1000})) == set(
        Facility.objects.filter(district__kato=district).values_list("pk", flat=True)
    )
    assert _ids(api.get("/api/v1/facilities/", {"sortby": "-updated_at", "limit": 5}))
    assert _ids(api.get("/api/v1/facilities/", {"datetime": "2000-01-01T00:00:00Z/..", "limit": 5}))


def test_a_declaration_cannot_filter_or_sort_on_an_undeclared_property():
    base = {
        "title": "t",
        "description": "d",
        "selector": Facility.objects.all,
        "geometry": "location",
        "public_properties": {"name_en": "name_en"},
    }
    with pytest.raises(ValueError, match="filter 'district' reads undeclared"):
        register(Collection(id="bad-filter", filters={"district": Filter(("district__kato",), "kato")}, **base))
    with pytest.raises(ValueError, match="ordering 'places' is not a declared property"):
        register(Collection(id="bad-ordering", ordering={"id": "pk", "places": "places"}, **base))
    with pytest.raises(ValueError, match="time field"):
        register(Collection(id="bad-time", updated_field="updated_at", **base))
