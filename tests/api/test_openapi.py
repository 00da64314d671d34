"""The OpenAPI 3 document is complete and valid; the documentation page uses local assets."""

from __future__ import annotations

import json

import yaml
from openapi_spec_validator import validate

from gis_portal.geo.collections import collections_all


def test_schema_is_valid_openapi_3(api):
    response = api.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate(schema)  # raises on any violation of the OpenAPI 3.0 specification
    assert schema["openapi"].startswith("3.0")


def test_schema_covers_every_endpoint_and_filter(api):
    schema = yaml.safe_load(api.get("/api/v1/schema/").content)
    paths = schema["paths"]
    for collection in collections_all():
        if collection.rest:
            operation = paths[f"/api/v1/{collection.id}/"]["get"]
            names = {p["name"] for p in operation["parameters"]}
            assert set(collection.filters) | {"limit", "cursor", "ordering"} <= names
            assert "application/geo+json" in operation["responses"]["200"]["content"]
            assert "400" in operation["responses"]
            assert f"/api/v1/{collection.id}/{{id}}/" in paths
        if collection.ogc and collection.geometry:
            assert f"/ogc/collections/{collection.id}/items" in paths
            assert f"/ogc/collections/{collection.id}/items/{{id}}" in paths
    for path in (
        "/api/v1/measures/",
        "/api/v1/quotas/",
        "/api/v1/kpi-targets/",
        "/ogc/",
        "/ogc/conformance",
        "/ogc/collections",
        "/tiles/{layer}/{z}/{x}/{y}.pbf",
    ):
        assert path in paths, path


def test_ogc_service_desc_is_the_openapi_json(api):
    # What GDAL 3.6.2's OAPIF driver sends; it refuses the document unless the Content-Type has
    # every ;-separated token of the type it asked for (so the version too).
    gdal_accept = "application/vnd.oai.openapi+json;version=3.0, application/openapi+json;version=3.0, application/json"
    response = api.get("/ogc/api", HTTP_ACCEPT=gdal_accept)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.oai.openapi+json;version=3.0"
    landing = api.get("/ogc/").json()
    assert {"rel": "service-desc", "type": response["Content-Type"]}.items() <= next(
        link for link in landing["links"] if link["rel"] == "service-desc"
    ).items()
    schema = json.loads(response.content)
    validate(schema)
    for accept in ("*/*", "application/vnd.oai.openapi+json"):
        assert api.get("/ogc/api", HTTP_ACCEPT=accept)["Content-Type"] == response["Content-Type"], accept
    assert api.get("/ogc/api", HTTP_ACCEPT="application/json")["Content-Type"] == "application/json"
    # The OGC API's own definition, paths relative to its server /ogc, as OGC clients look them up.
    assert schema["servers"] == [{"url": "/ogc", "description": "OGC API – Features"}]
    assert not any(path.startswith(("/ogc", "/api/", "/tiles/")) for path in schema["paths"])
    for collection in collections_all():
        if collection.ogc and collection.geometry:
            operation = schema["paths"][f"/collections/{collection.id}/items"]["get"]
            assert set(collection.filters) <= {p["name"] for p in operation["parameters"]}
            assert f"/collections/{collection.id}/items/{{id}}" in schema["paths"]
            assert f"/collections/{collection.id}/queryables" in schema["paths"]
    assert {"/", "/conformance", "/collections"} <= set(schema["paths"])


def test_docs_page_uses_local_assets(api):
    html = api.get("/api/v1/docs/").content.decode()
    assert "swagger-ui" in html
    assert "/static/drf_spectacular_sidecar/" in html
    assert "cdn" not in html.lower()
    assert api.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200


def test_this_apps_views_document_themselves_without_warnings():
    """drf-spectacular raises no warning or error for any view of the api app (no guessed schemas)."""
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    from api import urls

    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator(patterns=urls.urlpatterns).get_schema(request=None, public=True)
    problems = dict(GENERATOR_STATS._warn_cache) | dict(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    assert not problems, problems
    validate(schema)


def test_every_operation_documents_the_project_wide_answers(api):
    """The middleware's 400 (NUL in the query) and the JSON 404 hold for every route; the schema says so."""
    import re

    schema = json.loads(api.get("/api/v1/schema/?format=json").content)
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "responses" in op
    ]
    assert len(operations) > 60
    for path, method, op in operations:
        assert "400" in op["responses"], (method, path)
        if "{" in path:
            assert "application/problem+json" in op["responses"]["404"]["content"], (method, path)
        for parameter in op.get("parameters", []):
            param_schema = parameter.get("schema", {})
            if parameter["in"] == "query" and param_schema.get("type") == "string" and "enum" not in param_schema:
                assert not re.fullmatch(param_schema["pattern"], "a\x00b"), (method, path, parameter["name"])


def test_unmatched_api_paths_answer_json_404(api):
    for path in ("/api/v1/regions/-1/", "/ogc/collections/regions/items/abc", "/api/v1/nothing-here/"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/problem+json" and response.json()["detail"], path
    page = api.get("/en/nothing-here/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_documented_parameter_bounds_are_the_enforced_ones(api):
    schema = json.loads(api.get("/api/v1/schema/?format=json").content)
    params = {p["name"]: p["schema"] for p in schema["paths"]["/api/v1/facilities/"]["get"]["parameters"]}
    assert (params["limit"]["minimum"], params["limit"]["maximum"]) == (1, 10000)
    assert api.get("/api/v1/facilities/?limit=0").status_code == 400
    assert api.get("/api/v1/facilities/?limit=10000").status_code == 200
    assert api.get("/api/v1/facilities/?limit=10001").status_code == 400
    assert api.get("/api/v1/facilities/?ordering=").status_code == 400  # empty is not in the enum
    item = api.get("/api/v1/facilities/?limit=1").json()["features"][0]["id"]
    assert api.get(f"/api/v1/facilities/{item}/?f=html").status_code == 400  # HTML is OGC's encoding
    assert api.get(f"/ogc/collections/facilities/items/{item}?f=html").status_code == 200
