"""Measures 5 (land parcels), 6 (engineering infrastructure), 12 and 13 (consolidated plans), read from
the parcels, links and plans as of a date and as known at a cut-off, against a hand-computed fixture.

The world (no demo plans here; four facilities put in the approved plans by hand):
- A1 (Astana, district d1): land-use act 1 Mar 2024 (by measure 5's deadline, 31 Mar 2024), recorded
  5 Mar 2024; water required, connected 1 Nov 2025 (recorded 3 Nov); gas not required.
- A2 (Astana, another district d2): act 10 Jun 2024 (late), recorded 12 Jun 2024; water required,
  connected 1 Feb 2026 (after measure 6's deadline, 31 Dec 2025), recorded 2 Feb 2026; electricity
  required, under construction.
- B1 (Turkistan region, district d3): act 15 Feb 2024, recorded 20 Feb 2024; water required, connected
  20 Dec 2025 but recorded only on 28 Dec 2025.
- B2 (Turkistan region, another district d4): no parcel.
- Plan 12: v1 approved 10 Feb 2024 (after measure 12's deadline, 31 Jan 2024): 2 objects in Astana,
  3 in Turkistan region; v2 approved 1 Mar 2025 superseding it: 1 in Astana, 4 in Turkistan region.
  No plan 13.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from django.core import mail
from django.utils import timezone, translation

from parcels.models import InfrastructureLink, Parcel, Utility
from parcels.services import link_create, link_update, parcel_create
from tests.parcels.conftest import base_data, square
from tracking.digest import deadline_digest_send
from tracking.models import Plan, PlanItem, Report, TrackedFacility
from tracking.reports import render_csv, report_data_build, report_tables
from tracking.selectors import (
    facility_states_as_of,
    measure5_compliance,
    measure6_compliance,
    measures12_13_plans,
    reminders_for,
)

NEW_YEAR_2026 = date(2026, 1, 1)


def aware(day: str, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(day).replace(hour=hour))


def recorded(model, pk: int, day: str) -> None:
    """Date the latest history event of an object (events of one test transaction share NOW())."""
    latest = model.pgh_event_model.objects.filter(pgh_obj_id=pk).order_by("-pgh_id").first()
    model.pgh_event_model.objects.filter(pk=latest.pk).update(pgh_created_at=aware(day))


def _tracked(facility) -> TrackedFacility:
    return TrackedFacility.objects.create(facility=facility, in_plan=True)


def _parcel(user, facility, *, cadastral: str, act: str, recorded_on: str) -> Parcel:
    parcel = parcel_create(
        user=user,
        facility=facility,
        geom=square(facility.location, 150),
        data=base_data(
            cadastral_number=cadastral,
            status="act_issued",
            act_number=f"A-{cadastral[-3:]}",
            act_date=date.fromisoformat(act),
        ),
    ).obj
    recorded(Parcel, parcel.pk, recorded_on)
    return parcel


def _link(user, parcel, utility: str, *, required: bool = True, status: str = "planned", recorded_on: str):
    data = {"required": required, "status": status if required else "not_required"}
    link = link_create(user=user, parcel=parcel, utility=Utility.objects.get(code=utility), data=data).obj
    recorded(InfrastructureLink, link.pk, recorded_on)
    return link


def _connect(user, link, *, on: str, recorded_on: str) -> None:
    day = date.fromisoformat(on)
    link_update(
        user=user,
        link_id=link.pk,
        expected_version=link.version,
        data={
            "status": "connected",
            "actual_connection_date": day,
            "balance_act_number": f"BA-{link.pk}",
            "balance_act_date": day,
        },
    )
    recorded(InfrastructureLink, link.pk, recorded_on)


def _plan(version: int, *, approved: str, items: dict, regions) -> Plan:
    plan = Plan.objects.create(plan_measure_id=12, version=version, status="draft")
    recorded(Plan, plan.pk, "2024-01-05")
    for region, measure, count in items:
        item = PlanItem.objects.create(plan=plan, measure_id=measure, region=regions[region], year=2025, count=count)
        recorded(PlanItem, item.pk, "2024-01-05")
    Plan.objects.filter(plan_measure_id=12, status="approved").update(status="superseded")
    for old in Plan.objects.filter(plan_measure_id=12, status="superseded"):
        recorded(Plan, old.pk, approved)
    Plan.objects.filter(pk=plan.pk).update(status="approved", approved_at=aware(approved))
    recorded(Plan, plan.pk, approved)
    return plan


@pytest.fixture
def world(db, region_a, region_b, admin_user_role):
    from facilities.models import Facility

    # A world of its own: the session's approved demo plans and their tracked facilities are set aside
    # (inside the test's transaction, so they come back afterwards).
    TrackedFacility.objects.all().delete()
    Plan.objects.all().delete()
    located = Facility.objects.filter(location__isnull=False, district__isnull=False).order_by("id")
    a1 = located.filter(region=region_a).first()
    a2 = located.filter(region=region_a).exclude(district=a1.district).first()
    b1 = located.filter(region=region_b).first()
    b2 = located.filter(region=region_b).exclude(district=b1.district).first()
    assert None not in (a2, b2), "the demo facilities lie in two districts of each region"
    for f in (a1, a2, b1, b2):
        _tracked(f)
    user = admin_user_role
    pa1 = _parcel(user, a1, cadastral="01-501-001-001", act="2024-03-01", recorded_on="2024-03-05")
    water = _link(user, pa1, "water", recorded_on="2024-04-01")
    _connect(user, water, on="2025-11-01", recorded_on="2025-11-03")
    _link(user, pa1, "gas", required=False, recorded_on="2024-04-01")
    pa2 = _parcel(user, a2, cadastral="01-501-001-002", act="2024-06-10", recorded_on="2024-06-12")
    water = _link(user, pa2, "water", recorded_on="2024-07-01")
    _connect(user, water, on="2026-02-01", recorded_on="2026-02-02")
    _link(user, pa2, "electricity", status="under_construction", recorded_on="2024-07-01")
    pb1 = _parcel(user, b1, cadastral="01-501-001-003", act="2024-02-15", recorded_on="2024-02-20")
    water = _link(user, pb1, "water", recorded_on="2024-03-01")
    _connect(user, water, on="2025-12-20", recorded_on="2025-12-28")
    regions = {"a": region_a, "b": region_b}
    _plan(1, approved="2024-02-10", items=[("a", 15, 2), ("b", 16, 3)], regions=regions)
    _plan(2, approved="2025-03-01", items=[("a", 15, 1), ("b", 16, 4)], regions=regions)
    return {"a1": a1, "a2": a2, "b1": b1, "b2": b2}


def m5(**kw) -> dict:
    return {
        (r.region.kato, r.district.kato): (r.total, r.on_time, r.late, r.not_done, r.status)
        for r in measure5_compliance(**kw)
    }


def m6(**kw) -> dict:
    return {
        (r.utility.code, r.region.kato): (r.total, r.on_time, r.late, r.not_done, r.status)
        for r in measure6_compliance(**kw)
    }


def test_measure5_per_region_and_district(world, region_a, region_b):
    d1, d2 = world["a1"].district.kato, world["a2"].district.kato
    d3, d4 = world["b1"].district.kato, world["b2"].district.kato
    assert m5(as_of=NEW_YEAR_2026, known_at=date(2026, 1, 5)) == {
        ("710000000", d1): (1, 1, 0, 0, "done_on_time"),
        ("710000000", d2): (1, 0, 1, 0, "done_late"),
        ("610000000", d3): (1, 1, 0, 0, "done_on_time"),
        ("610000000", d4): (1, 0, 0, 1, "overdue"),  # B2 has no parcel
    }
    # As of 1 April 2024, as known then: A2's act (June) was not there yet.
    assert m5(as_of=date(2024, 4, 1), known_at=date(2024, 4, 1)) == {
        ("710000000", d1): (1, 1, 0, 0, "done_on_time"),
        ("710000000", d2): (1, 0, 0, 1, "overdue"),
        ("610000000", d3): (1, 1, 0, 0, "done_on_time"),
        ("610000000", d4): (1, 0, 0, 1, "overdue"),
    }
    # Before its deadline, a facility without an act is not yet overdue; and B1's act, dated 15 Feb but
    # recorded 20 Feb, is unknown on 16 Feb.
    assert m5(as_of=date(2024, 2, 16), known_at=date(2024, 2, 16)) == {
        ("710000000", d1): (1, 0, 0, 1, "not_started"),
        ("710000000", d2): (1, 0, 0, 1, "not_started"),
        ("610000000", d3): (1, 0, 0, 1, "not_started"),
        ("610000000", d4): (1, 0, 0, 1, "not_started"),
    }
    only_a = m5(as_of=NEW_YEAR_2026, known_at=date(2026, 1, 5), region_ids=[region_a.id])
    assert set(only_a) == {("710000000", d1), ("710000000", d2)}


def test_measure6_per_utility_and_region(world, region_a):
    assert m6(as_of=NEW_YEAR_2026, known_at=date(2026, 1, 5)) == {
        ("water", "710000000"): (2, 1, 0, 1, "overdue"),  # A1 in Nov 2025; A2 not yet
        ("electricity", "710000000"): (1, 0, 0, 1, "overdue"),
        ("water", "610000000"): (1, 1, 0, 0, "done_on_time"),
    }  # gas is not required: not counted
    # Known only up to 25 December, B1's connection (recorded on the 28th) is not there.
    assert m6(as_of=NEW_YEAR_2026, known_at=date(2025, 12, 25))[("water", "610000000")] == (1, 0, 0, 1, "overdue")
    # Two months later A2's water is connected, late.
    assert m6(as_of=date(2026, 3, 1), known_at=date(2026, 3, 1))[("water", "710000000")] == (2, 1, 1, 0, "done_late")
    # As of mid-2025 nothing is overdue yet: under construction is on track, planned not started.
    mid = m6(as_of=date(2025, 7, 1), known_at=date(2025, 7, 1))
    assert mid[("electricity", "710000000")] == (1, 0, 0, 1, "on_track")
    assert mid[("water", "610000000")] == (1, 0, 0, 1, "not_started")
    assert set(m6(as_of=NEW_YEAR_2026, known_at=date(2026, 1, 5), region_ids=[region_a.id])) == {
        ("water", "710000000"),
        ("electricity", "710000000"),
    }


def test_measures_12_13_plan_in_force_as_of(world, region_a, region_b):
    plans, rows = measures12_13_plans(as_of=NEW_YEAR_2026, known_at=date(2026, 1, 5))
    assert (plans[12].version, plans[12].approved_on, plans[12].status) == (2, date(2025, 3, 1), "done_late")
    assert (plans[13].version, plans[13].status) == (None, "overdue")
    got = {(r.plan.plan_measure, r.region.kato): r.objects for r in rows if r.region in (region_a, region_b)}
    assert got == {(12, "710000000"): 1, (12, "610000000"): 4, (13, "710000000"): 0, (13, "610000000"): 0}
    # On 1 Jan 2025 version 1 was in force (superseded only in March 2025).
    plans, rows = measures12_13_plans(as_of=date(2025, 1, 1), known_at=date(2025, 1, 1), region_ids=[region_b.id])
    assert (plans[12].version, plans[12].approved_on) == (1, date(2024, 2, 10))
    assert [(r.plan.plan_measure, r.objects) for r in rows] == [(12, 3), (13, 0)]
    # Before any approval, before the deadline: not started.
    plans, _rows = measures12_13_plans(as_of=date(2024, 1, 15), known_at=date(2024, 1, 15))
    assert (plans[12].version, plans[12].status) == (None, "not_started")


def test_consolidated_report_holds_the_numbers(world):
    data = report_data_build(kind=Report.Kind.CONSOLIDATED, as_of=NEW_YEAR_2026, known_at=date(2026, 1, 5))
    assert data["measure5"]["deadline"] == "2024-03-31"
    total5 = data["measure5"]["total"]
    assert (total5["total"], total5["on_time"], total5["late"], total5["not_done"]) == (4, 2, 1, 1)
    assert all(isinstance(r["total"], int) and isinstance(r["region"]["ru"], str) for r in data["measure5"]["rows"])
    rows6 = {(r["utility"], r["region_kato"]): (r["total"], r["on_time"], r["late"]) for r in data["measure6"]["rows"]}
    assert rows6 == {
        ("water", "710000000"): (2, 1, 0),
        ("electricity", "710000000"): (1, 0, 0),
        ("water", "610000000"): (1, 1, 0),
    }
    assert [(p["measure"], p["version"], p["approved_on"], p["objects"]) for p in data["plans"]["plans"]] == [
        (12, 2, "2025-03-01", 5),
        (13, None, "", 0),
    ]
    summary = {m["number"]: m for m in data["all_measures"]}
    assert sorted(summary) == list(range(1, 27))
    assert (summary[5]["unit"], summary[5]["total"], summary[5]["on_time"], summary[5]["late"]) == (
        "facilities",
        4,
        2,
        1,
    )
    assert (summary[6]["unit"], summary[6]["total"], summary[6]["not_done"], summary[6]["status"]) == (
        "links",
        4,
        2,
        "overdue",
    )
    assert (summary[12]["total"], summary[12]["late"], summary[13]["status"]) == (1, 1, "overdue")
    # The construction measures count the four plan facilities.
    assert sum(summary[n]["total"] for n in range(14, 27)) == 4
    # An earlier date reproduces the earlier numbers.
    early = report_data_build(kind=Report.Kind.CONSOLIDATED, as_of=date(2024, 7, 1), known_at=date(2024, 7, 1))
    total5 = early["measure5"]["total"]
    assert (total5["on_time"], total5["late"], total5["not_done"]) == (2, 1, 1)
    assert [(p["measure"], p["version"]) for p in early["plans"]["plans"]] == [(12, 1), (13, None)]
    # The tables show them (English labels are the msgids).
    tables = report_tables(data, "en")
    m5_rows = tables["Measure 5 — land parcels"][1]
    assert m5_rows[-1][2:6] == [4, 2, 1, 1]
    csv_text = render_csv(data, "en").decode("utf-8-sig")
    assert "Measure 6 — infrastructure" in csv_text and "Measures 12–13 — plans" in csv_text


def test_executor_report_only_for_its_region(world, region_a):
    data = report_data_build(kind=Report.Kind.REGION, as_of=NEW_YEAR_2026, known_at=date(2026, 1, 5), region=region_a)
    assert {r["region_kato"] for r in data["measure5"]["rows"]} == {"710000000"}
    assert (data["measure5"]["total"]["total"], data["measure5"]["total"]["late"]) == (2, 1)
    assert {r["region_kato"] for r in data["measure6"]["rows"]} == {"710000000"}
    assert {r["region_kato"] for r in data["plans"]["rows"]} == {"710000000"}
    assert [(p["measure"], p["objects"]) for p in data["plans"]["plans"]] == [(12, 1), (13, 0)]
    # The akimats' measures only (ЖАО): 2, 5, 6, 10–13 and the construction measures of its facilities.
    assert {m["number"] for m in data["all_measures"]} >= {2, 5, 6, 10, 11, 12, 13}
    assert not {m["number"] for m in data["all_measures"]} & {1, 3, 4, 7, 8, 9}


def test_reminders_and_digest_name_measures_5_and_6(world, region_a, region_b, akimat_a):
    today = date(2025, 12, 1)
    with translation.override("en"):
        own = [str(r.what) for r in reminders_for(region_ids=[region_a.id], is_ministry=False, today=today)]
        everyone = reminders_for(region_ids=None, is_ministry=True, today=today)
        overdue5 = [(r.region, str(r.what)) for r in everyone if str(r.what).startswith("measure 5 overdue")]
    assert "measure 6 is due: 2 of 3 required utility links not connected" in own
    assert not any("measure 5" in w for w in own)  # Astana's two facilities have their acts
    assert overdue5 == [(region_b, "measure 5 overdue since 2024-03-31: 1 of 2 facilities without a land-use act")]
    akimat_a.email = "a5@example.kz"
    akimat_a.save()
    deadline_digest_send(today=today, days=60, language="en")
    body = next(m.body for m in mail.outbox if m.to == ["a5@example.kz"])
    assert "2025-12-31  measure 6 is due: 2 of 3 required utility links not connected" in body


def test_states_feed_the_selectors_without_recomputing(world):
    states = facility_states_as_of(as_of=NEW_YEAR_2026, known_at=date(2026, 1, 5))
    assert m5(as_of=NEW_YEAR_2026, states=states) == m5(as_of=NEW_YEAR_2026, known_at=date(2026, 1, 5))


def _cells(html: str) -> list[list[str]]:
    """The rows of every table of a page, as lists of cell texts."""
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)]
        rows.append(cells)
    return rows


def test_measures_page_and_dashboard_show_them(world, client, planner, akimat_a, region_b):
    client.force_login(planner)
    query = "?as_of=2026-01-01&known_at=2026-01-05"
    rows = _cells(client.get(f"/en/tracking/measures/{query}").content.decode())
    assert ["5", "facilities", "4", "2", "1", "1", "overdue"] in rows
    assert ["6", "required utility links", "4", "2", "0", "2", "overdue"] in rows
    assert ["12", "consolidated plan", "1", "0", "1", "0", "done late"] in rows
    b2 = world["b2"]
    assert [region_b.name_en, b2.district.name_en, "1", "0", "0", "1", "overdue"] in rows
    assert ["Electricity", "Astana city", "1", "0", "0", "1", "overdue"] in rows
    assert ["12", region_b.name_en, "2", "2025-03-01", "4"] in rows
    dashboard = _cells(client.get(f"/en/tracking/{query}").content.decode())
    assert ["5", "facilities", "4", "2", "1", "1", "overdue"] in dashboard
    # An akimat sees its own region only.
    client.force_login(akimat_a)
    rows = _cells(client.get(f"/en/tracking/measures/{query}").content.decode())
    assert ["5", "facilities", "2", "1", "1", "0", "done late"] in rows
    assert not any(region_b.name_en in row for row in rows)


def test_snapshots_frozen_before_these_measures_still_render(world):
    data = report_data_build(kind=Report.Kind.CONSOLIDATED, as_of=NEW_YEAR_2026, known_at=date(2026, 1, 5))
    for key in ("measure5", "measure6", "plans", "all_measures"):
        del data[key]
    tables = report_tables(data, "en")
    assert "Construction measures" in tables and "Measure 5 — land parcels" not in tables
    assert render_csv(data, "en")
