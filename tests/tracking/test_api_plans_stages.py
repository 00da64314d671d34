"""REST API of plans and stage records (issue 6): scoping by role, pages, filters, 400s, query counts,
and an OpenAPI schema that documents every body and status code of the tracking API as it really is."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from openapi_schema_validator import OAS30Validator
from rest_framework.test import APIClient

from tests.clients import problem_fields
from tests.clients import token_client as _client
from tests.tracking.conftest import at
from tracking.models import Plan, PlanItem, StageRecord, TrackedFacility
from tracking.services import plan_create, stage_record_add

ASTANA, TURKISTAN = "710000000", "610000000"
PLANS, STAGES = "/api/v1/tracking/plans/", "/api/v1/tracking/stages/"


@pytest.fixture
def tracked_a(plans, region_a):
    return TrackedFacility.objects.filter(facility__region=region_a).order_by("facility_id").first()


@pytest.fixture
def tracked_b(plans, region_b):
    return TrackedFacility.objects.filter(facility__region=region_b).order_by("facility_id").first()


@pytest.fixture
def records(tracked_a, tracked_b, record):
    """Three records in Astana (one with a document file), two in Turkistan, recorded on known days."""
    out = {
        "a_parcel": record(
            tracked_a,
            "parcel",
            "2024-03-01",
            doc_file=SimpleUploadedFile("act.pdf", b"%PDF-1.4 api test"),
        ),
        "a_design_planned": record(tracked_a, "design", planned_date=date(2024, 9, 1), recorded="2024-04-01"),
        "a_design": record(tracked_a, "design", "2024-06-01"),
        "b_parcel": record(tracked_b, "parcel", "2024-05-01"),
        "b_design": record(tracked_b, "design", "2024-07-01"),
    }
    return out


@pytest.fixture
def schema(db):
    """The OpenAPI document of the whole URL configuration (as served at /api/v1/schema/)."""
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _validate(schema: dict, path: str, method: str, code: int, body) -> None:
    """`body` matches the schema documented for this operation and status code."""
    response = schema["paths"][path][method]["responses"][str(code)]
    media = "application/problem+json" if code >= 400 else "application/json"
    target = response["content"][media]["schema"]
    # A root document holding the components, so that "#/components/..." references resolve.
    OAS30Validator({**target, "components": schema["components"]}).validate(body)


# --- who sees what --------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [PLANS, STAGES, "plan"])
def test_anonymous_clients_are_refused(url, plans):
    url = f"{PLANS}{plans[12].pk}/" if url == "plan" else url
    response = APIClient().get(url)
    # No credentials: 401 with the challenge (api/errors.py); 403 is for a signed-in caller not allowed.
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert problem_fields(response) == []


def test_plans_list_everyone_with_a_role_but_counts_only_the_rows_they_may_view(plans, akimat_a, akimat_b, planner):
    total = {p: PlanItem.objects.filter(plan_id=p).aggregate(n=Sum("count"))["n"] for p in (plans[12].pk, plans[13].pk)}
    astana = {
        p: PlanItem.objects.filter(plan_id=p, region__kato=ASTANA).aggregate(n=Sum("count"))["n"] or 0 for p in total
    }
    assert total[plans[12].pk] == 50 and total[plans[13].pk] == 100
    seen = {row["id"]: row for row in _client(planner).get(PLANS).json()["results"]}
    assert {p: seen[p]["objects_count"] for p in total} == total
    seen = {row["id"]: row for row in _client(akimat_a).get(PLANS).json()["results"]}
    assert set(seen) == set(Plan.objects.values_list("id", flat=True))
    assert {p: seen[p]["objects_count"] for p in total} == astana
    assert 0 < sum(astana.values()) < 150
    assert {p: seen[p]["items_count"] for p in total} == {
        p: PlanItem.objects.filter(plan_id=p, region__kato=ASTANA).count() for p in total
    }


def test_plan_detail_holds_only_the_rows_of_the_callers_region(plans, akimat_a, akimat_b, planner):
    url = f"{PLANS}{plans[13].pk}/"
    own = _client(akimat_a).get(url).json()
    assert own["plan_measure"] == 13 and own["status"] == "approved" and own["is_demo"] is True
    assert own["items"] and {i["region"] for i in own["items"]} == {ASTANA}
    assert sum(i["count"] for i in own["items"]) == own["objects_count"]
    assert {i["region"] for i in _client(akimat_b).get(url).json()["items"]} == {TURKISTAN}
    everything = _client(planner).get(url).json()
    assert len(everything["items"]) == PlanItem.objects.filter(plan=plans[13]).count()
    assert sum(i["count"] for i in everything["items"]) == 100
    assert all(i["district"] is None or len(i["district"]) >= 9 for i in everything["items"])


def test_a_user_without_a_role_sees_no_plan_and_no_record(plans, records):
    nobody = get_user_model().objects.create_user("no_role_api", password="pw-n-12345!")
    client = _client(nobody)
    assert client.get(PLANS).json()["count"] == 0
    assert client.get(f"{PLANS}{plans[12].pk}/").status_code == 404
    assert client.get(STAGES).json()["count"] == 0


def test_unknown_plan_is_404(plans, planner):
    response = _client(planner).get(f"{PLANS}{plans[13].pk + 1000}/")
    assert response.status_code == 404 and "detail" in response.json()


def test_stage_records_are_scoped_by_region(records, akimat_a, akimat_b, planner, admin_user_role):
    def ids(user, **query):
        return {row["id"] for row in _client(user).get(STAGES, query).json()["results"]}

    a = {records[k].id for k in ("a_parcel", "a_design_planned", "a_design")}
    b = {records[k].id for k in ("b_parcel", "b_design")}
    assert ids(akimat_a) == a
    assert ids(akimat_b) == b
    assert ids(akimat_a, region=TURKISTAN) == set()  # another region: no rows, not an error
    assert ids(planner) == a | b == ids(admin_user_role)


def test_stage_record_body(records, tracked_a, akimat_a, schema):
    response = _client(akimat_a).get(STAGES, {"facility": tracked_a.facility_id, "ordering": "id"})
    assert response.status_code == 200
    body = response.json()
    _validate(schema, STAGES, "get", 200, body)
    first = body["results"][0]
    assert first["id"] == records["a_parcel"].id
    assert first["facility"] == tracked_a.facility_id and first["region"] == ASTANA
    assert first["measure"] == tracked_a.facility.measure_id and first["is_demo"] is True
    assert first["stage"] == "parcel" and first["actual_date"] == "2024-03-01" and first["doc_number"] == "T-parcel"
    assert first["has_doc_file"] is True and first["has_photo"] is False
    assert body["results"][1]["planned_date"] == "2024-09-01" and body["results"][1]["actual_date"] is None
    assert body["results"][1]["has_doc_file"] is False


# --- filters, ordering and pages ------------------------------------------------------------------


def test_stage_record_filters_and_ordering(records, tracked_a, planner):
    client = _client(planner)

    def ids(**query):
        response = client.get(STAGES, query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    r = records
    assert set(ids(facility=tracked_a.facility_id)) == {r["a_parcel"].id, r["a_design_planned"].id, r["a_design"].id}
    assert set(ids(region=TURKISTAN)) == {r["b_parcel"].id, r["b_design"].id}
    assert set(ids(stage="design")) == {r["a_design_planned"].id, r["a_design"].id, r["b_design"].id}
    assert set(ids(measure=tracked_a.facility.measure_id)) >= {r["a_parcel"].id}
    since = at("2024-05-15").isoformat()
    assert set(ids(updated_since=since)) == {r["a_design"].id, r["b_design"].id}
    assert ids(recorded_since=since) == ids(updated_since=since)
    assert set(ids(updated_since="2024-05-15T00:00:00Z")) == {r["a_design"].id, r["b_design"].id}
    oldest_first = [r["a_parcel"].id, r["a_design_planned"].id, r["b_parcel"].id, r["a_design"].id, r["b_design"].id]
    assert ids() == oldest_first  # default: recorded_at, then id
    assert ids(ordering="-recorded_at") == oldest_first[::-1]
    assert ids(ordering="-id") == sorted(oldest_first, reverse=True)


def test_plan_filters_and_ordering(plans, planner, akimat_a):
    draft = plan_create(plan_measure=12, user=planner, copy_from=plans[12])
    client = _client(planner)

    def ids(**query):
        response = client.get(PLANS, query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert set(ids(plan_measure=12)) == {plans[12].pk, draft.pk}
    assert ids(plan_measure=13) == [plans[13].pk]
    assert ids(status="draft") == [draft.pk]
    assert set(ids(status="approved")) == {plans[12].pk, plans[13].pk}
    assert ids(ordering="-id") == sorted(ids(), reverse=True)
    assert ids(ordering="-version")[-1] in (plans[12].pk, plans[13].pk)
    empty = plan_create(plan_measure=13, user=planner)  # no rows: kept without filters, dropped with them
    assert empty.pk in ids() and empty.pk not in ids(region=ASTANA)
    rows = {row["id"]: row for row in client.get(PLANS, {"region": ASTANA, "year": 2026}).json()["results"]}
    expected = PlanItem.objects.filter(plan=plans[13], region__kato=ASTANA, year=2026).aggregate(n=Sum("count"))["n"]
    if expected:
        assert rows[plans[13].pk]["objects_count"] == expected
    assert all(row["objects_count"] > 0 for row in rows.values())
    detail = client.get(f"{PLANS}{plans[13].pk}/", {"region": TURKISTAN, "year": 2025}).json()
    assert all(i["region"] == TURKISTAN and i["year"] == 2025 for i in detail["items"])
    assert detail["objects_count"] == sum(i["count"] for i in detail["items"])


def test_pages_have_next_and_previous_links_and_a_total_count(records, planner):
    client = _client(planner)
    first = client.get(STAGES, {"limit": 2, "region": ASTANA}).json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["previous"] is None
    link = urlsplit(first["next"])
    assert link.path == STAGES
    assert parse_qs(link.query) == {"limit": ["2"], "offset": ["2"], "region": [ASTANA]}
    second = client.get(first["next"]).json()
    assert second["count"] == 3 and len(second["results"]) == 1 and second["next"] is None
    assert second["previous"] is not None
    assert {r["id"] for r in first["results"] + second["results"]} == {
        records[k].id for k in ("a_parcel", "a_design_planned", "a_design")
    }
    plans_page = client.get(PLANS, {"limit": 1}).json()
    assert plans_page["count"] == 2 and len(plans_page["results"]) == 1 and "offset=1" in plans_page["next"]


@pytest.mark.parametrize(
    ("url", "param", "value"),
    [
        (STAGES, "limit", "0"),
        (STAGES, "limit", "1001"),
        (STAGES, "limit", "ten"),
        (STAGES, "offset", "-1"),
        (STAGES, "facility", "x'"),
        (STAGES, "region", "71000000"),
        (STAGES, "measure", "5"),
        (STAGES, "stage", "finished"),
        (STAGES, "updated_since", "yesterday"),
        (STAGES, "ordering", "recorded_by__password"),
        (STAGES, "bbox", "1,2,3,4"),
        (PLANS, "plan_measure", "14"),
        (PLANS, "status", "lost"),
        (PLANS, "region", "abc"),
        (PLANS, "year", "2023"),
        (PLANS, "ordering", "note"),
        (PLANS, "limit", "100000"),
        (PLANS, "measure", "12"),
        ("plan", "year", "2030"),
        ("plan", "limit", "5"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(url, param, value, plans, planner):
    url = f"{PLANS}{plans[12].pk}/" if url == "plan" else url
    response = _client(planner).get(url, {param: value})
    assert response.status_code == 400, response.content
    assert param in problem_fields(response)


def test_updated_since_and_its_synonym_together_are_refused(planner, plans):
    response = _client(planner).get(STAGES, {"updated_since": "2024-01-01T00:00", "recorded_since": "2024-01-01T00:00"})
    assert response.status_code == 400 and "recorded_since" in problem_fields(response)


def test_unknown_format_and_unacceptable_accept_are_as_documented(planner, plans):
    client = _client(planner)
    assert client.get(STAGES, {"format": "csv"}).status_code == 404
    assert client.get(STAGES, {"format": "json"}).status_code == 200
    assert client.get(PLANS, HTTP_ACCEPT="application/xml").status_code == 406


# --- query counts ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_token_cache")
def test_stage_records_cost_the_same_queries_whatever_the_page_size(
    tracked_a, tracked_b, record, planner, akimat_a, django_assert_num_queries
):
    from tests.tracking.conftest import chain_to

    chain_to(record, tracked_a, "opened")
    chain_to(record, tracked_b, "accepted")
    for user in (planner, akimat_a):
        client = _client(user)
        client.get(STAGES)  # the token exists: the counts below are of reads only
        # token with its user and role (membership), the count, the page.
        for limit in (1, 5, 100):
            with django_assert_num_queries(3):
                body = client.get(STAGES, {"limit": limit}).json()
            assert len(body["results"]) == min(limit, body["count"])
    assert _client(planner).get(STAGES).json()["count"] == StageRecord.objects.count() == 11


@pytest.mark.usefixtures("no_token_cache")
def test_plans_cost_the_same_queries_whatever_the_page_size(plans, planner, akimat_a, django_assert_num_queries):
    for extra in range(3):
        plan_create(plan_measure=12 + extra % 2, user=planner, copy_from=plans[12 + extra % 2])
    for user in (planner, akimat_a):
        client = _client(user)
        client.get(PLANS)
        for limit in (1, 100):
            with django_assert_num_queries(3):  # token with user and role, count, page
                body = client.get(PLANS, {"limit": limit, "region": ASTANA}).json()
            assert len(body["results"]) == min(limit, 5)
        with django_assert_num_queries(3):  # token with user and role, plan, its rows
            client.get(f"{PLANS}{plans[13].pk}/")


# --- the OpenAPI schema -----------------------------------------------------------------------------


def test_every_tracking_operation_documents_its_bodies_and_error_codes(schema):
    """Every operation of /api/v1/tracking/: 2xx and error bodies are components, the error codes it
    can return are documented, and operation ids are unique in the whole document."""
    operation_ids = [op["operationId"] for ops in schema["paths"].values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids))
    tracking = {
        (path, method): op
        for path, ops in schema["paths"].items()
        if path.startswith("/api/v1/tracking/")
        for method, op in ops.items()
    }
    assert {p for p, _m in tracking} >= {
        "/api/v1/tracking/facilities/",
        "/api/v1/tracking/facilities/{id}/",
        "/api/v1/tracking/facilities/{id}/stages/",
        "/api/v1/tracking/statuses/",
        "/api/v1/tracking/plans/",
        "/api/v1/tracking/plans/{id}/",
        "/api/v1/tracking/stages/",
    }
    for (path, method), op in tracking.items():
        codes = set(op["responses"])
        expected = {"400", "401", "403", "404", "406", "414"}  # 414: the web server's own, on every route
        if method == "post":
            expected |= {"201", "409", "415"}
        else:
            expected |= {"200"}
        assert codes == expected, (path, method, codes)
        assert op["operationId"].startswith("tracking_"), op["operationId"]
        for code, response in op["responses"].items():
            assert response.get("description"), (path, code)
            if code == "414":
                continue  # written by the web server, not by a view: no body is promised
            media = "application/json" if code.startswith("2") else "application/problem+json"
            body = response["content"][media]["schema"]
            assert "$ref" in body, (path, code, body)  # a named component, not a bare object
            if not code.startswith("2"):
                assert body["$ref"].endswith("/Problem"), (path, code)
    create = tracking[("/api/v1/tracking/facilities/{id}/stages/", "post")]
    assert set(create["requestBody"]["content"]) == {
        "application/json",
        "multipart/form-data",
        "application/x-www-form-urlencoded",
    }
    stages = {p["name"] for p in tracking[("/api/v1/tracking/stages/", "get")]["parameters"]}
    assert stages >= {"limit", "offset", "ordering", "facility", "region", "measure", "stage", "updated_since"}
    plan_params = {p["name"] for p in tracking[("/api/v1/tracking/plans/", "get")]["parameters"]}
    assert plan_params >= {"limit", "offset", "ordering", "plan_measure", "status", "region", "year"}


def test_tracking_views_document_themselves_without_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from openapi_spec_validator import validate

    from api.v1 import urls

    tracking = [p for p in urls.urlpatterns if str(p.pattern).startswith("tracking/")]
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        document = SchemaGenerator(patterns=tracking).get_schema(request=None, public=True)
    problems = dict(GENERATOR_STATS._warn_cache) | dict(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    assert not problems, problems
    validate(document)


def test_real_bodies_match_the_documented_schemas(schema, records, tracked_a, tracked_b, akimat_a, plans):
    """What the views return, success and error alike, is what the schema says."""
    client = _client(akimat_a)
    base = "/api/v1/tracking/facilities/"
    cases = [
        ("/api/v1/tracking/facilities/", "get", client.get(base, {"as_of": "2024-12-31"})),
        ("/api/v1/tracking/facilities/", "get", client.get(base, {"as_of": "July"})),
        ("/api/v1/tracking/facilities/", "get", APIClient().get(base)),
        ("/api/v1/tracking/facilities/{id}/", "get", client.get(f"{base}{tracked_a.facility_id}/")),
        ("/api/v1/tracking/facilities/{id}/", "get", client.get(f"{base}{tracked_b.facility_id}/")),
        ("/api/v1/tracking/facilities/{id}/", "get", client.get(f"{base}999999999/")),
        ("/api/v1/tracking/statuses/", "get", client.get("/api/v1/tracking/statuses/")),
        ("/api/v1/tracking/plans/", "get", client.get(PLANS)),
        ("/api/v1/tracking/plans/", "get", client.get(PLANS, {"nope": "1"})),
        ("/api/v1/tracking/plans/{id}/", "get", client.get(f"{PLANS}{plans[12].pk}/")),
        ("/api/v1/tracking/plans/{id}/", "get", client.get(f"{PLANS}999999999/")),
        ("/api/v1/tracking/stages/", "get", client.get(STAGES, {"stage": "x"})),
        ("/api/v1/tracking/stages/", "get", client.get(STAGES, {"format": "csv"})),
    ]
    tracked_a.refresh_from_db()
    url = f"{base}{tracked_a.facility_id}/stages/"
    planned = {"stage": "expertise", "planned_date": (date.today() + timedelta(days=90)).isoformat()}
    cases += [
        ("/api/v1/tracking/facilities/{id}/stages/", "post", client.post(url, {**planned, "version": 1})),  # 409
        ("/api/v1/tracking/facilities/{id}/stages/", "post", client.post(url, {"stage": "x", "version": 1})),  # 400
        (
            "/api/v1/tracking/facilities/{id}/stages/",
            "post",
            client.post(url, {**planned, "version": tracked_a.version}, format="json"),
        ),  # 201
        (
            "/api/v1/tracking/facilities/{id}/stages/",
            "post",
            client.post(f"{base}{tracked_b.facility_id}/stages/", {**planned, "version": 1}),
        ),  # 403
        ("/api/v1/tracking/facilities/{id}/stages/", "post", client.post(url, "x", content_type="text/plain")),  # 415
    ]
    seen = set()
    for path, method, response in cases:
        seen.add((path, response.status_code))
        _validate(schema, path, method, response.status_code, response.json())
    assert {code for _p, code in seen} == {200, 201, 400, 401, 403, 404, 409, 415}
    detail = client.get(f"{base}{tracked_a.facility_id}/").json()
    assert detail["records"] and detail["stage_reached"] == "design"


def test_stage_record_added_through_the_api_is_listed(tracked_a, akimat_a):
    client = _client(akimat_a)
    response = client.post(
        f"/api/v1/tracking/facilities/{tracked_a.facility_id}/stages/",
        {"stage": "parcel", "version": tracked_a.version, "planned_date": "2024-05-01"},
        format="json",
    )
    assert response.status_code == 201
    created = response.json()
    listed = client.get(STAGES, {"facility": tracked_a.facility_id}).json()["results"]
    assert [row["id"] for row in listed] == [created["id"]]
    assert listed[0]["planned_date"] == "2024-05-01"
    stage_record_add(tracked=tracked_a, stage="parcel", planned_date=date(2024, 6, 1), recorded_at=at("2024-01-01"))
    assert client.get(STAGES, {"facility": tracked_a.facility_id}).json()["count"] == 2


@pytest.mark.parametrize(
    "url",
    [
        PLANS + "?region=",
        PLANS + "?year=&limit=5",
        STAGES + "?region=",
        STAGES + "?stage=",
        "/api/v1/tracking/facilities/?region=",
        "/api/v1/tracking/statuses/?region=",
    ],
)
def test_an_empty_query_parameter_is_a_400_naming_it(planner, url):
    """`?region=` is a client's unfilled variable, not "no filter"."""
    response = _client(planner).get(url, HTTP_ACCEPT_LANGUAGE="en")
    name = url.split("?", 1)[1].split("=", 1)[0]
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert [(e["field"], e["message"]) for e in errors] == [(name, "This field may not be blank.")]
