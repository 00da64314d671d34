"""A facility's page tells its whole story in one timeline (issue 14, item 6): plan item → parcel (act,
map) → each utility link → design → expertise → construction progress (photos) → acceptance →
opening, each with its document, who recorded it and when, and how late it is against the order."""

from __future__ import annotations

from datetime import date, datetime

import pghistory
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from parcels.models import Utility
from parcels.services import link_create, parcel_create, parcel_update
from tests.parcels.conftest import base_data, square
from tracking.models import Plan, TrackedFacility
from tracking.timeline import facility_timeline

AS_OF = date(2025, 6, 1)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
STEPS_WITH_TWO_LINKS = [
    "plan",
    "parcel",
    "link",
    "link",
    "infrastructure",
    "design",
    "expertise",
    "construction_started",
    "construction_progress",
    "accepted",
    "opened",
]


@pytest.fixture(autouse=True)
def english():
    """Labels and URLs are asserted in English."""
    with translation.override("en"):
        yield


def aware(day: str, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(day).replace(hour=hour))


def timeline(tracked, *, as_of=AS_OF, known_at=None):
    """The timeline as of `as_of` with everything recorded up to now (unless `known_at`), by step."""
    result = facility_timeline(
        facility_id=tracked.facility_id, as_of=as_of, known_at=known_at if known_at is not None else timezone.now()
    )
    return result.entries


def by_step(entries) -> dict:
    return {e.step if e.step != "link" else f"link:{e.label}": e for e in entries}


@pytest.fixture
def tracked(plans, region_a):
    """A measure 24 facility in Astana (acceptance target, due 31 Dec 2026), its plan approved on 10 Feb 2024."""
    tracked = TrackedFacility.objects.filter(facility__region=region_a, facility__measure_id=24).order_by("id").first()
    Plan.objects.filter(pk=tracked.plan_item.plan_id).update(approved_at=aware("2024-02-10"))
    return tracked


@pytest.fixture
def idle(plans, region_a):
    """A measure 21 facility in Astana (acceptance target, due 31 Dec 2025) with nothing recorded yet."""
    return TrackedFacility.objects.filter(facility__region=region_a, facility__measure_id=21).order_by("id").first()


@pytest.fixture
def story(tracked, akimat_a, record):
    """The facility's story: act of 15 May 2024, water connected, gas still planned, design, expertise,
    start, two progress updates (one with a photo). Written by akimat_a (pghistory context for parcels)."""
    with pghistory.context(user=akimat_a.pk):
        parcel = parcel_create(
            user=akimat_a,
            facility=tracked.facility,
            geom=square(tracked.facility.location, 200),
            data=base_data(cadastral_number="71-777-777-777", status="allocated"),
        ).obj
        parcel = parcel_update(
            user=akimat_a,
            parcel_id=parcel.pk,
            expected_version=parcel.version,
            data=base_data(
                cadastral_number="71-777-777-777", status="act_issued", act_number="A-77", act_date=date(2024, 5, 15)
            ),
        ).obj
        link_create(
            user=akimat_a,
            parcel=parcel,
            utility=Utility.objects.get(code="water"),
            data={
                "required": True,
                "status": "connected",
                "planned_connection_date": date(2024, 8, 1),
                "actual_connection_date": date(2024, 8, 20),
                "balance_act_number": "BA-1",
                "balance_act_date": date(2024, 8, 22),
            },
        )
        link_create(
            user=akimat_a,
            parcel=parcel,
            utility=Utility.objects.get(code="gas"),
            data={"required": True, "status": "planned", "planned_connection_date": date(2024, 9, 1)},
        )
    doc = SimpleUploadedFile("design.pdf", b"%PDF-1.4 design")
    design = record(tracked, "design", "2024-07-01", user=akimat_a, doc_number="D-1", doc_file=doc)
    record(tracked, "expertise", "2024-10-01", user=akimat_a, doc_number="EX-9", planned_date=date(2024, 9, 15))
    record(tracked, "construction_started", "2024-11-01", user=akimat_a, doc_number="S-3")
    photo = record(
        tracked,
        "construction_progress",
        "2025-03-01",
        user=akimat_a,
        percent=40,
        photo=SimpleUploadedFile("site.png", PNG),
    )
    record(tracked, "construction_progress", "2025-05-01", user=akimat_a, percent=60)
    record(tracked, "accepted", None, recorded="2025-05-02", planned_date=date(2025, 12, 1), user=akimat_a)
    return {"parcel": parcel, "design": design, "photo": photo}


def test_the_whole_story_in_order_with_dates_documents_recorders_and_lateness(tracked, story, akimat_a):
    entries = timeline(tracked)
    assert [e.step for e in entries] == STEPS_WITH_TWO_LINKS
    steps = by_step(entries)

    plan = steps["plan"]
    assert plan.date == date(2024, 2, 10) and plan.deadline == date(2024, 1, 31) and plan.deadline_measure == 13
    assert plan.is_late and plan.late_by_days == 10
    assert plan.link == f"/en/tracking/plans/{tracked.plan_item.plan_id}/"

    parcel = steps["parcel"]
    assert parcel.date == date(2024, 5, 15)
    assert [(d.number, d.date) for d in parcel.documents] == [("A-77", date(2024, 5, 15))]
    # Measure 5: land parcels by the end of Q1 2024.
    assert parcel.deadline == date(2024, 3, 31) and parcel.is_late and parcel.late_by_days == 45
    assert parcel.recorded_by == "akimat_a" and parcel.recorded_at is not None
    assert parcel.parcel.cadastral_number == "71-777-777-777" and parcel.parcel.geom is not None
    assert parcel.parcel.declared_area_ha == base_data()["declared_area_ha"]
    assert parcel.link == f"/en/parcels/{story['parcel'].pk}/"

    links = [e for e in entries if e.step == "link"]
    water = next(e for e in links if e.documents)
    gas = next(e for e in links if not e.documents)
    assert water.date == date(2024, 8, 20) and not water.is_late and water.deadline == date(2025, 12, 31)
    assert [(d.number, d.date) for d in water.documents] == [("BA-1", date(2024, 8, 22))]
    assert water.recorded_by == "akimat_a" and water.detail == "connected"
    assert water.link.endswith(f"/parcels/{story['parcel'].pk}/#link-{story['parcel'].links.get(utility='water').pk}")
    assert gas.date is None and gas.planned == date(2024, 9, 1) and gas.detail == "planned" and not gas.is_late

    infrastructure = steps["infrastructure"]
    assert infrastructure.date is None and infrastructure.planned == date(2024, 9, 1)
    assert "Gas" in infrastructure.detail or "gas" in infrastructure.detail.lower()

    design = steps["design"]
    assert design.date == date(2024, 7, 1) and design.recorded_by == "akimat_a"
    assert design.recorded_at == aware("2024-07-01")
    assert [(d.number, d.date) for d in design.documents] == [("D-1", date(2024, 7, 1))]
    assert design.documents[0].url == f"/en/tracking/files/stage/{story['design'].pk}/"
    assert design.deadline == date(2026, 12, 31) and not design.is_late

    expertise = steps["expertise"]
    assert expertise.date == date(2024, 10, 1) and expertise.planned == date(2024, 9, 15)
    assert expertise.documents[0].number == "EX-9" and expertise.documents[0].url is None

    progress = steps["construction_progress"]
    assert progress.date == date(2025, 3, 1) and progress.percent == 60
    assert [(u.date, u.percent) for u in progress.updates] == [(date(2025, 3, 1), 40), (date(2025, 5, 1), 60)]
    assert [p.photo_url for p in progress.photos] == [f"/en/tracking/files/stage/{story['photo'].pk}/photo/"]

    accepted = steps["accepted"]
    assert accepted.is_target and accepted.date is None and accepted.planned == date(2025, 12, 1)
    assert accepted.deadline == date(2026, 12, 31) and not accepted.is_late
    opened = steps["opened"]
    assert opened.date is None and opened.deadline is None and not opened.is_late


def test_pending_steps_say_how_late_they_are_once_the_deadline_passed(tracked, story):
    steps = by_step(timeline(tracked, as_of=date(2027, 1, 15)))
    assert steps["accepted"].date is None and steps["accepted"].is_late and steps["accepted"].late_by_days == 15
    gas = next(e for e in timeline(tracked, as_of=date(2027, 1, 15)) if e.step == "link" and e.date is None)
    assert gas.is_late and gas.late_by_days == (date(2027, 1, 15) - date(2025, 12, 31)).days
    assert not steps["opened"].is_late  # after the target stage: the order sets no deadline


def test_a_facility_with_nothing_yet_shows_every_step_pending_with_its_deadline(idle):
    entries = timeline(idle)
    assert [e.step for e in entries] == [s for s in STEPS_WITH_TWO_LINKS if s != "link"]
    plan, *stages = entries
    assert plan.date is None  # the demo plan was approved today, after AS_OF
    assert all(e.date is None and not e.documents and e.recorded_by == "" for e in stages)
    steps = by_step(entries)
    assert steps["parcel"].is_late and steps["parcel"].late_by_days == (AS_OF - date(2024, 3, 31)).days
    assert steps["design"].deadline == date(2025, 12, 31) and not steps["design"].is_late
    later = by_step(timeline(idle, as_of=date(2026, 1, 10)))
    assert later["accepted"].is_late and later["accepted"].late_by_days == 10 and later["design"].late_by_days == 10
    assert steps["parcel"].parcel is None and steps["parcel"].link is None


def test_as_known_at_an_earlier_day_later_records_are_not_there(tracked, story):
    entries = timeline(tracked, as_of=date(2024, 12, 1), known_at=date(2024, 12, 1))
    steps = by_step(entries)
    # The parcel and its links were recorded today: unknown then. The records dated by then were known.
    assert steps["parcel"].date is None and not any(e.step == "link" for e in entries)
    assert steps["design"].date == date(2024, 7, 1) and steps["construction_progress"].updates == []


def test_query_count_is_bounded_whatever_the_number_of_records(
    tracked, story, record, akimat_a, django_assert_max_num_queries
):
    with django_assert_max_num_queries(14):
        timeline(tracked)
    for month in range(1, 10):
        record(tracked, "construction_progress", f"2025-0{month}-15", user=akimat_a, percent=60 + month)
    with django_assert_max_num_queries(14):
        entries = timeline(tracked, as_of=date(2025, 12, 1))
    assert len(by_step(entries)["construction_progress"].updates) == 11


def test_page_shows_the_timeline_to_who_may_view_the_region(
    client, tracked, story, akimat_a, akimat_b, planner, django_assert_max_num_queries
):
    url = f"/en/tracking/facility/{tracked.pk}/"
    assert client.get(url).status_code == 302  # anonymous: sign in
    for user in (akimat_a, planner):
        client.force_login(user)
        with django_assert_max_num_queries(25):
            response = client.get(url)
        assert response.status_code == 200
        page = response.content.decode()
        assert 'id="timeline"' in page and 'data-step="link"' in page
        assert "A-77" in page and "BA-1" in page and "D-1" in page and "akimat_a" in page
        assert "45 days late" in page
        assert f"/en/tracking/files/stage/{story['photo'].pk}/photo/" in page
        assert "portal-map" in page  # the parcel's small map
        photo = client.get(f"/en/tracking/files/stage/{story['photo'].pk}/photo/")
        assert photo.status_code == 200 and b"".join(photo.streaming_content) == PNG
    client.force_login(akimat_b)
    assert client.get(url).status_code == 403


def test_page_of_a_facility_with_nothing_yet_renders_pending_steps(client, idle, planner):
    client.force_login(planner)
    page = client.get(f"/en/tracking/facility/{idle.pk}/").content.decode()
    assert page.count('class="step pending') >= 8 and "portal-map" not in page


def test_the_facility_map_page_shows_the_same_timeline_to_viewers_only(client, tracked, story, planner):
    url = f"/en/maps/facility/{tracked.facility_id}/"
    public = client.get(url).content.decode()
    assert 'id="timeline"' not in public and "A-77" not in public and "akimat_a" not in public
    client.force_login(planner)
    page = client.get(url).content.decode()
    assert f"/en/tracking/facility/{tracked.pk}/#timeline" in page
    assert 'id="timeline"' in page and "A-77" in page and "45 days late" in page
