"""Coverage and the roadmap effect by travel time (issue 18 point 3) on a hand-built road network.

The world, east and north of Astana's centre O (region_a), residential roads at 30 km/h (the default speed
table), the off-network speed 5 km/h on foot, travel.max_snap_m = 5 000 m:

    R1 ---- R2            island: 3 km north of O, 1 km long, joined to nothing (across a river, no bridge)

    O ------------ A ---- B ------ C      the road: O → A 6 km east, A → B 1.5 km, B → C 2 km
    H (health centre, 25 places × 4 shifts = 100 children a year) stands at O.

    S (8 km south of O: no road node or facility within 5 km)

Settlements (children): at A 300 (6 km straight: beyond a 5 km radius, 12 min by road), at B 100 (exactly
the headline threshold: the threshold is set to B's time read from the stored edge costs), at C 40 (19 min:
within 30, not within the headline), at R1 50 (3 km straight, but on the island: walking 3 km takes 36 min,
beyond every threshold), at S 20 (not reachable).

Thresholds [t_B, 30] minutes. Headline: covered 400 (A, B), served 100 (75 / 25 in proportion), over capacity
300, not covered 110 (C 40, R1 50, S 20); within 30 min 440; not reachable 20.
"""

from __future__ import annotations

import csv
import io

import pytest
from rest_framework.test import APIClient

from accessibility import demo
from accessibility.forms import RunForm
from accessibility.models import AnalysisRun, PointResult, ZoneResult
from accessibility.notes import note_text
from accessibility.services import (
    RunParameterError,
    analysis_run_create,
    analysis_run_repeat,
    population_raster_register,
    run_parameters_normalise,
)
from tests.accessibility.run_form import RUN_FORM
from tests.accessibility.travel_world import SPEED, TRAVEL_CHILDREN, WALK, execute_run, stored_seconds, travel_params
from tests.roads.conftest import length_m, seconds


def test_hand_computed_times_agree_with_the_stored_network(network, places, t_b):
    # The stored costs are the geodesic lengths at 30 km/h (pyproj here, PostGIS geography in the loader).
    p = places
    assert t_b == pytest.approx(seconds(length_m(p["O"], p["A"]) + length_m(p["A"], p["B"]), SPEED), abs=1e-3)
    assert t_b == pytest.approx(900.0, abs=1.0)  # 7.5 km at 30 km/h
    assert stored_seconds(network, places, "O", "A") == pytest.approx(720.0, abs=1.0)


def test_coverage_by_travel_time_three_numbers_thresholds_and_rows(world, region_a, network, places, t_b):
    settlements, health = world
    run = execute_run("coverage", travel_params(region_a, network, t_b))
    s = run.summary
    assert s["children_total"] == pytest.approx(510.0)
    assert s["children_served"] == pytest.approx(100.0, abs=1e-6)
    assert s["children_over_capacity"] == pytest.approx(300.0, abs=1e-6)
    assert s["children_not_covered"] == pytest.approx(110.0)
    assert s["covered_within_reach_pct"] == pytest.approx(400 / 510 * 100)
    assert s["headline_minutes"] == pytest.approx(t_b / 60)
    assert [w["children"] for w in s["within_minutes"]] == [pytest.approx(400.0), pytest.approx(440.0)]
    assert [w["minutes"] for w in s["within_minutes"]] == [pytest.approx(t_b / 60), 30]
    assert s["children_not_reachable"] == pytest.approx(20.0)
    assert s["settlements_not_reachable"] == 1
    notes = [note_text(n) for n in run.notes]
    assert (
        "1 settlement with 20 children lies farther than 5000 m from every road and facility: not reachable, "
        "counted as not covered"
    ) in notes
    assert any(
        "travel time on the road network hand travel (source: drawn by the test, dated 2026-06-01" in n for n in notes
    )
    # Stored parameters: no radii; inputs say where the network came from.
    assert "radii" not in run.parameters
    net = run.inputs["travel"]["network"]
    assert (net["name"], net["label"], net["source_description"], net["source_date"]) == (
        "hand travel",
        "summer",
        "drawn by the test",
        "2026-06-01",
    )
    assert run.inputs["travel"]["off_network_kmh"] == WALK

    # Per settlement: seconds to the nearest facility, covered, served, reachable.
    rows = {r.settlement.name: r for r in PointResult.objects.filter(run=run).select_related("settlement")}
    t_a = stored_seconds(network, places, "O", "A")
    t_c = stored_seconds(network, places, "O", "A", "B", "C")
    assert rows["A"].travel_time_s == pytest.approx(t_a, abs=1e-6)
    assert rows["B"].travel_time_s == pytest.approx(t_b, abs=1e-6)
    assert rows["C"].travel_time_s == pytest.approx(t_c, abs=1e-6)
    assert t_c / 60 == pytest.approx(19.0, abs=0.05)
    assert rows["R1"].travel_time_s is None and rows["S"].travel_time_s is None
    assert [rows[n].covered for n in TRAVEL_CHILDREN] == [True, True, False, False, False]
    assert [rows[n].reachable for n in TRAVEL_CHILDREN] == [True, True, True, True, False]
    assert rows["A"].served == pytest.approx(75.0, abs=1e-6)
    assert rows["B"].served == pytest.approx(25.0, abs=1e-6)
    assert rows["C"].served == 0.0 and rows["R1"].served == 0.0
    assert rows["A"].distance_m is None and rows["A"].radius_m is None

    # Zone rows: national = region + outside row; districts add up to the region; per threshold and unreachable.
    nat = ZoneResult.objects.get(run=run, region__isnull=True, district__isnull=True, outside=False)
    reg = ZoneResult.objects.get(run=run, region=region_a, district__isnull=True)
    outside = ZoneResult.objects.get(run=run, outside=True)
    for row in (nat,):
        assert (row.children, row.covered, row.served) == (
            pytest.approx(510.0),
            pytest.approx(400.0),
            pytest.approx(100.0, abs=1e-6),
        )
        assert row.within_minutes == [pytest.approx(400.0), pytest.approx(440.0)]
        assert row.not_reachable == pytest.approx(20.0)
    assert reg.children + outside.children == pytest.approx(510.0)
    assert reg.within_minutes[1] + outside.within_minutes[1] == pytest.approx(440.0)
    districts = ZoneResult.objects.filter(run=run, district__isnull=False)
    assert sum(d.children for d in districts) == pytest.approx(reg.children)
    assert sum(d.within_minutes[0] for d in districts) == pytest.approx(reg.within_minutes[0])
    assert sum(d.not_reachable for d in districts) == pytest.approx(reg.not_reachable)
    for name, settlement in settlements.items():
        district = ZoneResult.objects.filter(run=run, district__geom__contains=settlement.location).first()
        if district is not None:  # a settlement in a district: its children are in that district's row
            assert district.children >= TRAVEL_CHILDREN[name] - 1e-9


def test_distance_run_on_the_same_world_is_unchanged(world, region_a):
    """5 km radii: R1 (3 km, across the river) is covered by distance; A (6 km, 12 min by road) is not."""
    radius = {"urban_m": 5_000, "rural_m": 5_000}
    run = execute_run(
        "coverage",
        {
            "region_ids": [region_a.id],
            "facilities": {"scope": "all", "purpose": "recreation"},
            "radii": {"health_centre": radius, "year_round_health_centre": radius},
            "write_raster": False,
        },
    )
    assert "travel" not in run.parameters and set(run.parameters["radii"]) == {
        "health_centre",
        "year_round_health_centre",
    }
    assert run.summary["covered"] == pytest.approx(50.0)
    assert run.summary["children_served"] == pytest.approx(50.0, abs=1e-6)
    assert "within_minutes" not in run.summary and "travel" not in run.inputs
    rows = {r.settlement.name: r for r in PointResult.objects.filter(run=run).select_related("settlement")}
    assert rows["R1"].covered and not rows["A"].covered
    assert rows["A"].distance_m == pytest.approx(6_000, abs=1.0)
    assert rows["A"].travel_time_s is None and rows["A"].reachable is None
    assert not ZoneResult.objects.filter(run=run, within_minutes__isnull=False).exists()
    assert run.distance_bins.exists()


def test_roadmap_by_travel_time_before_and_after(world, region_a, network, t_b):
    """Before the roadmap (open facilities at 2023-12-31) H is not there; with the plan it is."""
    run = execute_run(
        "roadmap",
        {k: v for k, v in travel_params(region_a, network, t_b).items() if k != "facilities"}
        | {"facilities": {"purpose": "recreation"}},
    )
    before, after = run.summary["before"], run.summary["after"]
    assert before["children_total"] == after["children_total"] == pytest.approx(510.0)
    assert before["children_served"] == pytest.approx(0.0) and before["children_not_covered"] == pytest.approx(510.0)
    assert [w["children"] for w in before["within_minutes"]] == [0.0, 0.0]
    assert after["children_served"] == pytest.approx(100.0, abs=1e-6)
    assert after["children_over_capacity"] == pytest.approx(300.0, abs=1e-6)
    assert after["children_not_covered"] == pytest.approx(110.0)
    assert [w["children"] for w in after["within_minutes"]] == [pytest.approx(400.0), pytest.approx(440.0)]
    assert before["children_not_reachable"] == after["children_not_reachable"] == pytest.approx(20.0)
    b = PointResult.objects.get(run=run, scenario="before", settlement__name="A")
    a = PointResult.objects.get(run=run, scenario="after", settlement__name="A")
    assert (b.travel_time_s, b.covered) == (None, False)
    assert a.covered and a.travel_time_s == pytest.approx(720.0, abs=1.0)
    nat_after = ZoneResult.objects.get(run=run, scenario="after", region__isnull=True, outside=False)
    assert nat_after.within_minutes == [pytest.approx(400.0), pytest.approx(440.0)]
    # 2SFCA by travel time, catchments of the headline t_B: H's 25 places over the 400 children of A and B
    # within it = 62.5 places per 1 000 children each; C, R1 and S have none. Before the roadmap: no places.
    assert after["access_per_1000"] == pytest.approx(400 * 62.5 / 510)
    assert after["children_without_access"] == pytest.approx(110.0)
    assert before["access_per_1000"] == pytest.approx(0.0) and before["children_without_access"] == pytest.approx(510.0)
    assert nat_after.access_per_1000 == pytest.approx(400 * 62.5 / 510) and nat_after.without_access == pytest.approx(
        110.0
    )
    # One zone row per scenario and zone: the 2SFCA pass merged into the coverage pass's rows.
    assert ZoneResult.objects.filter(run=run, scenario="after", region__isnull=True, outside=False).count() == 1
    assert a.access_per_1000 == pytest.approx(62.5) and b.access_per_1000 == pytest.approx(0.0)
    assert PointResult.objects.get(run=run, scenario="after", settlement__name="C").access_per_1000 == 0.0


def test_run_page_and_api_show_minutes_network_and_headline(world, region_a, network, t_b, client, planner):
    run = execute_run("coverage", travel_params(region_a, network, t_b))
    client.force_login(planner)
    html = client.get(f"/en/accessibility/runs/{run.pk}/").content.decode()
    assert 'id="travel-network"' in html and "hand travel" in html and "drawn by the test" in html
    assert "2026-06-01" in html and 'id="travel-thresholds"' in html and "≤ 30 min" in html
    assert "Urban and rural children are reached within the radii of their class." not in html
    assert "Repeat with radii × 2" not in html
    api = APIClient()
    api.force_authenticate(planner)
    body = api.get(f"/api/v1/accessibility/runs/{run.pk}/").json()
    assert body["travel"]["thresholds_min"] == [pytest.approx(t_b / 60), 30]
    assert body["travel"]["network"]["name"] == "hand travel"
    assert body["travel"]["network"]["source_date"] == "2026-06-01"
    assert body["summary"]["children_served"] == pytest.approx(100.0, abs=1e-6)
    assert body["summary"]["children_not_covered"] == pytest.approx(110.0)
    zones = api.get(f"/api/v1/accessibility/runs/{run.pk}/zones/?level=national").json()["results"]
    assert zones[0]["within_minutes"] == [pytest.approx(400.0), pytest.approx(440.0)]
    assert zones[0]["children_not_reachable"] == pytest.approx(20.0)
    assert api.get("/api/v1/accessibility/runs/").json()["results"][0]["travel"]["thresholds_min"][1] == 30
    csv_text = client.get(f"/en/accessibility/runs/{run.pk}/download/settlements.csv").content.decode("utf-8-sig")
    table = {r["name"]: r for r in csv.DictReader(io.StringIO(csv_text))}
    assert float(table["B"]["travel_time_s"]) == pytest.approx(t_b, abs=1e-6)
    assert (table["S"]["travel_time_s"], table["S"]["reachable"]) == ("", "False")


@pytest.mark.parametrize(
    ("travel", "kind", "field", "text"),
    [
        ({"network": 10**9}, "coverage", "travel.network", "no road network"),
        ({"thresholds_min": []}, "coverage", "travel.thresholds_min", "non-empty list"),
        ({"thresholds_min": [15, 15]}, "coverage", "travel.thresholds_min", "repeated"),
        ({"thresholds_min": list(range(1, 10))}, "coverage", "travel.thresholds_min", "at most 8"),
        ({"thresholds_min": [0.5]}, "coverage", "travel.thresholds_min[0]", "outside 1–600"),
        ({"thresholds_min": [601]}, "coverage", "travel.thresholds_min[0]", "outside 1–600"),
        ({"max_snap_m": -1}, "coverage", "travel.max_snap_m", "outside"),
        ({"speed": 5}, "coverage", "travel", "unknown keys speed"),
        ({"decay": "linear"}, "fca", "travel.decay", "must be one of none, gaussian"),
    ],
)
def test_travel_parameters_are_checked_by_name(network, region_a, planner, travel, kind, field, text):
    raw = {"travel": {"network": network.pk, **travel}}
    with pytest.raises(RunParameterError) as exc:
        run_parameters_normalise(kind=kind, raw=raw)
    assert str(exc.value).startswith(f"{field}:") and text in str(exc.value)
    api = APIClient()
    api.force_authenticate(planner)
    response = api.post("/api/v1/accessibility/runs/", {"kind": kind, "parameters": raw}, format="json")
    assert response.status_code == 400
    assert field in response.content.decode()


@pytest.mark.parametrize("run_kind", ["fca", "sites"])
def test_travel_with_a_raster_is_taken_for_2sfca_and_sites(network, region_a, utm_raster, run_kind):
    """Once refused, now computed over a friction grid (test_travel_raster): the parameters keep the travel block."""
    rid = population_raster_register(path=utm_raster, name="r", bands=[1], year=2024, source="test").pk
    params = run_parameters_normalise(
        kind=run_kind,
        raw={
            "demand": {"source": "raster", "raster_id": rid},
            "travel": {"network": network.pk, "decay": "gaussian"},
            "sites": {"kind": "health_centre", "candidates": "grid"},
        },
    )
    assert params["demand"]["source"] == "raster" and params["travel"]["network"] == network.pk
    assert params["travel"].get("decay") == ("gaussian" if run_kind == "fca" else None)


def test_travel_parameters_defaults_and_storage(network):
    params = run_parameters_normalise(kind="coverage", raw={"travel": {"network": network.pk}})
    assert params["travel"] == {"network": network.pk, "thresholds_min": [15, 30, 45, 60], "max_snap_m": 10_000.0}
    assert "radii" not in params
    roadmap = run_parameters_normalise(
        kind="roadmap", raw={"travel": {"network": network.pk, "thresholds_min": [30, 15]}, "radii": {}}
    )
    assert roadmap["travel"]["thresholds_min"] == [30, 15] and "radii" not in roadmap


def test_form_without_a_network_offers_distance_only_and_says_how_to_load(db, client, planner):
    form = RunForm()
    assert [v for v, _label in form.fields["reach"].choices] == ["distance"]
    client.force_login(planner)
    html = client.get("/en/accessibility/").content.decode()
    assert "manage.py load_roads" in html and "Travel time on road network" not in html


def test_form_with_a_network_queues_a_travel_run(network, client, planner, region_a):
    choices = dict(RunForm().fields["reach"].choices)
    label = str(choices[f"network:{network.pk}"])
    assert label == "Travel time on road network hand travel (summer; drawn by the test; 2026-06-01) (minutes)"
    client.force_login(planner)
    data = RUN_FORM | {
        "region": region_a.pk,
        "reach": f"network:{network.pk}",
        "thresholds_min": "30, 15",
        "max_snap_m": 2000,
    }
    resp = client.post("/en/accessibility/", data)
    assert resp.status_code == 302, resp.content.decode()[:2000]
    run = AnalysisRun.objects.get()
    assert run.parameters["travel"] == {"network": network.pk, "thresholds_min": [30, 15], "max_snap_m": 2000}
    assert "radii" not in run.parameters


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"thresholds_min": "15, x"}, "thresholds_min", "numbers separated by commas"),
        ({"thresholds_min": "15, 700"}, "thresholds_min", "1 to 8 thresholds"),
        ({"thresholds_min": "15, 15"}, "thresholds_min", "repeated"),
    ],
)
def test_form_refuses_travel_where_it_does_not_apply(network, change, field, text):
    form = RunForm(data=RUN_FORM | {"reach": f"network:{network.pk}", "thresholds_min": "15, 30"} | change)
    assert not form.is_valid()
    assert any(text in e for e in form.errors[field]), form.errors


def test_repeat_with_radii_is_refused_for_a_travel_run(world, region_a, network, t_b):
    run = analysis_run_create(kind="coverage", parameters=travel_params(region_a, network, t_b), enqueue=False)
    with pytest.raises(RunParameterError, match="^radii_factor: a travel-time run has no radii"):
        analysis_run_repeat(run=run, change={"radii_factor": 2}, enqueue=False)


def test_demo_runs_no_travel_analysis_without_a_network(db, monkeypatch):
    lines = []
    monkeypatch.setattr(demo, "DEMO_RUNS", [])
    runs = demo.demo_runs_create(echo=lines.append)
    assert runs == [] and any("no road network loaded: travel-time runs skipped" in x for x in lines)


def test_demo_runs_travel_coverage_when_a_network_is_loaded(world, network, monkeypatch):
    lines = []
    monkeypatch.setattr(demo, "DEMO_RUNS", [])
    runs = demo.demo_runs_create(echo=lines.append)
    assert [r.parameters["travel"]["network"] for r in runs] == [network.pk, network.pk]
    assert [r.parameters["facilities"]["purpose"] for r in runs] == ["recreation", "education"]
    assert all(r.status == AnalysisRun.Status.DONE for r in runs)
