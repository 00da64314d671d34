"""OGC API – Features Part 3 queryables at /ogc/collections/{id}/queryables, from the layers' one declaration."""

from __future__ import annotations

import json

import pytest

from api.ogc import QUERYABLES_REL
from api.queryables import EQUALITY_KINDS
from gis_portal.geo.collections import collection_get, collections_all
from tests.clients import problem_fields, token_client

OGC_IDS = [c.id for c in collections_all() if c.ogc and c.geometry]
PART3 = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/"


def test_conformance_collection_link_and_openapi_list_the_queryables(api):
    classes = api.get("/ogc/conformance").json()["conformsTo"]
    assert {PART3 + "queryables", PART3 + "queryables-query-parameters"} <= set(classes)
    doc = api.get("/ogc/collections/facilities").json()
    link = next(link for link in doc["links"] if link["rel"] == QUERYABLES_REL)
    assert link["type"] == "application/schema+json"
    assert link["href"].endswith("/ogc/collections/facilities/queryables")
    ogc_paths = json.loads(api.get("/ogc/api").content)["paths"]
    all_paths = json.loads(api.get("/api/v1/schema/?format=json").content)["paths"]
    for collection_id in OGC_IDS:
        operation = ogc_paths[f"/collections/{collection_id}/queryables"]["get"]
        assert "application/schema+json" in operation["responses"]["200"]["content"]
        assert f"/ogc/collections/{collection_id}/queryables" in all_paths


@pytest.mark.parametrize("collection_id", OGC_IDS)
def test_queryables_are_a_json_schema_of_the_equality_filters(collection_id, planner):
    collection = collection_get(collection_id)
    response = token_client(planner).get(f"/ogc/collections/{collection_id}/queryables")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/schema+json"
    doc = json.loads(response.content)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"] == f"http://testserver/ogc/collections/{collection_id}/queryables"
    assert doc["type"] == "object" and doc["title"] == collection.title_text
    assert doc["additionalProperties"] is False
    # The planner may use every filter; free-text ones (substring matches) are no queryables.
    expected = {name for name, spec in collection.filters.items() if spec.kind in EQUALITY_KINDS}
    assert set(doc["properties"]) == expected
    for name, schema in doc["properties"].items():
        assert schema["type"] in ("string", "integer", "boolean"), name
        assert schema["title"] and schema["description"], name
        if schema["type"] == "string":
            assert schema.get("pattern") or schema.get("enum"), name
        if schema["type"] == "integer":
            assert (schema["minimum"], schema["maximum"]) == (0, 999_999_999)


def test_enum_comes_from_the_model_choices(api):
    doc = json.loads(api.get("/ogc/collections/regions/queryables").content)
    assert set(doc["properties"]["kind"]["enum"]) == {"oblast", "city"}
    assert "name" not in doc["properties"]  # free text


def test_anonymous_callers_do_not_see_queryables_on_private_properties(api, planner, akimat_a):
    anonymous = json.loads(api.get("/ogc/collections/facilities/queryables").content)["properties"]
    assert "district" not in anonymous and "region" in anonymous  # district is a private property
    # The same refusal as on the items: a queryable hidden from the caller is refused as a parameter.
    assert problem_fields(api.get("/ogc/collections/facilities/items?district=711110000")) == ["district"]
    for user in (planner, akimat_a):
        properties = json.loads(token_client(user).get("/ogc/collections/facilities/queryables").content)
        assert "district" in properties["properties"]
    assert api.get("/ogc/collections/parcels/queryables").status_code == 401
    assert api.get("/ogc/collections/nope/queryables").status_code == 404


def _sample(schema: dict) -> str:
    if "enum" in schema:
        return str(schema["enum"][0])
    return {"integer": "1", "boolean": "true"}.get(schema["type"]) or (
        "710000000" if schema["pattern"] == "^[0-9]{9}$" else "x"
    )


def _features(client, collection_id: str, query: str = "") -> list[dict]:
    url = f"/ogc/collections/{collection_id}/items?limit=10000&simplify=10000&precision=0{query}"
    response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    return json.loads(response.content)["features"]


def _param(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.mark.parametrize("collection_id", OGC_IDS)
def test_every_queryable_is_an_equality_query_parameter(collection_id, planner, runs):
    """Part 3 queryables-query-parameters: `?name=value` works for each queryable, and where the
    queryable is a property of the features, it selects exactly the features whose value equals it."""
    client = token_client(planner)  # reads every row and property
    properties = json.loads(client.get(f"/ogc/collections/{collection_id}/queryables").content)["properties"]
    everything = _features(client, collection_id)
    for name, schema in properties.items():
        values = [f["properties"][name] for f in everything if f["properties"].get(name) is not None]
        if not values:  # not a property of the features (or no row has it): the parameter is accepted
            _features(client, collection_id, f"&{name}={_sample(schema)}")
            continue
        value = values[0]
        got = _features(client, collection_id, f"&{name}={_param(value)}")
        assert {f["id"] for f in got} == {f["id"] for f in everything if f["properties"].get(name) == value}, name
        others = sorted({_param(v) for v in values} - {_param(value)})
        if others:  # a comma-separated list: any of its values
            got = _features(client, collection_id, f"&{name}={_param(value)},{others[0]}")
            wanted = {_param(value), others[0]}
            assert {f["id"] for f in got} == {
                f["id"] for f in everything if _param(f["properties"].get(name)) in wanted
            }, name


def test_boolean_queryable_takes_1_and_0_as_gdal_sends_them(api):
    def matched(query: str) -> int:
        return json.loads(api.get(f"/ogc/collections/facilities/items?{query}").content)["numberMatched"]

    assert matched("is_demo=1") == matched("is_demo=true") > 0
    assert matched("is_demo=0") == matched("is_demo=false")
    assert problem_fields(api.get("/ogc/collections/facilities/items?is_demo=2")) == ["is_demo"]


def test_queryables_html_and_parameters(api):
    response = api.get("/ogc/collections/facilities/queryables?f=html")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "<code>region</code>" in page and "<code>district</code>" not in page
    assert problem_fields(api.get("/ogc/collections/facilities/queryables?limit=1")) == ["limit"]
