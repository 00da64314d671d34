"""A 400 names the parameter the client sent, and its message speaks of that parameter (api/params.py,
accounts/layer_access.py, api/common.py, api/v1/collections.py; problem bodies: gis_portal/problems.py).

Several parameters have two spellings or a near neighbour: `ordering` / `sortby` (sort order),
`bbox` / `bbox-crs` / `crs`, `datetime` / `updated_since`, `cursor` / `offset`, `f` (the response's
encoding) / `format` (a download). Each is sent here both ways, on the REST and the OGC items and item
endpoints, and the problem body must name what was sent, never its twin.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from django.http import QueryDict

from api.params import CRS84, Cursor, items_query_parse
from gis_portal.geo.collections import ParamError, collection_get

REST = "/api/v1/facilities/"
OGC = "/ogc/collections/facilities/items"
TWIN = {"ordering": "sortby", "sortby": "ordering", "datetime": "updated_since", "updated_since": "datetime"}


def named(response, param: str) -> str:
    """The problem's single error must be about `param`; returns its message (after checking `detail`)."""
    assert response.status_code == 400, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert [e["field"] for e in body["errors"]] == [param], body
    message = body["errors"][0]["message"]
    assert body["detail"] == (message if message.startswith(param) else f"{param}: {message}"), body
    return message


def speaks_only_of(message: str, param: str) -> None:
    """A message about a parameter with a twin must not send the client to the twin."""
    twin = TWIN[param]
    assert twin not in message, (param, message)


@pytest.mark.parametrize("base", [REST, OGC])
@pytest.mark.parametrize("param", ["ordering", "sortby"])
def test_a_sort_key_that_is_not_allowed(api, base, param):
    message = named(api.get(base, {param: "nope"}), param)
    assert "'nope' is not allowed" in message
    speaks_only_of(message, param)


@pytest.mark.parametrize("base", [REST, OGC])
@pytest.mark.parametrize("param", ["ordering", "sortby"])
def test_a_sort_on_a_property_the_caller_may_not_read(api, base, param):
    # `updated_at` of facilities is private: the public may not sort on it (accounts.layer_access.ordering_check).
    message = named(api.get(base, {param: "-updated_at"}), param)
    assert "may not sort" in message
    speaks_only_of(message, param)


@pytest.mark.parametrize("base", ["/api/v1/regions/", "/ogc/collections/regions/items"])
@pytest.mark.parametrize("param", ["ordering", "sortby"])
def test_a_cursor_made_for_another_sort_order(api, base, param):
    cursor = Cursor(key=["710000000", 1], forward=True, ordering="kato").encode()
    message = named(api.get(base, {param: "id", "cursor": cursor}), "cursor")
    assert param in message, message
    speaks_only_of(message, param)


@pytest.mark.parametrize("base", [REST, OGC])
@pytest.mark.parametrize("param", ["datetime", "updated_since"])
def test_a_time_window_on_a_property_the_caller_may_not_read(api, base, param):
    message = named(api.get(base, {param: "2024-01-01T00:00:00Z"}), param)
    speaks_only_of(message, param)


@pytest.mark.parametrize("base", [REST, OGC])
@pytest.mark.parametrize("param", ["datetime", "updated_since"])
def test_a_time_that_is_no_time(api, base, param):
    message = named(
        api.get("/api/v1/regions/" if base == REST else "/ogc/collections/regions/items", {param: "x"}), param
    )
    speaks_only_of(message, param)


@pytest.mark.parametrize("param", ["datetime", "updated_since"])
def test_a_time_window_on_a_collection_without_time(db, param):
    timeless = dataclasses.replace(collection_get("regions"), updated_field=None)
    with pytest.raises(ParamError) as refused:
        items_query_parse(QueryDict(f"{param}=2024-01-01"), timeless, default_limit=10, allow_download=False)
    assert refused.value.param == param
    speaks_only_of(refused.value.message, param)


@pytest.mark.parametrize("base", [REST, OGC])
@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"bbox": "1,2"}, "bbox"),
        ({"bbox": "0,0,1,1", "bbox-crs": "EPSG:1"}, "bbox-crs"),
        ({"bbox-crs": CRS84}, "bbox-crs"),
        ({"crs": "EPSG:1"}, "crs"),
        ({"bbox": "0,0,1,1", "crs": "EPSG:1"}, "crs"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"offset": "x"}, "offset"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_neighbouring_parameters_are_told_apart(api, base, params, param):
    named(api.get(base, params), param)


def test_ogc_items_say_where_downloads_are(api):
    message = named(api.get(OGC, {"format": "gpkg"}), "format")
    assert "must be one of" not in message
    assert "not offered" in message and "/api/v1/facilities/?format=" in message, message


def test_rest_items_tell_format_and_f_apart(api):
    assert "encoding is chosen with f" in named(api.get(REST, {"format": "json"}), "format")
    assert "format=geojson|csv|gpkg" in named(api.get(REST, {"f": "csv"}), "f")


@pytest.mark.parametrize("item_base", [REST, OGC + "/"])
def test_item_endpoints_name_what_was_sent(api, item_base):
    pk = json.loads(api.get(REST, {"limit": "1"}).content)["features"][0]["id"]
    url = f"{item_base}{pk}" + ("/" if item_base == REST else "")
    assert api.get(url).status_code == 200
    for param in ("ordering", "sortby", "bbox", "bbox-crs", "datetime", "updated_since", "offset", "cursor"):
        named(api.get(url, {param: "x"}), param)
    message = named(api.get(url, {"format": "csv"}), "format")
    assert "/api/v1/facilities/?format=" in message, message
    assert named(api.get(url, {"crs": "EPSG:1"}), "crs")


@pytest.mark.parametrize("param", ["ordering", "sortby"])
def test_the_other_lists_name_the_sort_parameter_sent(api, token_client, planner, param):
    named(api.get("/api/v1/measures/", {param: "nope"}), param)
    named(token_client(planner).get("/api/v1/tracking/plans/", {param: "nope"}), param)
