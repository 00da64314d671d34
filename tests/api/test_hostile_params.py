"""Hostile values in every parameter of every endpoint: a 4xx JSON answer, never a 5xx."""

from __future__ import annotations

import pytest

from api.params import COMMON_PARAMS
from gis_portal.geo.collections import collections_all
from tests.clients import problem_fields

NASTY = [
    "'",
    '"',
    "1;DROP TABLE layers_region",
    "1 OR 1=1",
    "-- comment",
    "/* x */",
    "\\x00",
    "%00",
    "\x00",
    "ä" * 300,
    "9" * 40,
    "-1",
    "1e309",
    "NaN",
    "inf,inf,inf,inf",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "",
    ",",
    "1,2,3,4,5,6,7",
    "2024-02-30T25:61:00Z",
    "../..",
    "EPSG:4326;",
    "http://169.254.169.254/",
]


def _urls():
    for collection in collections_all():
        if not collection.public:
            continue
        names = sorted(COMMON_PARAMS | set(collection.filters))
        if collection.rest:
            yield f"/api/v1/{collection.id}/", names
        if collection.ogc and collection.geometry:
            yield f"/ogc/collections/{collection.id}/items", names
    yield "/api/v1/measures/", ["limit", "offset", "ordering", "measure", "section"]
    yield "/api/v1/quotas/", ["limit", "offset", "ordering", "measure", "kind", "region"]
    yield "/tiles/facilities/0/0/0.pbf", ["x"]
    yield "/ogc/collections", ["f"]


@pytest.mark.parametrize(("url", "names"), list(_urls()))
def test_no_server_error_for_hostile_values(api, url, names):
    for name in names:
        for value in NASTY:
            response = api.get(url, {name: value, "limit": 2} if name != "limit" else {name: value})
            assert response.status_code < 500, (url, name, value, response.status_code)
            if response.status_code == 400:
                assert problem_fields(response)


@pytest.mark.parametrize(
    ("ordering", "key"),
    [("id", ["abc", 1]), ("places", ["x", "y"]), ("updated_at", ["not a date", 1]), ("name_en", [1.5, "z"])],
)
def test_forged_cursors_give_400(token_client, planner, ordering, key):
    from api.params import Cursor

    api = token_client(planner)  # who may sort on the private updated_at
    cursor = Cursor(key, True, ordering).encode()
    response = api.get("/api/v1/facilities/", {"ordering": ordering, "cursor": cursor})
    assert response.status_code in (200, 400), response.status_code
    if response.status_code == 400:
        assert "cursor" in problem_fields(response)
