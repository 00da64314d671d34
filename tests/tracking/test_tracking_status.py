"""Status as of past dates: rules, "recorded by" knowledge, corrections that must not rewrite the past."""

from datetime import date

import pytest

from tracking.models import TrackedFacility
from tracking.selectors import facility_stage_reached, facility_states_as_of, facility_statuses_as_of


@pytest.fixture
def m16(plans, region_a):
    """A measure-16 health centre (target: acceptance, deadline 31 May 2025). Astana is not named by 16,
    so take one in Almaty city."""
    return TrackedFacility.objects.filter(facility__measure_id=16, facility__region__kato="750000000").first()


@pytest.fixture
def m17(plans):
    """A measure-17 health centre: target is the state expertise, deadline 31 Dec 2025."""
    return TrackedFacility.objects.filter(facility__measure_id=17).first()


def status(tracked, day, known_at=None):
    return facility_statuses_as_of(
        as_of=date.fromisoformat(day),
        facility_ids=[tracked.facility_id],
        known_at=date.fromisoformat(known_at) if known_at else None,
    )[tracked.facility_id]


def test_timeline_of_an_acceptance_target(m16, record):
    # Deadline 2025-05-31: risk rules start 2024-05-31 (parcel, 12 m), 2024-08-31 (expertise, 9 m),
    # 2024-11-30 (construction started, 6 m).
    assert status(m16, "2024-03-01") == "not_started"
    record(m16, "parcel", "2024-04-10", recorded="2024-04-12")
    assert status(m16, "2024-04-11") == "not_started"  # happened, but recorded only on the 12th
    assert status(m16, "2024-04-12") == "on_track"
    record(m16, "design", "2024-06-20")
    assert status(m16, "2024-08-30") == "on_track"
    assert status(m16, "2024-08-31") == "at_risk"  # no expertise 9 months before the deadline
    record(m16, "expertise", "2024-09-15")
    record(m16, "construction_started", "2024-10-01")
    assert status(m16, "2024-12-01") == "on_track"
    assert status(m16, "2025-05-31") == "on_track"
    assert status(m16, "2025-06-01") == "overdue"
    record(m16, "accepted", "2025-07-20", recorded="2025-07-22")
    assert status(m16, "2025-07-05") == "overdue"  # the report as it stood on 5 July 2025
    assert status(m16, "2025-07-21") == "overdue"  # accepted on the 20th, not yet known on the 21st
    assert status(m16, "2025-07-21", known_at="2025-07-22") == "done_late"
    assert status(m16, "2025-08-01") == "done_late"
    assert facility_stage_reached(as_of=date(2025, 7, 5), facility_ids=[m16.facility_id]) == {
        m16.facility_id: "construction_started"
    }


def test_done_on_time_and_later_correction_does_not_rewrite_the_past(m16, record):
    record(m16, "parcel", "2024-02-01")
    record(m16, "design", "2024-03-01")
    record(m16, "expertise", "2024-05-01")
    record(m16, "construction_started", "2024-06-01")
    record(m16, "accepted", "2025-05-20", recorded="2025-05-25")
    assert status(m16, "2025-07-05") == "done_on_time"
    # In August the akimat corrects the acceptance act's date to 10 June (late).
    record(m16, "accepted", "2025-06-10", recorded="2025-08-15", doc_number="T-accepted-corrected")
    assert status(m16, "2025-07-05") == "done_on_time"  # as it stood on 5 July 2025
    assert status(m16, "2025-09-01") == "done_late"


def test_expertise_target_is_done_at_the_expertise(m17, record):
    assert status(m17, "2025-06-01") == "at_risk"  # no design documentation 6 months before Dec 2025
    record(m17, "parcel", "2024-03-01")
    record(m17, "design", "2025-02-01")
    assert status(m17, "2025-06-01") == "on_track"
    record(m17, "expertise", "2025-11-15")
    assert status(m17, "2026-01-10") == "done_on_time"


def test_a_slipped_planned_stage_is_at_risk(plans, record):
    t = TrackedFacility.objects.filter(facility__measure_id=24).first()  # due Dec 2026
    record(t, "parcel", "2024-03-01")
    record(t, "design", None, recorded="2024-03-05", planned_date=date(2024, 9, 1))
    assert status(t, "2024-09-30") == "on_track"
    state = facility_states_as_of(as_of=date(2024, 10, 5), facility_ids=[t.facility_id])[t.facility_id]
    assert state.status == "at_risk" and state.risks == ["slipped"]


def test_selector_contract_covers_every_planned_facility(plans):
    statuses = facility_statuses_as_of(as_of=date(2025, 7, 5))
    assert len(statuses) == 150
    assert set(statuses.values()) <= {"done_on_time", "done_late", "on_track", "at_risk", "overdue", "not_started"}
    # Nothing recorded: everything due before 5 July 2025 is overdue.
    overdue = {fid for fid, s in statuses.items() if s == "overdue"}
    assert len(overdue) == 2 + 5 + 23 + 10 + 5 + 6  # measures 14, 15, 16, 18, 19, 20
    assert set(facility_stage_reached(as_of=date(2025, 7, 5)).values()) == {"none"}
