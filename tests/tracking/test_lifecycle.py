"""One source for each fact: a facility's parcel decides its "land parcel allocated" and "engineering
infrastructure" stages (tracking/lifecycle.py), as of any date and as known at any time."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from django.contrib.gis.geos import LineString
from django.utils import timezone

from parcels.models import InfrastructureLink, Parcel, Utility
from parcels.services import link_create, link_update, parcel_create, parcel_revoke, parcel_update
from tests.clients import token_client
from tests.parcels.conftest import base_data, square
from tracking import lifecycle
from tracking.models import StageRecord, TrackedFacility
from tracking.selectors import facility_states_as_of
from tracking.services import TrackingError, stage_disagreement_review

ACT = date(2024, 3, 1)


def aware(day: str, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(day).replace(hour=hour))


def recorded(model, pk: int, when: datetime) -> None:
    """Date the latest history event of an object: events in one test transaction share NOW()."""
    latest = model.pgh_event_model.objects.filter(pgh_obj_id=pk).order_by("-pgh_id").first()
    model.pgh_event_model.objects.filter(pk=latest.pk).update(pgh_created_at=when)


@pytest.fixture
def tracked(plans, region_a):
    """A tracked facility of measure 24 (acceptance target, due Dec 2026) in Astana, with no parcel."""
    tracked = TrackedFacility.objects.filter(facility__region=region_a, facility__measure_id=24).first()
    assert not Parcel.objects.filter(facility=tracked.facility).exists()
    return tracked


@pytest.fixture
def allocated(tracked, admin_user_role):
    """An allocated parcel (no act yet) of the facility, recorded on 1 Feb 2024."""
    parcel = parcel_create(
        user=admin_user_role,
        facility=tracked.facility,
        geom=square(tracked.facility.location, 150),
        data=base_data(cadastral_number="01-777-777-777", status="allocated"),
    ).obj
    recorded(Parcel, parcel.pk, aware("2024-02-01"))
    return parcel


def state(tracked, *, as_of=None, known_at=None):
    as_of = as_of or timezone.localdate()
    return facility_states_as_of(as_of=as_of, known_at=known_at or timezone.now(), facility_ids=[tracked.facility_id])[
        tracked.facility_id
    ]


def issue_act(parcel, user, *, act_date=ACT, when: datetime | None = None) -> Parcel:
    """Issue the parcel's act, recorded at `when` (default 5 March 2024)."""
    data = base_data(
        cadastral_number=parcel.cadastral_number, status="act_issued", act_number="A-77", act_date=act_date
    )
    parcel = parcel_update(user=user, parcel_id=parcel.pk, expected_version=parcel.version, data=data).obj
    recorded(Parcel, parcel.pk, when or aware("2024-03-05"))
    return parcel


def test_recording_the_act_moves_the_stage_and_revoking_moves_it_back(tracked, allocated, admin_user_role):
    assert "parcel" not in state(tracked).reached
    parcel = issue_act(allocated, admin_user_role)
    now = state(tracked)
    assert now.reached["parcel"] == ACT and now.stage_reached == "parcel"
    assert now.parcel.act_number == "A-77" and now.parcel.parcel_id == parcel.pk
    parcel_revoke(user=admin_user_role, parcel_id=parcel.pk, expected_version=parcel.version, reason="wrong plot")
    recorded(Parcel, parcel.pk, aware("2024-06-01"))
    assert "parcel" not in state(tracked).reached
    # As of spring 2024, as known then, the act was in force: the past view is unchanged.
    spring = state(tracked, as_of=date(2024, 4, 1), known_at=date(2024, 4, 1))
    assert spring.reached["parcel"] == ACT
    # Before the act was recorded, nobody knew of it.
    before = state(tracked, as_of=date(2024, 4, 1), known_at=date(2024, 3, 2))
    assert "parcel" not in before.reached


def test_infrastructure_is_reached_when_every_required_link_is_connected(tracked, allocated, admin_user_role):
    parcel = issue_act(allocated, admin_user_role)
    assert "infrastructure" not in state(tracked).reached  # no link recorded: needs not assessed yet
    c = parcel.geom.centroid
    route = LineString((c.x - 0.004, c.y), (c.x, c.y), srid=4326)
    water = link_create(
        user=admin_user_role,
        parcel=parcel,
        utility=Utility.objects.get(code="water"),
        data={"required": True, "status": "planned", "planned_connection_date": date(2024, 9, 1)},
        route=route,
    ).obj
    gas = link_create(
        user=admin_user_role,
        parcel=parcel,
        utility=Utility.objects.get(code="gas"),
        data={"required": False, "status": "not_required"},
    ).obj
    now = state(tracked)
    assert "infrastructure" not in now.reached and now.planned["infrastructure"] == date(2024, 9, 1)
    assert now.parcel.required_open == ["water"]
    link_update(
        user=admin_user_role,
        link_id=water.pk,
        expected_version=water.version,
        data={
            "status": "connected",
            "actual_connection_date": date(2024, 8, 20),
            "balance_act_number": "BA-1",
            "balance_act_date": date(2024, 8, 22),
        },
    )
    done = state(tracked)
    assert done.reached["infrastructure"] == date(2024, 8, 20)
    assert [(a.utility, a.number) for a in done.parcel.balance_acts] == [("water", "BA-1")]
    assert gas.status == "not_required"


def test_nothing_required_means_infrastructure_on_the_act_date(tracked, allocated, admin_user_role):
    parcel = issue_act(allocated, admin_user_role)
    link_create(
        user=admin_user_role,
        parcel=parcel,
        utility=Utility.objects.get(code="gas"),
        data={"required": False, "status": "not_required"},
    )
    assert state(tracked).reached["infrastructure"] == ACT


def test_the_two_stages_cannot_be_entered_by_hand_where_a_parcel_exists(tracked, allocated, record):
    for stage in ("parcel", "infrastructure"):
        with pytest.raises(TrackingError) as exc:
            record(tracked, stage, "2024-03-01")
        assert "parcel page" in exc.value.problems["stage"][0]
    assert not StageRecord.objects.filter(tracked=tracked).exists()


def test_without_a_parcel_the_hand_entry_counts_and_a_parcel_then_supersedes_it(tracked, record, admin_user_role):
    record(tracked, "parcel", "2024-02-10", recorded="2024-02-12")
    assert state(tracked).reached["parcel"] == date(2024, 2, 10)
    parcel = parcel_create(
        user=admin_user_role,
        facility=tracked.facility,
        geom=square(tracked.facility.location, 150),
        data=base_data(cadastral_number="01-777-777-778", status="act_issued", act_number="A-1", act_date=ACT),
    ).obj
    recorded(Parcel, parcel.pk, aware("2024-03-05"))
    assert state(tracked).reached["parcel"] == ACT  # the parcel decides now
    # As known before the parcel was recorded, the hand entry stood.
    assert state(tracked, as_of=date(2024, 3, 1), known_at=date(2024, 3, 1)).reached["parcel"] == date(2024, 2, 10)


def test_disagreements_are_listed_for_the_planner_and_can_be_reviewed(
    tracked, record, admin_user_role, planner, client
):
    record(tracked, "parcel", "2024-02-10", recorded="2024-02-12")
    parcel_create(
        user=admin_user_role,
        facility=tracked.facility,
        geom=square(tracked.facility.location, 150),
        data=base_data(cadastral_number="01-777-777-779", status="act_issued", act_number="A-2", act_date=ACT),
    )
    # What the migration does to the records entered before the parcel existed.
    StageRecord.objects.filter(tracked=tracked, stage="parcel").update(superseded_by_parcel=True)
    client.force_login(planner)
    page = client.get("/en/tracking/disagreements/").content.decode()
    assert tracked.facility.name_en in page and "2024-02-10" in page and ACT.isoformat() in page
    record_id = StageRecord.objects.get(tracked=tracked, stage="parcel").pk
    assert stage_disagreement_review(user=planner, record_id=record_id) == 1
    page = client.get("/en/tracking/disagreements/").content.decode()
    assert tracked.facility.name_en not in page


def test_the_public_stage_follows_the_parcel_and_the_etag_changes(tracked, allocated, admin_user_role):
    api = token_client()
    url = f"/api/v1/facilities/{tracked.facility_id}/"
    before = api.get(url)
    assert json.loads(before.content)["properties"]["stage"] is None
    issue_act(allocated, admin_user_role, when=timezone.now())
    after = api.get(url, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and json.loads(after.content)["properties"]["stage"] == "parcel"
    listed = json.loads(api.get("/api/v1/facilities/", {"stage": "parcel", "limit": 1000}).content)
    assert tracked.facility_id in {f["id"] for f in listed["features"]}
    # A planner's tracking API says the same.
    body = token_client(admin_user_role).get(f"/api/v1/tracking/facilities/{tracked.facility_id}/").json()
    assert body["stages"]["parcel"] == ACT.isoformat()


def test_links_of_a_revoked_parcel_do_not_count(tracked, allocated, admin_user_role):
    parcel = issue_act(allocated, admin_user_role)
    link_create(
        user=admin_user_role,
        parcel=parcel,
        utility=Utility.objects.get(code="gas"),
        data={"required": False, "status": "not_required"},
    )
    parcel = Parcel.objects.get(pk=parcel.pk)
    parcel_revoke(user=admin_user_role, parcel_id=parcel.pk, expected_version=parcel.version, reason="x")
    now = state(tracked)
    assert not {"parcel", "infrastructure"} & set(now.reached)
    assert now.parcel is not None and now.parcel.parcel_id is None
    assert InfrastructureLink.objects.filter(parcel=parcel).exists()
    assert lifecycle.facility_has_parcel(facility_id=tracked.facility_id)
