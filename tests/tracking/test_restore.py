"""Restore from history on the tracking pages: a draft plan, one of its rows, a stage record.

Plans and rows are the ministry's and restorable only while the plan is a draft; stage records are
the akimat's of the facility's region, restored as a new record, never for the parcel-decided stages.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db.models import F

from parcels.services import parcel_create
from tests.parcels.conftest import base_data, square
from tracking.models import Plan, PlanItem, StageRecord, TrackedFacility
from tracking.selectors import facility_states_as_of
from tracking.services import plan_create, plan_item_add, plan_item_delete

REFUSED = (302, 403, 404)


def _events(model, **filters) -> list:
    return list(model.pgh_event_model.objects.filter(**filters).order_by("pgh_id"))


def _as_earlier(draft: Plan) -> None:
    """Date the events so far an hour back, as if written in an earlier transaction (a test runs in
    one, where NOW() never moves; the plan's rows "as of" an event are found by time)."""
    shift = F("pgh_created_at") - timedelta(hours=1)
    Plan.pgh_event_model.objects.filter(pgh_obj_id=draft.pk).update(pgh_created_at=shift)
    PlanItem.pgh_event_model.objects.filter(plan_id=draft.pk).update(pgh_created_at=shift)


def _rows(plan: Plan) -> dict[int, tuple]:
    return {
        i.pk: (i.measure_id, i.region_id, i.district_id, i.year, i.count, i.ppp_count, i.places_each)
        for i in PlanItem.objects.filter(plan=plan)
    }


def _plan_state(plan: Plan) -> tuple:
    plan.refresh_from_db()
    return (
        plan.status,
        plan.note,
        _rows(plan),
        len(_events(Plan, pgh_obj_id=plan.pk)),
        len(_events(PlanItem, plan_id=plan.pk)),
    )


@pytest.fixture
def draft(plans, planner):
    """A draft version of plan 13 copied from the approved one, then changed: a row removed, one added,
    the note edited."""
    plan = plan_create(plan_measure=13, copy_from=plans[13], user=planner)
    _as_earlier(plan)
    plan.original_rows = _rows(plan)
    removed = plan.items.order_by("id").first()
    plan.removed_id = removed.pk
    plan_item_delete(item=removed, user=planner)
    plan_item_add(plan=plan, user=planner, measure=removed.measure_id, region_id=removed.region_id, year=2026, count=1)
    Plan.objects.filter(pk=plan.pk).update(note="edited")
    plan.removed = removed
    return plan


def _head(client, plan: Plan) -> str:
    response = client.get(f"/en/tracking/plans/{plan.pk}/")
    assert response.status_code == 200
    return response.context["history"]["head"]


# --- plans -------------------------------------------------------------------------------------------


def test_planner_restores_a_draft_plan_to_an_earlier_version(client, planner, draft):
    client.force_login(planner)
    page = client.get(f"/en/tracking/plans/{draft.pk}/").content.decode()
    assert f"/en/tracking/plans/{draft.pk}/restore/" in page
    created = _events(Plan, pgh_obj_id=draft.pk, pgh_label="insert")[0]
    response = client.post(
        f"/en/tracking/plans/{draft.pk}/restore/", {"event": created.pgh_id, "head": _head(client, draft)}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert (draft.status, draft.note) == (Plan.Status.DRAFT, "")
    assert _rows(draft) == draft.original_rows  # the removed row is back under its number, the added one gone
    # The restore is in the history, with who did it and what it restored.
    newest = _events(Plan, pgh_obj_id=draft.pk)[-1]
    assert newest.note == ""
    assert newest.pgh_context.metadata["user"] == planner.pk
    assert newest.pgh_context.metadata["restored_event"] == f"plan:{created.pgh_id}"
    back = _events(PlanItem, pgh_obj_id=draft.removed_id)[-1]
    assert (back.pgh_label, back.pgh_context.metadata["user"]) == ("insert", planner.pk)
    history = client.get(f"/en/tracking/plans/{draft.pk}/").context["history"]
    assert history["plan_events"][0].who == "planner_t"


@pytest.mark.parametrize("role", ["anonymous", "akimat_a", "akimat_b"])
def test_plan_restore_refused_for_other_roles_and_nothing_changes(client, request, role, draft):
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    created = _events(Plan, pgh_obj_id=draft.pk, pgh_label="insert")[0]
    before = _plan_state(draft)
    for url in (f"/en/tracking/plans/{draft.pk}/restore/", f"/en/tracking/plans/{draft.pk}/rows/restore/"):
        response = client.post(url, {"event": created.pgh_id, "head": "0-0"})
        assert response.status_code in REFUSED
        assert response.status_code != 302 or "login" in response["Location"]
    assert _plan_state(draft) == before


def test_approved_plan_is_frozen(client, planner, plans):
    approved = plans[13]
    first = _events(Plan, pgh_obj_id=approved.pk)[0]
    client.force_login(planner)
    page = client.get(f"/en/tracking/plans/{approved.pk}/")
    assert f"/en/tracking/plans/{approved.pk}/restore/" not in page.content.decode()
    before = _plan_state(approved)
    response = client.post(
        f"/en/tracking/plans/{approved.pk}/restore/",
        {"event": first.pgh_id, "head": page.context["history"]["head"]},
        follow=True,
    )
    assert "frozen" in response.content.decode()
    assert _plan_state(approved) == before


def test_stale_head_refused(client, planner, draft):
    client.force_login(planner)
    head = _head(client, draft)
    Plan.objects.filter(pk=draft.pk).update(note="somebody else")  # a write after the page was read
    created = _events(Plan, pgh_obj_id=draft.pk, pgh_label="insert")[0]
    before = _plan_state(draft)
    response = client.post(
        f"/en/tracking/plans/{draft.pk}/restore/", {"event": created.pgh_id, "head": head}, follow=True
    )
    assert "changed by someone else" in response.content.decode()
    assert _plan_state(draft) == before


def test_malformed_event_number_is_a_400(client, planner, draft):
    client.force_login(planner)
    response = client.post(f"/en/tracking/plans/{draft.pk}/restore/", {"event": "x", "head": _head(client, draft)})
    assert response.status_code == 400


# --- plan rows -----------------------------------------------------------------------------------------


def test_removed_row_restored_into_the_draft(client, planner, draft):
    deleted = _events(PlanItem, pgh_obj_id=draft.removed_id, pgh_label="delete")[0]
    client.force_login(planner)
    page = client.get(f"/en/tracking/plans/{draft.pk}/").content.decode()
    assert f"/en/tracking/plans/{draft.pk}/rows/restore/" in page
    response = client.post(
        f"/en/tracking/plans/{draft.pk}/rows/restore/", {"event": deleted.pgh_id, "head": _head(client, draft)}
    )
    assert response.status_code == 302
    assert _rows(draft)[draft.removed_id] == draft.original_rows[draft.removed_id]
    newest = _events(PlanItem, pgh_obj_id=draft.removed_id)[-1]
    assert newest.pgh_label == "insert"
    assert newest.pgh_context.metadata["restored_event"] == f"planitem:{deleted.pgh_id}"
    assert newest.pgh_context.metadata["user"] == planner.pk


def test_changed_row_restored_and_plan_back_to_draft(client, planner, draft):
    item = draft.items.order_by("id").last()
    original = _events(PlanItem, pgh_obj_id=item.pk)[-1]
    PlanItem.objects.filter(pk=item.pk).update(count=F("count") + 5, places_each=120)
    Plan.objects.filter(pk=draft.pk).update(status=Plan.Status.CHECKED)
    client.force_login(planner)
    response = client.post(
        f"/en/tracking/plans/{draft.pk}/rows/restore/", {"event": original.pgh_id, "head": _head(client, draft)}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.count, item.places_each) == (original.count, original.places_each)
    draft.refresh_from_db()
    assert draft.status == Plan.Status.DRAFT  # to be checked again


def test_row_restore_into_a_taken_cell_refused_nothing_saved(client, planner, draft):
    removed = draft.removed
    deleted = _events(PlanItem, pgh_obj_id=draft.removed_id, pgh_label="delete")[0]
    # Somebody put a new row in the removed row's cell (same measure, region, district and year).
    PlanItem.objects.filter(plan=draft, measure_id=removed.measure_id, region_id=removed.region_id, year=2026).update(
        year=removed.year, district_id=removed.district_id
    )
    client.force_login(planner)
    before = _plan_state(draft)
    response = client.post(
        f"/en/tracking/plans/{draft.pk}/rows/restore/",
        {"event": deleted.pgh_id, "head": _head(client, draft)},
        follow=True,
    )
    assert "already has a row" in response.content.decode()
    assert _plan_state(draft) == before


def test_row_restore_into_an_approved_plan_refused(client, planner, plans):
    approved = plans[12]
    item = approved.items.order_by("id").first()
    event = _events(PlanItem, pgh_obj_id=item.pk)[0]
    client.force_login(planner)
    before = _plan_state(approved)
    response = client.post(
        f"/en/tracking/plans/{approved.pk}/rows/restore/",
        {"event": event.pgh_id, "head": _head(client, approved)},
        follow=True,
    )
    assert "frozen" in response.content.decode()
    assert _plan_state(approved) == before


# --- stage records ---------------------------------------------------------------------------------------


@pytest.fixture
def tracked(plans, region_a):
    """A tracked facility of region a without a land parcel: its stages are entered by hand."""
    return (
        TrackedFacility.objects.filter(facility__region=region_a, facility__parcels__isnull=True)
        .select_related("facility")
        .order_by("id")
        .first()
    )


@pytest.fixture
def corrected_design(tracked, record):
    """Design recorded done on 1 March 2024, then restated (a new record) as 15 March."""
    record(tracked, "parcel", "2024-02-01")
    first = record(tracked, "design", "2024-03-01", doc_number="D-1")
    record(tracked, "design", "2024-03-15", doc_number="D-2", recorded="2024-03-20")
    return first


def _stage_state(tracked: TrackedFacility) -> tuple:
    tracked.refresh_from_db()
    return tracked.version, tracked.design_on, StageRecord.objects.filter(tracked=tracked).count()


def test_akimat_restores_an_earlier_stage_record_as_a_new_record(client, akimat_a, tracked, corrected_design):
    event = _events(StageRecord, pgh_obj_id=corrected_design.pk)[0]
    client.force_login(akimat_a)
    page = client.get(f"/en/tracking/facility/{tracked.pk}/")
    assert f"/en/tracking/facility/{tracked.pk}/stages/restore/" in page.content.decode()
    version, _design_on, count = _stage_state(tracked)
    response = client.post(
        f"/en/tracking/facility/{tracked.pk}/stages/restore/", {"event": event.pgh_id, "version": version}
    )
    assert response.status_code == 302
    assert _stage_state(tracked) == (version + 1, date(2024, 3, 1), count + 1)
    restored = StageRecord.objects.filter(tracked=tracked, stage="design").order_by("-recorded_at", "-id").first()
    assert (restored.actual_date, restored.doc_number, restored.recorded_by) == (date(2024, 3, 1), "D-1", akimat_a)
    today = facility_states_as_of(as_of=date.today(), facility_ids=[tracked.facility_id])[tracked.facility_id]
    assert today.reached["design"] == date(2024, 3, 1)
    # The past stays as it was known: on 1 April 2024 the design was dated 15 March.
    then = facility_states_as_of(as_of=date(2024, 4, 1), facility_ids=[tracked.facility_id])[tracked.facility_id]
    assert then.reached["design"] == date(2024, 3, 15)
    # In the history: the new record, who restored it and from which event.
    newest = _events(StageRecord, tracked_id=tracked.pk)[-1]
    assert newest.pgh_obj_id == restored.pk
    assert newest.pgh_context.metadata["user"] == akimat_a.pk
    assert newest.pgh_context.metadata["restored_event"] == f"stagerecord:{event.pgh_id}"
    history = client.get(f"/en/tracking/facility/{tracked.pk}/").context["record_history"]
    assert (history[0].pgh_obj_id, history[0].who) == (restored.pk, "akimat_a")


@pytest.mark.parametrize("role", ["anonymous", "akimat_b", "planner"])
def test_stage_restore_refused_for_other_region_read_only_and_anonymous(
    client, request, role, tracked, corrected_design
):
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    event = _events(StageRecord, pgh_obj_id=corrected_design.pk)[0]
    before = _stage_state(tracked)
    response = client.post(
        f"/en/tracking/facility/{tracked.pk}/stages/restore/", {"event": event.pgh_id, "version": before[0]}
    )
    assert response.status_code in REFUSED
    assert response.status_code != 302 or "login" in response["Location"]
    assert _stage_state(tracked) == before


def test_stage_restore_with_a_stale_version_saves_nothing(client, akimat_a, tracked, corrected_design):
    event = _events(StageRecord, pgh_obj_id=corrected_design.pk)[0]
    client.force_login(akimat_a)
    before = _stage_state(tracked)
    response = client.post(
        f"/en/tracking/facility/{tracked.pk}/stages/restore/",
        {"event": event.pgh_id, "version": before[0] - 1},
        follow=True,
    )
    assert "changed by someone else" in response.content.decode()
    assert _stage_state(tracked) == before


def test_current_record_is_not_restored_again(client, akimat_a, tracked, corrected_design):
    latest = StageRecord.objects.filter(tracked=tracked, stage="design").order_by("-recorded_at").first()
    event = _events(StageRecord, pgh_obj_id=latest.pk)[-1]
    client.force_login(akimat_a)
    before = _stage_state(tracked)
    response = client.post(
        f"/en/tracking/facility/{tracked.pk}/stages/restore/",
        {"event": event.pgh_id, "version": before[0]},
        follow=True,
    )
    assert "nothing to restore" in response.content.decode()
    assert _stage_state(tracked) == before


def test_parcel_stage_of_a_facility_with_a_parcel_is_not_restored(client, akimat_a, admin_user_role, tracked, record):
    first = record(tracked, "parcel", "2024-02-01", doc_number="P-1")
    record(tracked, "parcel", "2024-02-10", doc_number="P-2", recorded="2024-02-11")
    facility = tracked.facility
    parcel_create(
        user=admin_user_role,
        facility=facility,
        geom=square(facility.location, 150),
        data=base_data(cadastral_number="01-555-555-551"),
    )
    event = _events(StageRecord, pgh_obj_id=first.pk)[0]
    client.force_login(akimat_a)
    page = client.get(f"/en/tracking/facility/{tracked.pk}/")
    assert not any(e.restorable for e in page.context["record_history"] if e.stage == "parcel")
    before = _stage_state(tracked)
    response = client.post(
        f"/en/tracking/facility/{tracked.pk}/stages/restore/",
        {"event": event.pgh_id, "version": before[0]},
        follow=True,
    )
    assert "follows the facility" in response.content.decode()
    assert _stage_state(tracked) == before
