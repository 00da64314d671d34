"""Stages: order (service checks and database constraints), documents, versions, history, permissions."""

import pytest
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from tests.clients import problem_fields
from tests.clients import token_client as _client
from tracking.models import StageRecord, TrackedFacility
from tracking.services import PermissionDeniedError, StaleVersionError, TrackingError, stage_record_add


@pytest.fixture
def tracked_a(plans, region_a):
    """A tracked facility of measure 24 (acceptance target, due Dec 2026) in Astana."""
    return TrackedFacility.objects.filter(facility__region=region_a, facility__measure_id=24).first()


@pytest.fixture
def tracked_b(plans, region_b):
    return TrackedFacility.objects.filter(facility__region=region_b, facility__measure_id=24).first()


def test_acceptance_before_expertise_is_refused(tracked_a, record):
    record(tracked_a, "parcel", "2024-03-01")
    with pytest.raises(TrackingError) as exc:
        record(tracked_a, "accepted", "2024-09-01")
    assert "stage" in exc.value.problems
    assert not StageRecord.objects.filter(tracked=tracked_a, stage="accepted").exists()  # nothing half-saved


def test_dates_must_follow_the_previous_stage(tracked_a, record):
    record(tracked_a, "parcel", "2024-03-01")
    record(tracked_a, "design", "2024-05-01")
    with pytest.raises(TrackingError) as exc:
        record(tracked_a, "expertise", "2024-04-01", recorded="2024-06-01")
    assert "actual_date" in exc.value.problems
    with pytest.raises(TrackingError) as exc:  # moving the parcel after the design
        record(tracked_a, "parcel", "2024-06-01")
    assert "actual_date" in exc.value.problems


def test_a_done_stage_needs_its_document(tracked_a):
    from datetime import date

    with pytest.raises(TrackingError) as exc:
        stage_record_add(tracked=tracked_a, stage="parcel", actual_date=date(2024, 3, 1))
    assert set(exc.value.problems) >= {"doc_number", "doc_date"}


def test_progress_updates_need_percent_and_are_all_kept(tracked_a, record):
    for stage, day in (("parcel", "2024-02-01"), ("design", "2024-03-01"), ("expertise", "2024-04-01")):
        record(tracked_a, stage, day)
    record(tracked_a, "construction_started", "2024-05-01")
    with pytest.raises(TrackingError) as exc:
        record(tracked_a, "construction_progress", "2024-06-01")
    assert "percent" in exc.value.problems
    record(tracked_a, "construction_progress", "2024-06-01", percent=20)
    record(tracked_a, "construction_progress", "2024-08-01", percent=55)
    tracked_a.refresh_from_db()
    assert tracked_a.progress_percent == 55 and tracked_a.construction_progress_on.isoformat() == "2024-06-01"
    assert StageRecord.objects.filter(tracked=tracked_a, stage="construction_progress").count() == 2


def test_database_enforces_the_order_of_stages(tracked_a):
    from datetime import date

    with pytest.raises(IntegrityError), transaction.atomic():
        TrackedFacility.objects.filter(pk=tracked_a.pk).update(accepted_on=date(2024, 5, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        # (The parcel stage is its act where a parcel exists, so design is not tied to parcel_on in the database.)
        TrackedFacility.objects.filter(pk=tracked_a.pk).update(
            design_on=date(2024, 5, 1), expertise_on=date(2024, 4, 1)
        )
    with pytest.raises(IntegrityError), transaction.atomic():  # a done stage without its document
        StageRecord.objects.create(tracked=tracked_a, stage="parcel", actual_date=date(2024, 5, 1))


def test_stale_version_and_other_region(tracked_a, tracked_b, akimat_a, record):
    from datetime import date

    version = tracked_a.version
    stage_record_add(tracked=tracked_a, stage="parcel", planned_date=date(2024, 5, 1), user=akimat_a, version=version)
    with pytest.raises(StaleVersionError):
        stage_record_add(
            tracked=tracked_a, stage="parcel", planned_date=date(2024, 6, 1), user=akimat_a, version=version
        )
    with pytest.raises(PermissionDeniedError):
        stage_record_add(tracked=tracked_b, stage="parcel", planned_date=date(2024, 5, 1), user=akimat_a)


def test_api_stage_update_codes(tracked_a, tracked_b, akimat_a, planner):
    url = f"/api/v1/tracking/facilities/{tracked_a.facility_id}/stages/"
    client = _client(akimat_a)
    ok = client.post(
        url,
        {
            "stage": "parcel",
            "version": tracked_a.version,
            "actual_date": "2024-03-01",
            "doc_number": "A-1",
            "doc_date": "2024-03-01",
            "executor": "Astana akimat",
        },
        format="json",
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["version"] == tracked_a.version + 1
    stale = client.post(
        url, {"stage": "design", "version": tracked_a.version, "planned_date": "2024-09-01"}, format="json"
    )
    assert stale.status_code == 409 and "version" in problem_fields(stale)
    bad = client.post(
        url, {"stage": "accepted", "version": tracked_a.version + 1, "actual_date": "2024-04-01"}, format="json"
    )
    assert bad.status_code == 400
    assert {"stage", "doc_number", "doc_date"} <= set(problem_fields(bad))
    unknown = client.post(url, {"stage": "finished", "version": 1}, format="json")
    assert unknown.status_code == 400 and "stage" in problem_fields(unknown)
    other = client.post(
        f"/api/v1/tracking/facilities/{tracked_b.facility_id}/stages/",
        {"stage": "parcel", "version": tracked_b.version, "planned_date": "2024-09-01"},
        format="json",
    )
    assert other.status_code == 403
    assert not StageRecord.objects.filter(tracked=tracked_b).exists()
    # A planner reads everything but does not edit akimat records.
    assert (
        _client(planner)
        .post(url, {"stage": "design", "version": 2, "planned_date": "2024-09-01"}, format="json")
        .status_code
        == 403
    )
    assert APIClient().get("/api/v1/tracking/statuses/").status_code in (401, 403)


def test_api_lists_only_the_own_region_with_constant_queries(tracked_a, akimat_a, planner, django_assert_num_queries):
    client = _client(akimat_a)
    # token, facilities, stage records, progress updates, the parcels' history (tracking.lifecycle), the page
    with django_assert_num_queries(6):
        data = client.get("/api/v1/tracking/facilities/?as_of=2025-07-05").json()
    assert data["count"] > 0
    assert {row["region"] for row in data["results"]} == {"710000000"}
    client = _client(planner)
    with django_assert_num_queries(6):
        data = client.get("/api/v1/tracking/facilities/").json()
    assert data["count"] == 150
    bad = client.get("/api/v1/tracking/facilities/?as_of=July")
    assert bad.status_code == 400 and "as_of" in problem_fields(bad)


def test_reason_and_executor_changes_are_kept(tracked_a, akimat_a, client):
    from tracking.selectors import tracked_facility_changes
    from tracking.services import overdue_reason_set

    overdue_reason_set(tracked=tracked_a, reason="contractor changed", user=akimat_a)
    overdue_reason_set(tracked=tracked_a, reason="winter break", user=akimat_a)
    reasons = [c["overdue_reason"] for c in tracked_facility_changes(tracked_id=tracked_a.id)]
    assert reasons[:2] == ["winter break", "contractor changed"]
    client.force_login(akimat_a)
    page = client.get(f"/ru/tracking/facility/{tracked_a.id}/").content.decode()
    assert "contractor changed" in page and "winter break" in page
