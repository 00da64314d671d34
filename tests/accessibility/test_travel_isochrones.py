"""Isochrones of travel-time coverage runs (issue 18 point 4): stored per facility × threshold, nested, served by
the REST and OGC endpoints and downloads, drawn on the analysis map.

The hand-built world of tests/accessibility/test_travel_runs.py (tests/accessibility/conftest.py): H at O, the road
O → A → B → C at 30 km/h, thresholds [t_B, 30] minutes (t_B ≈ 15 min: B reached in exactly the first threshold),
on foot 5 km/h off the network, at most 5 km. A reached in 12 min and B in t_B are within the first threshold; C
(19 min) only within 30; R1 (on the island, 3 km from O: 36 min on foot) and S (8 km from any road) within neither.
"""

from __future__ import annotations

import json
import re

import pytest
import shapely
from django.contrib.gis.geos import GEOSGeometry
from django.db.models import Exists, OuterRef
from pyproj import Geod

from accessibility.models import AnalysisRun, Isochrone, PointResult
from accessibility.notes import note_text
from accessibility.services import analysis_run_execute
from tests.accessibility.travel_world import TRAVEL_CHILDREN, execute_run, travel_params
from tests.clients import problem_fields
from tests.clients import token_client as _client

GEOD = Geod(ellps="WGS84")


@pytest.fixture
def travel_run(world, region_a, network, t_b):
    return execute_run("coverage", travel_params(region_a, network, t_b))


def _covered_by(run, minutes: float, point) -> bool:
    """Whether the union of the run's isochrones of `minutes` covers `point`, in PostGIS."""
    return Isochrone.objects.filter(run=run, minutes=minutes, geom__covers=point).exists()


def test_isochrones_stored_per_facility_and_threshold_nested(world, region_a, network, t_b):
    settlements, health = world
    progress = []
    run = execute_run(
        "coverage", travel_params(region_a, network, t_b), echo=lambda f, text: progress.append((f, text))
    )
    rows = list(Isochrone.objects.filter(run=run).order_by("minutes"))
    assert [(r.facility_id, r.minutes) for r in rows] == [(health.pk, pytest.approx(t_b / 60)), (health.pk, 30.0)]
    small, large = rows
    assert all(r.geom.srid == 4326 and r.geom.geom_type == "MultiPolygon" and r.geom.valid for r in rows)
    # Nested, in PostGIS: the 30-minute polygon covers the first threshold's.
    assert Isochrone.objects.filter(pk=large.pk, geom__covers=small.geom).exists()
    assert large.geom.area > small.geom.area
    # The area in km², measured by PostGIS in an equal-area CRS, agrees with the ellipsoidal area (pyproj).
    for r in rows:
        ellipsoid_m2 = abs(GEOD.geometry_area_perimeter(shapely.from_wkb(bytes(r.geom.wkb)))[0])
        assert r.area_km2 == pytest.approx(ellipsoid_m2 / 1e6, rel=1e-3)
    # The road from O to B is 7.5 km long and reached within t_B: the polygon is at least that long.
    assert small.area_km2 > 0.5

    # A settlement reached within T minutes lies inside the union of the T-minute isochrones; one not reached
    # (R1 on the island, S beyond every road, C at 19 min for the first threshold) lies outside.
    points = {p.settlement.name: p for p in PointResult.objects.filter(run=run).select_related("settlement")}
    assert set(points) == set(TRAVEL_CHILDREN)
    assert small.minutes == pytest.approx(t_b / 60)
    for minutes in (small.minutes, large.minutes):
        for name, p in points.items():
            within = p.travel_time_s is not None and p.travel_time_s <= minutes * 60 + 1e-6
            assert _covered_by(run, minutes, p.settlement.location) == within, (name, minutes)
    assert [n for n, p in points.items() if _covered_by(run, small.minutes, p.settlement.location)] == ["A", "B"]
    assert [n for n, p in points.items() if _covered_by(run, 30.0, p.settlement.location)] == ["A", "B", "C"]
    # Every settlement row's covered flag is the same question asked of the polygons.
    inside = Isochrone.objects.filter(run=run, minutes=small.minutes, geom__covers=OuterRef("settlement__location"))
    assert (
        not PointResult.objects.filter(run=run)
        .annotate(i=Exists(inside))
        .exclude(covered=True, i=True)
        .exclude(covered=False, i=False)
    )

    # Progress and the time it took, in the run's notes.
    assert any(text == "isochrones: facility 1 of 1" for _f, text in progress)
    notes = [note_text(n) for n in run.notes]
    drawn = r"isochrones: 2 polygons \(facilities × thresholds: 1 × 2\) drawn in \d+\.\d s;"
    assert any(re.match(drawn, n) for n in notes)


def test_isochrones_of_two_facilities_and_repeats_replace_them(world, second_centre, region_a, network, places, t_b):
    settlements, health = world
    second = second_centre
    run = execute_run("coverage", travel_params(region_a, network, t_b))
    assert Isochrone.objects.filter(run=run).count() == 4
    assert set(Isochrone.objects.filter(run=run).values_list("facility_id", flat=True)) == {health.pk, second.pk}
    # C is reached at once from K: inside the union of the first threshold's isochrones, though not in H's.
    c = settlements["C"].location
    first = Isochrone.objects.filter(run=run, facility=health).order_by("minutes").first().minutes
    assert (
        _covered_by(run, first, c)
        and not Isochrone.objects.filter(run=run, facility=health, minutes=first, geom__covers=c).exists()
    )
    # Executing the run again (after a failure, say) replaces its isochrones, never adds to them.
    AnalysisRun.objects.filter(pk=run.pk).update(status=AnalysisRun.Status.FAILED)
    analysis_run_execute(run_id=run.pk)
    assert Isochrone.objects.filter(run=run).count() == 4


def test_distance_runs_store_no_isochrones(world, region_a):
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
    assert not Isochrone.objects.filter(run=run).exists()
    assert not any("isochrones" in note_text(n) for n in run.notes)


def test_isochrones_served_by_rest_ogc_and_downloads(
    travel_run, planner, akimat_a, akimat_b, world, django_assert_num_queries
):
    _settlements, health = world
    rows = {r.pk: r for r in Isochrone.objects.filter(run=travel_run)}
    api = _client(planner)
    with django_assert_num_queries(3):  # the token, then the page and its count: none per row
        body = json.loads(api.get("/api/v1/accessibility-isochrones/", {"run": travel_run.pk}).content)
    ogc = json.loads(
        api.get("/ogc/collections/accessibility-isochrones/items", {"run": travel_run.pk, "limit": 100}).content
    )
    for doc in (body, ogc):
        assert {f["id"] for f in doc["features"]} == set(rows)
        for f in doc["features"]:
            row = rows[f["id"]]
            p = f["properties"]
            assert (p["run"], p["facility"], p["name_en"], p["facility_kind"]) == (
                travel_run.pk,
                health.pk,
                "H",
                "health_centre",
            )
            assert p["minutes"] == pytest.approx(row.minutes) and p["area_km2"] == pytest.approx(row.area_km2)
            assert f["geometry"]["type"] == "MultiPolygon"
            got = GEOSGeometry(json.dumps(f["geometry"]), srid=4326)
            assert got.sym_difference(row.geom).area < 1e-6 * row.geom.length
    # Filters: facility, minutes (whole minutes; the first threshold, t_B ≈ 15.0 min, matches 15).
    items = "/ogc/collections/accessibility-isochrones/items"
    assert json.loads(api.get(items, {"run": travel_run.pk, "minutes": 30}).content)["numberMatched"] == 1
    assert json.loads(api.get(items, {"run": travel_run.pk, "minutes": "15,30"}).content)["numberMatched"] == 2
    assert json.loads(api.get(items, {"run": travel_run.pk, "minutes": 45}).content)["numberMatched"] == 0
    assert json.loads(api.get(items, {"facility": health.pk}).content)["numberMatched"] == 2
    assert json.loads(api.get(items, {"facility": health.pk + 1000}).content)["numberMatched"] == 0
    bad = api.get("/api/v1/accessibility-isochrones/", {"minutes": "half"})
    assert bad.status_code == 400 and problem_fields(bad) == ["minutes"]
    # Downloads from the registry: GeoJSON (and CSV) of the same rows.
    download = api.get("/api/v1/accessibility-isochrones/", {"run": travel_run.pk, "format": "geojson"})
    assert download.status_code == 200
    fc = json.loads(b"".join(download.streaming_content) if download.streaming else download.content)
    assert fc["type"] == "FeatureCollection" and {f["id"] for f in fc["features"]} == set(rows)
    csv_text = api.get("/api/v1/accessibility-isochrones/", {"run": travel_run.pk, "format": "csv"})
    assert csv_text.status_code == 200
    # Who reads them: signed-in roles only; an akimat the isochrones of its own region's facilities.
    assert _client().get("/api/v1/accessibility-isochrones/").status_code in (401, 403)
    assert _client().get(items).status_code in (401, 403)
    assert json.loads(_client(akimat_a).get(items, {"run": travel_run.pk}).content)["numberMatched"] == 2
    assert json.loads(_client(akimat_b).get(items, {"run": travel_run.pk}).content)["numberMatched"] == 0


def test_analysis_map_lists_the_isochrone_layer(travel_run, client, planner):
    client.force_login(planner)
    resp = client.get("/en/maps/analysis/", {"run": travel_run.pk})
    html = resp.content.decode()
    assert resp.status_code == 200
    assert "Isochrones (minutes of travel)" in html
    assert '"tooltipFromPopup": true' in html and '"colorBy": "minutes"' in html
    # Largest threshold first (drawn below), its fill the lighter one; the colour keys are the minutes as the
    # browser writes them.
    minutes = re.findall(r'"minutes":\s*([0-9.]+)', html)
    first = travel_run.parameters["travel"]["thresholds_min"][0]
    assert [float(m) for m in minutes[:2]] == [30.0, pytest.approx(first)]
    colours = json.loads(re.search(r'"colors":\s*(\{"[0-9.]+"[^}]*\})', html).group(1))
    assert colours["30"] == "#90caf9" and colours[minutes[1]] == "#0d47a1"
    # The legend names the thresholds as people read them (t_B ≈ 15.000005 min: 15).
    assert "within 15 min" in html and "within 30 min" in html
    # A travel-time run has no radii: no straight-line catchment discs.
    assert "Catchments (rural radius)" not in html
