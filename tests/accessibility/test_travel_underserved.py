"""Underserved areas by travel time (issue 18 point 3) on the hand-built world of tests/accessibility/travel_world.py.

Thresholds [t_B, 30] min, max_snap_m 5 000 m, hexagons of 500 m circumradius (at most 1 km across: every
settlement, at least 1.5 km from the next, lies in its own). Within reach by travel time (≤ t_B, the first
threshold): A (12 min) and B (exactly t_B). Not within reach: C 40 (19 min), R1 50 (3 km straight from H but on
the island: no road to it), S 20 (not reachable: no road node or facility within 5 km). Hand-ranked hexagons:
R1's (50), C's (40), S's (20); 110 uncovered children in all, A's and B's hexagons have none and are not kept.

By distance, 5 km radii, the same world: R1 (3 km) is covered; A (6 km), B, C and S are not: hexagons A 300,
B 100, C 40, S 20, and none holds R1.
"""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from accessibility.forms import RunForm
from accessibility.models import AnalysisRun, AreaResult, PointResult
from accessibility.notes import note_text
from accessibility.services import population_raster_register, run_parameters_normalise
from tests.accessibility.run_form import RUN_FORM
from tests.accessibility.travel_world import execute_run, travel_params

HEX = {"hex_size_m": 500, "top": 50}


def _hexagon_of(areas, settlement) -> AreaResult | None:
    found = [a for a in areas if a.geom.contains(settlement.location)]
    assert len(found) <= 1
    return found[0] if found else None


def test_underserved_by_travel_time_ranks_the_island_first(world, region_a, network, t_b):
    settlements, _health = world
    run = execute_run("underserved", travel_params(region_a, network, t_b, underserved=HEX))
    assert run.parameters["travel"] == {
        "network": network.pk,
        "thresholds_min": [pytest.approx(t_b / 60), 30],
        "max_snap_m": 5_000,
    }
    assert "radii" not in run.parameters
    areas = list(AreaResult.objects.filter(run=run).order_by("rank"))
    assert [(a.rank, a.uncovered, a.children) for a in areas] == [
        (1, pytest.approx(50.0), pytest.approx(50.0)),
        (2, pytest.approx(40.0), pytest.approx(40.0)),
        (3, pytest.approx(20.0), pytest.approx(20.0)),
    ]
    assert _hexagon_of(areas, settlements["R1"]) == areas[0]
    assert _hexagon_of(areas, settlements["C"]) == areas[1]
    assert _hexagon_of(areas, settlements["S"]) == areas[2]
    assert _hexagon_of(areas, settlements["A"]) is None and _hexagon_of(areas, settlements["B"]) is None
    assert all(a.region_id == region_a.id for a in areas)

    # The three-number headline and the minutes, as for coverage by travel time.
    s = run.summary
    assert (s["children_total"], s["children_served"], s["children_over_capacity"], s["children_not_covered"]) == (
        pytest.approx(510.0),
        pytest.approx(100.0, abs=1e-6),
        pytest.approx(300.0, abs=1e-6),
        pytest.approx(110.0),
    )
    assert sum(a.uncovered for a in areas) == pytest.approx(s["children_not_covered"])
    assert [w["children"] for w in s["within_minutes"]] == [pytest.approx(400.0), pytest.approx(440.0)]
    assert (s["children_not_reachable"], s["settlements_not_reachable"]) == (pytest.approx(20.0), 1)
    assert (s["hexagons_with_children"], s["kept"]) == (5, 3)

    # B, reached in exactly the first threshold, is within reach; S is not reachable and said so.
    rows = {r.settlement.name: r for r in PointResult.objects.filter(run=run).select_related("settlement")}
    assert rows["B"].covered and not rows["R1"].covered and not rows["S"].reachable
    notes = [note_text(n) for n in run.notes]
    assert (
        "1 settlement with 20 children lies farther than 5000 m from every road and facility: not reachable, "
        "counted as not covered"
    ) in notes
    minutes = f"{t_b / 60:g}"
    assert (
        f"uncovered children: those not reaching a facility within {minutes} min on the road network, including "
        "those of settlements not reachable from it"
    ) in notes
    assert (
        "hexagons of 500 m circumradius in an equal-area projection; the 3 with the most uncovered children are kept"
    ) in notes
    assert any("travel time on the road network hand travel (source: drawn by the test" in n for n in notes)
    assert run.inputs["travel"]["network"]["name"] == "hand travel"


def test_distance_underserved_counts_the_island_covered(world, region_a):
    """R1, 3 km from H across the river, is covered by a 5 km radius: no hexagon of the distance run holds it."""
    settlements, _health = world
    radius = {"urban_m": 5_000, "rural_m": 5_000}
    run = execute_run(
        "underserved",
        {
            "region_ids": [region_a.id],
            "facilities": {"scope": "all", "purpose": "recreation"},
            "radii": {"health_centre": radius, "year_round_health_centre": radius},
            "underserved": HEX,
        },
    )
    areas = list(AreaResult.objects.filter(run=run).order_by("rank"))
    assert [a.uncovered for a in areas] == [
        pytest.approx(300.0),
        pytest.approx(100.0),
        pytest.approx(40.0),
        pytest.approx(20.0),
    ]
    assert _hexagon_of(areas, settlements["R1"]) is None
    assert _hexagon_of(areas, settlements["A"]) == areas[0]
    assert run.summary["covered"] == pytest.approx(50.0)


def test_travel_underserved_page_map_downloads_and_api(world, region_a, network, t_b, client, planner):
    run = execute_run("underserved", travel_params(region_a, network, t_b, underserved=HEX))
    client.force_login(planner)
    html = client.get(f"/en/accessibility/runs/{run.pk}/").content.decode()
    assert 'id="areas"' in html and 'id="travel-network"' in html and "hand travel" in html
    assert f"/en/accessibility/runs/{run.pk}/download/areas.geojson" in html
    fc = json.loads(client.get(f"/en/accessibility/runs/{run.pk}/download/areas.geojson").content)
    ranked = sorted(fc["features"], key=lambda f: f["properties"]["rank"])
    assert [f["properties"]["uncovered"] for f in ranked] == [
        pytest.approx(50.0),
        pytest.approx(40.0),
        pytest.approx(20.0),
    ]
    assert "Underserved areas" in client.get("/en/maps/analysis/").content.decode()
    api = APIClient()
    api.force_authenticate(planner)
    body = api.get(f"/api/v1/accessibility/runs/{run.pk}/").json()
    assert body["travel"]["network"]["name"] == "hand travel"
    assert body["summary"]["children_not_covered"] == pytest.approx(110.0)
    raw = travel_params(region_a, network, t_b, underserved=HEX)
    response = api.post("/api/v1/accessibility/runs/", {"kind": "underserved", "parameters": raw}, format="json")
    assert response.status_code == 201, response.content.decode()
    assert AnalysisRun.objects.get(pk=response.json()["id"]).parameters["travel"]["max_snap_m"] == 5_000


def test_underserved_takes_travel_with_settlements_or_a_raster(network, region_a, planner, utm_raster):
    params = run_parameters_normalise(kind="underserved", raw={"travel": {"network": network.pk, "decay": "gaussian"}})
    assert params["travel"] == {"network": network.pk, "thresholds_min": [15, 30, 45, 60], "max_snap_m": 10_000.0}
    assert "radii" not in params and params["underserved"] == {"hex_size_m": 5_000.0, "top": 200}
    rid = population_raster_register(path=utm_raster, name="r", bands=[1], year=2024, source="test").pk
    raw = {"demand": {"source": "raster", "raster_id": rid}, "travel": {"network": network.pk}}
    # With a raster, time is accumulated over a friction grid (tests/accessibility/test_travel_raster.py).
    assert run_parameters_normalise(kind="underserved", raw=raw)["travel"]["network"] == network.pk
    api = APIClient()
    api.force_authenticate(planner)
    response = api.post("/api/v1/accessibility/runs/", {"kind": "underserved", "parameters": raw}, format="json")
    assert response.status_code == 201, response.content.decode()


def test_form_offers_travel_for_underserved(network, client, planner, region_a):
    form = RunForm(
        data=RUN_FORM | {"kind": "underserved", "reach": f"network:{network.pk}", "thresholds_min": "20, 40"}
    )
    assert form.is_valid(), form.errors
    assert "come later" not in str(RunForm().fields["reach"].help_text)
    raster = RunForm(
        data=RUN_FORM | {"kind": "underserved", "demand_source": "raster", "reach": f"network:{network.pk}"}
    )
    assert not raster.is_valid()
    assert "reach" not in raster.errors, raster.errors  # the raster itself is missing, travel is fine
    client.force_login(planner)
    data = RUN_FORM | {
        "kind": "underserved",
        "region": region_a.pk,
        "reach": f"network:{network.pk}",
        "thresholds_min": "20, 40",
        "max_snap_m": 3000,
        "hex_size_m": 2000,
    }
    resp = client.post("/en/accessibility/", data)
    assert resp.status_code == 302, resp.content.decode()[:2000]
    run = AnalysisRun.objects.get()
    assert run.kind == "underserved"
    assert run.parameters["travel"] == {"network": network.pk, "thresholds_min": [20, 40], "max_snap_m": 3000}
    assert run.parameters["underserved"]["hex_size_m"] == 2000 and "radii" not in run.parameters
