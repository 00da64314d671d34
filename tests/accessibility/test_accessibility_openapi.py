"""The OpenAPI document of the accessibility API says what the endpoints really answer.

Every response below is validated against the schema the API publishes for its path,
method and status code (the status code must be documented), so the documentation of
accessibility/api.py cannot drift from the views.
"""

from __future__ import annotations

import json

import pytest
from openapi_schema_validator import OAS30Validator
from rest_framework.test import APIClient

from accessibility.services import analysis_run_create, analysis_run_execute, population_raster_register

BASE = "/api/v1/accessibility"


@pytest.fixture(scope="module")
def openapi(django_db_setup, django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        return json.loads(APIClient().get("/api/v1/schema/?format=json").content)


def _resolve(node, components: dict):
    """The schema with every $ref replaced by its component (the accessibility schemas have no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            return _resolve(components[node["$ref"].rsplit("/", 1)[1]], components)
        return {k: _resolve(v, components) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, components) for v in node]
    return node


def check(openapi: dict, response, *, path: str, method: str = "get") -> None:
    """The response's status code is documented for the operation and its body matches the schema."""
    operation = openapi["paths"][path][method]
    code = str(response.status_code)
    assert code in operation["responses"], f"{method.upper()} {path}: {code} not documented"
    media_type = response["Content-Type"].split(";")[0]
    content = operation["responses"][code].get("content", {})
    assert media_type in content, f"{method.upper()} {path} {code}: {media_type} not documented ({list(content)})"
    schema = _resolve(content[media_type]["schema"], openapi["components"]["schemas"])
    OAS30Validator(schema).validate(json.loads(response.content))


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def finished_runs(astana_settlements, region_a):
    out = {}
    for kind, extra in (
        ("sites", {"sites": {"k": 2, "candidates": "settlements"}}),
        ("underserved", {"underserved": {"hex_size_m": 5_000, "top": 50}}),
        ("roadmap", {}),
    ):
        run = analysis_run_create(
            kind=kind,
            parameters={"region_ids": [region_a.id], "facilities": {"scope": "all"}, **extra},
            enqueue=False,
        )
        out[kind] = analysis_run_execute(run_id=run.pk)
    return out


def test_run_reads_match_the_schema(openapi, planner, akimat_b, finished_runs):
    client = _client(planner)
    check(openapi, client.get(f"{BASE}/runs/"), path=f"{BASE}/runs/")
    for run in finished_runs.values():
        pk = run.pk
        check(openapi, client.get(f"{BASE}/runs/{pk}/"), path=f"{BASE}/runs/{{id}}/")
        for query in ("", "?level=district", "?level=national", "?level=all&scenario=after"):
            check(openapi, client.get(f"{BASE}/runs/{pk}/zones/{query}"), path=f"{BASE}/runs/{{id}}/zones/")
        check(openapi, client.get(f"{BASE}/runs/{pk}/distances/"), path=f"{BASE}/runs/{{id}}/distances/")
        check(openapi, client.get(f"{BASE}/runs/{pk}/sites/"), path=f"{BASE}/runs/{{id}}/sites/")
        check(openapi, client.get(f"{BASE}/runs/{pk}/sites/?selected=true"), path=f"{BASE}/runs/{{id}}/sites/")
        check(openapi, client.get(f"{BASE}/runs/{pk}/areas/"), path=f"{BASE}/runs/{{id}}/areas/")
    # The roadmap run's summary is {before, after}; zone rows of both scenarios; an akimat's empty list.
    assert set(finished_runs["roadmap"].summary) == {"before", "after"}
    check(
        openapi,
        _client(akimat_b).get(f"{BASE}/runs/{finished_runs['sites'].pk}/zones/?level=all"),
        path=f"{BASE}/runs/{{id}}/zones/",
    )


def test_run_errors_match_the_schema(openapi, planner, finished_runs):
    client = _client(planner)
    pk = finished_runs["sites"].pk
    bad_level = client.get(f"{BASE}/runs/{pk}/zones/?level=street")
    assert bad_level.status_code == 400
    check(openapi, bad_level, path=f"{BASE}/runs/{{id}}/zones/")
    bad_scenario = client.get(f"{BASE}/runs/{pk}/zones/?scenario=someday")
    assert bad_scenario.status_code == 400
    check(openapi, bad_scenario, path=f"{BASE}/runs/{{id}}/zones/")
    for suffix, path in (
        ("", f"{BASE}/runs/{{id}}/"),
        ("zones/", f"{BASE}/runs/{{id}}/zones/"),
        ("distances/", f"{BASE}/runs/{{id}}/distances/"),
        ("sites/", f"{BASE}/runs/{{id}}/sites/"),
        ("areas/", f"{BASE}/runs/{{id}}/areas/"),
    ):
        for missing in (pk + 10_000, 2**70):  # beyond bigint too: a 404, not a database error
            response = client.get(f"{BASE}/runs/{missing}/{suffix}")
            assert response.status_code == 404, (suffix, missing)
            check(openapi, response, path=path)
    # Not signed in: 401 with the challenge and a problem document, on every operation.
    anonymous = _client()
    for url, path in (
        (f"{BASE}/runs/", f"{BASE}/runs/"),
        (f"{BASE}/runs/{pk}/", f"{BASE}/runs/{{id}}/"),
        (f"{BASE}/runs/{pk}/zones/", f"{BASE}/runs/{{id}}/zones/"),
        (f"{BASE}/runs/{pk}/distances/", f"{BASE}/runs/{{id}}/distances/"),
        (f"{BASE}/runs/{pk}/sites/", f"{BASE}/runs/{{id}}/sites/"),
        (f"{BASE}/runs/{pk}/areas/", f"{BASE}/runs/{{id}}/areas/"),
        (f"{BASE}/rasters/", f"{BASE}/rasters/"),
        (f"{BASE}/parameters/?kind=coverage", f"{BASE}/parameters/"),
    ):
        response = anonymous.get(url)
        assert response.status_code == 401 and response["WWW-Authenticate"] == "Token", url
        check(openapi, response, path=path)


def test_creating_a_run_matches_the_schema(openapi, planner, akimat_a, region_a):
    path = f"{BASE}/runs/"
    client = _client(planner)
    created = client.post(path, {"kind": "sites", "parameters": {"region_ids": [region_a.id]}}, format="json")
    assert created.status_code == 201
    check(openapi, created, path=path, method="post")
    # The request body's schema accepts what was sent, and the stored parameters are the complete set.
    request_schema = _resolve(
        openapi["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"],
        openapi["components"]["schemas"],
    )
    OAS30Validator(request_schema).validate({"kind": "sites", "parameters": {"region_ids": [region_a.id]}})
    OAS30Validator(request_schema).validate({"kind": "coverage", "parameters": created.json()["parameters"]})
    for body in (
        {"parameters": {}},
        {"kind": "coverage", "parameters": {"radii": {"art_school": {"urban_m": "far"}}}},
        {"kind": "coverage", "parameters": {"colour": "red"}},
    ):
        response = client.post(path, body, format="json")
        assert response.status_code == 400, body
        check(openapi, response, path=path, method="post")
    malformed = client.post(path, "{not json", content_type="application/json")
    assert malformed.status_code == 400
    check(openapi, malformed, path=path, method="post")
    unsupported = client.post(path, "kind=coverage", content_type="text/plain")
    assert unsupported.status_code == 415
    check(openapi, unsupported, path=path, method="post")
    refused = _client(akimat_a).post(path, {"kind": "coverage"}, format="json")
    assert refused.status_code == 403
    check(openapi, refused, path=path, method="post")
    anonymous = _client().post(path, {"kind": "coverage"}, format="json")
    assert anonymous.status_code == 401
    check(openapi, anonymous, path=path, method="post")


@pytest.mark.parametrize("kind", ["coverage", "fca", "roadmap", "sites", "underserved"])
def test_default_parameters_match_the_schema(openapi, planner, kind):
    response = _client(planner).get(f"{BASE}/parameters/", {"kind": kind})
    assert response.status_code == 200
    check(openapi, response, path=f"{BASE}/parameters/")
    assert {"sites": kind == "sites", "underserved": kind == "underserved", "roadmap": kind == "roadmap"} == {
        key: key in response.json() for key in ("sites", "underserved", "roadmap")
    }


def test_parameters_errors_and_rasters_match_the_schema(openapi, planner, akimat_a, utm_raster):
    client = _client(planner)
    for query in ("", "?kind=magic"):
        response = client.get(f"{BASE}/parameters/{query}")
        assert response.status_code == 400
        check(openapi, response, path=f"{BASE}/parameters/")
    check(openapi, client.get(f"{BASE}/rasters/"), path=f"{BASE}/rasters/")
    population_raster_register(path=utm_raster, name="Astana UTM", bands=[1], year=2024, source="test")
    rasters = _client(akimat_a).get(f"{BASE}/rasters/")
    assert len(rasters.json()["results"]) == 1
    check(openapi, rasters, path=f"{BASE}/rasters/")


def test_repeat_and_compare_match_the_schema(openapi, planner, akimat_a, finished_runs):
    client = _client(planner)
    run = finished_runs["sites"]
    repeat_path, compare_path = f"{BASE}/runs/{{id}}/repeat/", f"{BASE}/runs/{{id}}/compare/{{other}}/"
    created = client.post(f"{BASE}/runs/{run.pk}/repeat/", {"radii_factor": 2}, format="json")
    assert created.status_code == 201
    check(openapi, created, path=repeat_path, method="post")
    request_schema = _resolve(
        openapi["paths"][repeat_path]["post"]["requestBody"]["content"]["application/json"]["schema"],
        openapi["components"]["schemas"],
    )
    for body in ({"radii_factor": 0.5}, {"demand_source": "raster", "raster_id": 3}, {"radii": {"urban_m": 900}}):
        OAS30Validator(request_schema).validate(body)
    for body in ({"radii_factor": "far"}, {"demand_source": "raster"}, {}):
        response = client.post(f"{BASE}/runs/{run.pk}/repeat/", body, format="json")
        assert response.status_code == 400, body
        check(openapi, response, path=repeat_path, method="post")
    for response, code in (
        (client.post(f"{BASE}/runs/{run.pk + 10_000}/repeat/", {"radii_factor": 2}, format="json"), 404),
        (_client(akimat_a).post(f"{BASE}/runs/{run.pk}/repeat/", {"radii_factor": 2}, format="json"), 403),
        (_client().post(f"{BASE}/runs/{run.pk}/repeat/", {"radii_factor": 2}, format="json"), 401),
    ):
        assert response.status_code == code
        check(openapi, response, path=repeat_path, method="post")
    new = created.json()["id"]
    for response, code in (
        (client.get(f"{BASE}/runs/{run.pk}/compare/{new}/"), 200),
        (client.get(f"{BASE}/runs/{run.pk}/compare/{finished_runs['roadmap'].pk}/"), 200),
        (_client(akimat_a).get(f"{BASE}/runs/{run.pk}/compare/{new}/"), 200),
        (client.get(f"{BASE}/runs/{run.pk}/compare/{2**70}/"), 404),
        (_client().get(f"{BASE}/runs/{run.pk}/compare/{new}/"), 401),
    ):
        assert response.status_code == code
        check(openapi, response, path=compare_path)
