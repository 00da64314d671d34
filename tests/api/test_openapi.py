"""The OpenAPI 3 document is complete and valid; the documentation page uses local assets."""

from __future__ import annotations

import json

import yaml
from openapi_spec_validator import validate

from api.registry import collections_all


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
    response = api.get("/ogc/api")
    assert response.status_code == 200
    validate(json.loads(response.content))


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
