"""The REST API: create runs (planners/admin), read results (roles), clear 400s."""

import json

import pytest
from rest_framework.test import APIClient

from accessibility.models import AnalysisRun
from accessibility.services import analysis_run_create, analysis_run_execute
from tests.clients import problem_fields


@pytest.fixture
def done_run(astana_settlements, region_a):
    run = analysis_run_create(
        kind="sites",
        parameters={
            "region_ids": [region_a.id],
            "facilities": {"scope": "all", "purpose": "education"},
            "sites": {"k": 2, "candidates": "settlements"},
        },
        enqueue=False,
    )
    return analysis_run_execute(run_id=run.pk)


def _client(user=None):
    c = APIClient()
    if user is not None:
        c.force_authenticate(user)
    return c


def test_planner_creates_a_run(planner, region_a):
    resp = _client(planner).post(
        "/api/v1/accessibility/runs/", {"kind": "coverage", "parameters": {"region_ids": [region_a.id]}}, format="json"
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["status"] == "queued" and body["parameters"]["region_ids"] == [region_a.id] and body["task_id"]


def test_bad_parameters_are_400_naming_the_field(planner):
    resp = _client(planner).post(
        "/api/v1/accessibility/runs/",
        {"kind": "coverage", "parameters": {"radii": {"art_school": {"urban_m": "far"}}}},
        format="json",
    )
    assert resp.status_code == 400
    assert resp.json()["errors"] == [
        {
            "field": "radii.art_school.urban_m",
            "code": "invalid",
            "message": "radii.art_school.urban_m: 'far' is not a number",
        }
    ]
    resp = _client(planner).post("/api/v1/accessibility/runs/", {"parameters": {}}, format="json")
    assert resp.status_code == 400 and "kind" in problem_fields(resp)
    assert not AnalysisRun.objects.exists()


def test_akimat_and_anonymous_cannot_create(akimat_a):
    assert _client(akimat_a).post("/api/v1/accessibility/runs/", {"kind": "coverage"}, format="json").status_code == 403
    assert _client().post("/api/v1/accessibility/runs/", {"kind": "coverage"}, format="json").status_code in (401, 403)


def test_run_list_query_count(planner, done_run, django_assert_num_queries):
    client = _client(planner)
    with django_assert_num_queries(2):  # membership of the user, the runs
        resp = client.get("/api/v1/accessibility/runs/")
    assert resp.status_code == 200 and resp.json()["results"][0]["id"] == done_run.pk


def test_results_endpoints(planner, akimat_b, done_run, region_a):
    c = _client(planner)
    detail = c.get(f"/api/v1/accessibility/runs/{done_run.pk}/").json()
    assert detail["status"] == "done" and detail["progress"] == 1.0 and detail["notes"]
    zones = c.get(f"/api/v1/accessibility/runs/{done_run.pk}/zones/?level=region").json()["results"]
    assert [z["region_kato"] for z in zones] == [region_a.kato]
    assert c.get(f"/api/v1/accessibility/runs/{done_run.pk}/zones/?level=nope").status_code == 400
    sites = json.loads(c.get(f"/api/v1/accessibility/runs/{done_run.pk}/sites/?selected=1").content)
    # Only the settlement 40 km out is uncovered: the greedy stops once no site adds children.
    assert sites["type"] == "FeatureCollection" and len(sites["features"]) == 1
    assert sites["features"][0]["properties"]["label"] == "T4" and sites["features"][0]["properties"]["solo_gain"] == 70
    everything = json.loads(c.get(f"/api/v1/accessibility/runs/{done_run.pk}/sites/").content)
    assert len(everything["features"]) == done_run.summary["candidates"] > 1
    bins = c.get(f"/api/v1/accessibility/runs/{done_run.pk}/distances/").json()["results"]
    assert len(bins) == 14 and bins[0]["no_facility"] and bins[1]["lower_m"] == 0
    # An akimat user of another region reads the run but none of region A's rows.
    other = _client(akimat_b).get(f"/api/v1/accessibility/runs/{done_run.pk}/zones/?level=all").json()["results"]
    assert other == []
    assert _client().get(f"/api/v1/accessibility/runs/{done_run.pk}/").status_code in (401, 403)


def test_default_parameters_show_the_schema(planner):
    c = _client(planner)
    body = c.get("/api/v1/accessibility/parameters/?kind=sites").json()
    assert body["sites"]["method"] == "greedy" and body["facilities"]["scope"] == "open_or_planned"
    assert c.get("/api/v1/accessibility/parameters/?kind=x").status_code == 400
