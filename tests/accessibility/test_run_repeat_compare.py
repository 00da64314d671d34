"""Sensitivity in one glance (issue 17, item 6): a run repeated with one input changed, and the two compared.

The repeats are real runs on the small Astana world (tests/conftest.py), executed synchronously; the
comparison is checked on hand-made zone rows whose numbers are known exactly.
"""

from __future__ import annotations

import copy

import pytest
from rest_framework.test import APIClient

from accessibility.comparison import parameters_diff, run_comparison
from accessibility.models import AnalysisRun, ZoneResult
from accessibility.services import (
    RunParameterError,
    analysis_run_create,
    analysis_run_execute,
    analysis_run_repeat,
    population_raster_register,
    run_parameters_normalise,
)

BASE = "/api/v1/accessibility"


def _done(kind: str = "coverage", **params) -> AnalysisRun:
    run = analysis_run_execute(run_id=analysis_run_create(kind=kind, parameters=params, enqueue=False).pk)
    assert run.status == AnalysisRun.Status.DONE, run.error
    return run


@pytest.fixture
def settlement_run(astana_settlements, region_a):
    # Creative objects (art schools among them) serve these children: the radii stored are theirs.
    return _done(region_ids=[region_a.id], facilities={"scope": "all", "purpose": "education"})


def test_repeat_with_radii_halved_changes_only_the_radii(settlement_run, planner):
    repeat = analysis_run_repeat(run=settlement_run, change={"radii_factor": 0.5}, user=planner, enqueue=False)
    assert repeat.repeat_of == settlement_run and repeat.kind == settlement_run.kind
    assert repeat.created_by == planner and repeat.status == AnalysisRun.Status.QUEUED
    differing = parameters_diff(settlement_run.parameters, repeat.parameters)
    radii = settlement_run.parameters["radii"]
    assert {d["name"] for d in differing} == {f"radii.{code}.{end}" for code in radii for end in ("urban_m", "rural_m")}
    for d in differing:
        assert d["b"] == pytest.approx(d["a"] * 0.5)
    assert analysis_run_execute(run_id=repeat.pk).status == AnalysisRun.Status.DONE
    assert list(settlement_run.repeats.all()) == [repeat]


def test_repeat_with_typed_radii_or_threshold(settlement_run):
    repeat = analysis_run_repeat(run=settlement_run, change={"radii": {"urban_m": 2_500}}, enqueue=False)
    for code, r in repeat.parameters["radii"].items():
        assert r == {"urban_m": 2_500, "rural_m": settlement_run.parameters["radii"][code]["rural_m"]}
    threshold = analysis_run_repeat(run=settlement_run, change={"urban_min_population": 5_000}, enqueue=False)
    assert parameters_diff(settlement_run.parameters, threshold.parameters) == [
        {"name": "demand.urban_min_population", "a": 10_000, "b": 5_000}
    ]


def test_repeat_swaps_the_demand_source_both_ways(settlement_run, utm_raster):
    older = population_raster_register(path=utm_raster, name="older", bands=[1], year=2023, source="test")
    latest = population_raster_register(path=utm_raster, name="latest", bands=[1], year=2024, source="test")
    # The latest registered raster counting the same children, unless one is chosen.
    on_raster = analysis_run_repeat(run=settlement_run, change={"demand_source": "raster"}, enqueue=False)
    assert on_raster.raster == latest and on_raster.repeat_of == settlement_run
    # Only the demand block differs (each source stores the parameters it reads, nothing else), and a coverage
    # run on a raster writes its distance raster.
    assert parameters_diff(settlement_run.parameters, on_raster.parameters) == [
        {"name": "demand.default_child_share", "a": 0.32, "b": None},
        {"name": "demand.indicator", "a": "children_0_17", "b": None},
        {"name": "demand.raster_id", "a": None, "b": latest.pk},
        {"name": "demand.scale_to_official", "a": None, "b": False},
        {"name": "demand.source", "a": "settlements", "b": "raster"},
        {"name": "write_raster", "a": None, "b": True},
    ]
    chosen = analysis_run_repeat(
        run=settlement_run, change={"demand_source": "raster", "raster_id": older.pk}, enqueue=False
    )
    assert chosen.parameters["demand"]["raster_id"] == older.pk
    on_raster = analysis_run_execute(run_id=on_raster.pk)
    assert on_raster.status == AnalysisRun.Status.DONE, on_raster.error
    back = analysis_run_repeat(run=on_raster, change={"demand_source": "settlements"}, enqueue=False)
    assert back.raster is None and back.repeat_of == on_raster
    assert back.parameters == settlement_run.parameters


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"demand_source": "raster"}, "demand_source: no population raster counting children_0_17 is registered"),
        ({"demand_source": "settlements"}, "demand_source: the run already counts the children of settlements"),
        ({"demand_source": "raster", "raster_id": 999_999}, "raster_id: no population raster 999999"),
        ({"demand_source": "moon"}, "demand_source: must be 'settlements' or 'raster'"),
        ({}, "change: give exactly one of"),
        ({"radii_factor": 2, "urban_min_population": 5}, "change: give exactly one of"),
        ({"colour": "red"}, "change: unknown colour"),
        ({"radii_factor": "far"}, "radii_factor: 'far' is not a number"),
        ({"radii_factor": 1}, "radii_factor: 1 changes nothing"),
        ({"radii_factor": 50}, "radii_factor: 50 is outside 0.1–10"),
        ({"radii": {"urban_m": 0}}, "radii.urban_m: 0 is outside 1–500000"),
        ({"radii": {"walking_m": 10}}, "radii: must be an object with urban_m and/or rural_m"),
        ({"radii_factor": 2, "raster_id": 1}, "raster_id: only with demand_source 'raster'"),
        ({"urban_min_population": 10_000}, "urban_min_population: the run already uses this value"),
    ],
)
def test_a_bad_repeat_names_its_problem_and_stores_nothing(settlement_run, change, message):
    before = AnalysisRun.objects.count()
    with pytest.raises(RunParameterError) as caught:
        analysis_run_repeat(run=settlement_run, change=change, enqueue=False)
    assert str(caught.value).startswith(message), str(caught.value)
    assert AnalysisRun.objects.count() == before


# --- the comparison, on hand-made rows -----------------------------------------------------------------------


@pytest.fixture
def compared(db, region_a, region_b):
    """Run a with the capacity numbers; run b, its repeat with radii × 2, made before capacity was counted
    (old summary keys, no `served`): 1 000 children in Astana (600), Turkistan (300) and outside (100)."""
    params = run_parameters_normalise(kind="coverage", raw={"facilities": {"purpose": "education"}})
    doubled = copy.deepcopy(params)
    doubled["radii"]["art_school"] = {"urban_m": 6_000, "rural_m": 30_000}
    done = {"status": AnalysisRun.Status.DONE, "kind": "coverage"}
    a = AnalysisRun.objects.create(
        **done,
        parameters=params,
        summary={
            "children_total": 1000.0,
            "children_served": 300.0,
            "children_over_capacity": 500.0,
            "children_not_covered": 200.0,
            "covered_within_reach_pct": 80.0,
            "served_pct": 30.0,
            "children": 1000.0,
            "covered": 800.0,
            "covered_pct": 80.0,
        },
    )
    b = AnalysisRun.objects.create(
        **done, parameters=doubled, repeat_of=a, summary={"children": 1000.0, "covered": 900.0, "covered_pct": 90.0}
    )
    # (zone, children, covered = within reach, served); None: the national row.
    rows_a = [(region_a, 600, 500, 200), (region_b, 300, 250, 100), ("outside", 100, 50, 0), (None, 1000, 800, 300)]
    rows_b = [
        (region_a, 600, 580, None),
        (region_b, 300, 270, None),
        ("outside", 100, 50, None),
        (None, 1000, 900, None),
    ]
    for run, rows in ((a, rows_a), (b, rows_b)):
        for zone, children, covered, served in rows:
            ZoneResult.objects.create(
                run=run,
                region=zone if zone not in (None, "outside") else None,
                outside=zone == "outside",
                children=children,
                covered=covered,
                served=served,
            )
    return a, b


def _numbers(pairs) -> dict:
    return {p["key"]: (p["a"], p["b"], p["difference"]) for p in pairs}


def test_comparison_gives_differing_parameters_headline_and_regions(compared, planner, region_a, region_b):
    a, b = compared
    found = run_comparison(user=planner, a=a, b=b)
    assert found["parameters"] == [
        {"name": "radii.art_school.rural_m", "a": 15_000, "b": 30_000},
        {"name": "radii.art_school.urban_m", "a": 3_000, "b": 6_000},
    ]
    (current,) = found["scenarios"]
    assert _numbers(current["headline"]) == {
        "children_total": (1000.0, 1000.0, 0.0),
        "children_served": (300.0, None, None),  # b did not compute it
        "children_over_capacity": (500.0, None, None),
        "children_not_covered": (200.0, 100.0, -100.0),
        "children_within_reach": (800.0, 900.0, 100.0),
        "covered_within_reach_pct": (80.0, 90.0, 10.0),
        "served_pct": (30.0, None, None),
    }
    zones = current["zones"]
    # Regions by KATO code (Turkistan 61…, Astana 71…), then outside every district, then the national total.
    assert [(z["region"], z["outside"], z["national"]) for z in zones] == [
        (region_b, False, False),
        (region_a, False, False),
        (None, True, False),
        (None, False, True),
    ]
    astana = _numbers(zones[1]["numbers"])
    assert astana["children"] == (600.0, 600.0, 0.0)
    assert astana["served"] == (200.0, None, None)
    assert astana["over_capacity"] == (300.0, None, None)
    assert astana["not_covered"] == (100.0, 20.0, -80.0)
    assert astana["within_reach"] == (500.0, 580.0, 80.0)
    assert astana["within_reach_pct"][2] == pytest.approx(100 * 580 / 600 - 100 * 500 / 600)
    # The national row is the regions plus the outside row, in both runs.
    national = _numbers(zones[3]["numbers"])
    assert national["within_reach"] == (800.0, 900.0, 100.0)
    assert sum(_numbers(z["numbers"])["within_reach"][1] for z in zones[:3]) == 900.0


def test_comparison_page_shows_both_runs(client, compared, planner, akimat_b):
    a, b = compared
    url = f"/en/accessibility/runs/{a.pk}/compare/{b.pk}/"
    client.force_login(planner)
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "radii.art_school.urban_m" in html and "radii.art_school.rural_m" in html
    assert "demand.source" not in html  # only the parameters that differ
    for text in ("Astana", "Outside every district", "Kazakhstan", "not computed", "+100", "-100", "80.0", "90.0"):
        assert text in html, text
    assert "children within reach (whatever the capacity)" in html
    # Both run pages link to it.
    for pk in (a.pk, b.pk):
        assert url in client.get(f"/en/accessibility/runs/{pk}/").content.decode()
    # An akimat user of another region sees the headline but not Astana's row, nor the national one.
    client.force_login(akimat_b)
    html = client.get(url).content.decode()
    assert "Turkistan" in html and "Astana" not in html and "Outside every district" not in html


def test_comparison_page_refuses_anonymous_and_unknown_runs(client, compared, planner):
    a, b = compared
    anonymous = client.get(f"/en/accessibility/runs/{a.pk}/compare/{b.pk}/")
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    client.force_login(planner)
    assert client.get(f"/en/accessibility/runs/{a.pk}/compare/{b.pk + 1000}/").status_code == 404


def test_repeat_buttons_queue_a_linked_run(client, settlement_run, planner, akimat_a):
    url = f"/en/accessibility/runs/{settlement_run.pk}/repeat/"
    client.force_login(planner)
    detail = client.get(f"/en/accessibility/runs/{settlement_run.pk}/").content.decode()
    assert url in detail and 'value="radii_factor"' in detail and 'value="demand_source"' in detail
    response = client.post(url, {"change": "radii_factor", "radii_factor": "2"})
    repeat = AnalysisRun.objects.get(repeat_of=settlement_run)
    assert response.status_code == 302 and response["Location"].endswith(f"/runs/{repeat.pk}/")
    assert repeat.task_id  # queued like a new run
    assert {d["name"].split(".")[0] for d in parameters_diff(settlement_run.parameters, repeat.parameters)} == {"radii"}
    # No raster registered: the page says so and nothing is queued.
    response = client.post(url, {"change": "demand_source", "demand_source": "raster"}, follow=True)
    assert "no population raster counting children_0_17 is registered" in response.content.decode()
    assert AnalysisRun.objects.filter(repeat_of=settlement_run).count() == 1
    # A value that is not a number: one message naming the field.
    html = client.post(url, {"change": "radii_factor", "radii_factor": "abc"}, follow=True).content.decode()
    assert html.count('class="message"') == 1 and "Every radius ×: Enter a number." in html
    assert AnalysisRun.objects.filter(repeat_of=settlement_run).count() == 1
    # Akimat users read runs but do not run analyses; anonymous users are sent to sign in.
    client.force_login(akimat_a)
    assert client.post(url, {"change": "radii_factor", "radii_factor": "2"}).status_code == 403
    client.logout()
    assert client.post(url, {"change": "radii_factor", "radii_factor": "2"}).status_code == 302
    assert AnalysisRun.objects.filter(repeat_of=settlement_run).count() == 1


def test_repeat_and_compare_api(settlement_run, compared, planner, akimat_a, akimat_b):
    api = APIClient()
    api.force_authenticate(planner)
    response = api.post(f"{BASE}/runs/{settlement_run.pk}/repeat/", {"radii_factor": 0.5}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["repeat_of"] == settlement_run.pk and body["status"] == "queued"
    assert body["parameters"]["radii"]["art_school"] == {"urban_m": 1_500, "rural_m": 7_500}
    bad = api.post(f"{BASE}/runs/{settlement_run.pk}/repeat/", {"radii_factor": "far"}, format="json")
    assert bad.status_code == 400 and "radii_factor: 'far' is not a number" in bad.content.decode()
    none = api.post(f"{BASE}/runs/{settlement_run.pk}/repeat/", {"demand_source": "raster"}, format="json")
    assert none.status_code == 400 and "no population raster" in none.content.decode()
    a, b = compared
    found = api.get(f"{BASE}/runs/{a.pk}/compare/{b.pk}/").json()
    assert found["a"]["id"] == a.pk and found["b"]["repeat_of"] == a.pk
    assert [p["name"] for p in found["parameters"]] == ["radii.art_school.rural_m", "radii.art_school.urban_m"]
    headline = {n["key"]: n for n in found["scenarios"][0]["headline"]}
    assert headline["children_not_covered"] == {"key": "children_not_covered", "a": 200, "b": 100, "difference": -100}
    assert headline["children_served"]["b"] is None
    assert [z["region_kato"] for z in found["scenarios"][0]["zones"]] == ["610000000", "710000000", None, None]
    # Akimat users: no repeat; the comparison with their region's rows only. Anonymous: 401.
    akimat = APIClient()
    akimat.force_authenticate(akimat_a)
    refused = akimat.post(f"{BASE}/runs/{settlement_run.pk}/repeat/", {"radii_factor": 2}, format="json")
    assert refused.status_code == 403
    akimat.force_authenticate(akimat_b)
    zones = akimat.get(f"{BASE}/runs/{a.pk}/compare/{b.pk}/").json()["scenarios"][0]["zones"]
    assert [z["region_kato"] for z in zones] == ["610000000"]
    assert APIClient().get(f"{BASE}/runs/{a.pk}/compare/{b.pk}/").status_code == 401
    assert APIClient().post(f"{BASE}/runs/{a.pk}/repeat/", {"radii_factor": 2}, format="json").status_code == 401
    assert AnalysisRun.objects.filter(repeat_of=settlement_run).count() == 1
