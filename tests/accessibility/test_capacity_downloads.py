"""The capacity figures in every download of a run: zones.csv, settlements.csv and districts.geojson, cell by cell
against rows written directly (tests/accessibility/conftest.py capacity_run)."""

from __future__ import annotations

import csv
import io
import json

import pytest

pytestmark = pytest.mark.django_db


def _csv(client, run, what: str) -> list[dict]:
    resp = client.get(f"/en/accessibility/runs/{run.pk}/download/{what}.csv")
    assert resp.status_code == 200 and resp["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(resp.content.decode())))


def _by_zone(rows: list[dict]) -> dict[tuple, dict]:
    return {(r["level"], r["region_kato"], r["district_kato"]): r for r in rows}


def test_zones_csv_has_the_three_numbers_and_the_outside_row(client, planner, capacity_run, region_a, region_b):
    client.force_login(planner)
    rows = _csv(client, capacity_run, "zones")
    assert len(rows) == 7
    zones = _by_zone(rows)
    national = zones[("national", "", "")]
    outside = zones[("outside", "", "")]
    region_a_row = zones[("region", region_a.kato, "")]
    assert [national[k] for k in ("children", "children_served", "children_over_capacity", "children_not_covered")] == [
        "3620.0",
        "655.5",
        "1764.5",
        "1200.0",
    ]
    assert [outside[k] for k in ("children", "children_served", "children_over_capacity", "children_not_covered")] == [
        "120.0",
        "5.0",
        "15.0",
        "100.0",
    ]
    assert [region_a_row[k] for k in ("children_served", "children_over_capacity", "children_not_covered")] == [
        "400.0",
        "500.0",
        "600.0",
    ]
    assert region_a_row["covered"] == "900.0" and region_a_row["uncovered"] == "600.0"
    # The national row is the sum of the region rows and the outside row, in every figure.
    shown = [r for r in rows if r["level"] in ("region", "outside")]
    for key in ("children", "children_served", "children_over_capacity", "children_not_covered", "covered"):
        assert sum(float(r[key]) for r in shown) == float(national[key]), key
    # Each region is the sum of its districts.
    districts_a = [r for r in rows if r["level"] == "district" and r["region_kato"] == region_a.kato]
    for key in ("children", "children_served", "children_over_capacity", "children_not_covered"):
        assert sum(float(r[key]) for r in districts_a) == float(region_a_row[key]), key
    # The three numbers add up to the children on every row.
    for r in rows:
        parts = float(r["children_served"]) + float(r["children_over_capacity"]) + float(r["children_not_covered"])
        assert parts == float(r["children"])


def test_zones_csv_of_a_run_without_capacity_leaves_the_cells_empty(client, planner, uncomputed_run):
    client.force_login(planner)
    rows = _csv(client, uncomputed_run, "zones")
    national = _by_zone(rows)[("national", "", "")]
    assert national["children_served"] == "" and national["children_over_capacity"] == ""
    # What is known stays: children within reach and not covered.
    assert national["covered"] == "2420.0" and national["children_not_covered"] == "1200.0"


def test_zones_csv_of_an_akimat_user_has_its_region_only(client, akimat_a, capacity_run, region_a):
    client.force_login(akimat_a)
    rows = _csv(client, capacity_run, "zones")
    assert {r["level"] for r in rows} == {"region", "district"}
    assert {r["region_kato"] for r in rows} == {region_a.kato}


def test_settlements_csv_holds_what_was_stored(client, planner, capacity_run, astana_settlements):
    client.force_login(planner)
    rows = {r["name"]: r for r in _csv(client, capacity_run, "settlements")}
    keys = ("children", "distance_m", "covered", "served", "urban", "radius_m")
    assert [rows["T1"][k] for k in keys] == ["300.0", "1000.5", "True", "120.25", "False", "15000.0"]
    # Nothing stored → empty cells, never a 0.
    assert [rows["T2"][k] for k in keys] == ["100.0", "", "", "", "", ""]
    assert [rows["T3"][k] for k in keys] == ["400.0", "4000.0", "True", "0.0", "False", "15000.0"]
    assert [rows["T4"][k] for k in keys] == ["70.0", "40000.0", "False", "0.0", "True", "5000.0"]


def test_settlements_csv_of_an_akimat_user_has_its_region_only(client, akimat_b, capacity_run):
    client.force_login(akimat_b)
    assert _csv(client, capacity_run, "settlements") == []


def test_districts_geojson_has_the_three_numbers(client, planner, capacity_run, capacity_districts):
    client.force_login(planner)
    resp = client.get(f"/en/accessibility/runs/{capacity_run.pk}/download/districts.geojson")
    assert resp.status_code == 200
    features = {f["properties"]["kato"]: f["properties"] for f in json.loads(resp.content)["features"]}
    a1 = features[capacity_districts["a1"].kato]
    assert (a1["children"], a1["children_served"], a1["children_over_capacity"], a1["children_not_covered"]) == (
        1000.0,
        300.0,
        500.0,
        200.0,
    )
    b1 = features[capacity_districts["b1"].kato]
    assert (b1["children_served"], b1["children_over_capacity"], b1["children_not_covered"]) == (250.5, 1249.5, 500.0)
    # A district without a row of the run has no figures (null), not 0.
    others = [p for kato, p in features.items() if kato not in {d.kato for d in capacity_districts.values()}]
    assert others and all(p["children_served"] is None and p["children_not_covered"] is None for p in others)


def test_districts_geojson_of_a_run_without_capacity_has_null_served(
    client, planner, uncomputed_run, capacity_districts
):
    client.force_login(planner)
    resp = client.get(f"/en/accessibility/runs/{uncomputed_run.pk}/download/districts.geojson")
    a1 = {f["properties"]["kato"]: f["properties"] for f in json.loads(resp.content)["features"]}[
        capacity_districts["a1"].kato
    ]
    assert a1["children_served"] is None and a1["children_over_capacity"] is None
    assert a1["children_not_covered"] == 200.0 and a1["covered"] == 800.0


def _ogc_items(client, collection_id: str, **params) -> list[dict]:
    resp = client.get(f"/ogc/collections/{collection_id}/items", {"limit": 1000, **params})
    assert resp.status_code == 200, resp.content
    return [f["properties"] for f in json.loads(resp.content)["features"]]


def test_ogc_zone_and_region_items_have_the_three_numbers(client, planner, capacity_run, capacity_districts, region_b):
    client.force_login(planner)
    zones = {p["district"]: p for p in _ogc_items(client, "accessibility-zones", run=capacity_run.pk)}
    a2 = zones[capacity_districts["a2"].kato]
    assert (a2["children_served"], a2["children_over_capacity"], a2["children_not_covered"]) == (100.0, 0.0, 400.0)
    regions = {p["region"]: p for p in _ogc_items(client, "accessibility-regions", run=capacity_run.pk)}
    b = regions[region_b.kato]
    assert (b["children_served"], b["children_over_capacity"], b["children_not_covered"]) == (250.5, 1249.5, 500.0)


def test_ogc_settlement_items_hold_what_was_stored(client, planner, capacity_run):
    client.force_login(planner)
    items = {p["name"]: p for p in _ogc_items(client, "accessibility-settlements", run=capacity_run.pk)}
    assert (items["T1"]["served"], items["T1"]["urban"], items["T1"]["radius_m"]) == (120.25, False, 15000.0)
    assert (items["T2"]["served"], items["T2"]["urban"], items["T2"]["radius_m"]) == (None, None, None)
