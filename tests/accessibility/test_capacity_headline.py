"""Capacity first (issue 17): served, within reach but over capacity, and not covered, computed by hand.

The world: three settlements east of Astana's centre at 1 km (300 children), 2 km (100) and 10 km (50);
every radius is 2 km. A health centre (recreation, 25 places × 4 shifts = 100 children a year) and an
art school (education, 150 places × 1 shift) stand at 1.5 km; one more of each stands 60 km out and
reaches nobody. The facilities of the demo data are moved out of the way (no location) so that the
numbers are exactly the fixture's.

Recreation: within reach 400 (the first two), served 100 (the health centre's capacity), split 75/25 in
proportion to the children; over capacity 300; not covered 50. Education: served 150 (112.5/37.5), over
capacity 250, not covered 50.
"""

import csv
import io

import pytest
from django.contrib.gis.geos import Point
from pyproj import Geod
from rest_framework.test import APIClient

from accessibility.models import AnalysisRun, PointResult, ZoneResult
from accessibility.notes import note_text
from accessibility.services import analysis_run_create, analysis_run_execute, population_raster_register
from accessibility.services.errors import RunParameterError
from facilities.models import Facility, FacilityKind, Measure
from layers.models import District, Settlement
from tests.conftest import official_children_figure

GEOD = Geod(ellps="WGS84")
SOURCE = "test settlements (capacity headline)"
RADIUS = {"urban_m": 2_000, "rural_m": 2_000}


def _east(region, metres):
    lon, lat, _ = GEOD.fwd(region.centre.x, region.centre.y, 90, metres)
    return lon, lat


@pytest.fixture
def world(db, region_a):
    Settlement.objects.filter(region=region_a).delete()
    Facility.objects.update(location=None)  # the demo facilities do not count here
    FacilityKind.objects.filter(code="health_centre").update(shifts_per_year=4, shifts_assumed=True)
    FacilityKind.objects.filter(code="art_school").update(shifts_per_year=1, shifts_assumed=False)
    settlements = []
    for i, (metres, children) in enumerate([(1_000, 300), (2_000, 100), (10_000, 50)], start=1):
        lon, lat = _east(region_a, metres)
        settlements.append(
            Settlement.objects.create(
                name=f"C{i}",
                population=children * 3,
                child_population=children,
                region=region_a,
                source=SOURCE,
                source_id=str(i),
                location=f"SRID=4326;POINT({lon} {lat})",
            )
        )

    def facility(code, measure, places, metres, name):
        lon, lat = _east(region_a, metres)
        return Facility.objects.create(
            kind_id=code,
            measure=Measure.objects.get(number=measure),
            region=region_a,
            name_kk=name,
            name_ru=name,
            name_en=name,
            places=places,
            planned_year=2025,
            location=Point(lon, lat, srid=4326),
        )

    facilities = {
        "health": facility("health_centre", 15, 25, 1_500, "Health near"),
        "art": facility("art_school", 20, 150, 1_500, "Art near"),
        "health_far": facility("health_centre", 15, 10, 60_000, "Health far"),
        "art_far": facility("art_school", 20, 5, 60_000, "Art far"),
    }
    districts = [District.objects.get(geom__contains=s.location) for s in settlements]
    return settlements, facilities, districts


def _run(region, purpose):
    params = {
        "region_ids": [region.id],
        "facilities": {"scope": "all", "purpose": purpose},
        "radii": {k: RADIUS for k in ("health_centre", "year_round_health_centre", "art_school")}
        | {"innovative_creative_centre": RADIUS},
        "write_raster": False,
    }
    run = analysis_run_execute(run_id=analysis_run_create(kind="coverage", parameters=params, enqueue=False).pk)
    assert run.status == AnalysisRun.Status.DONE, run.error
    return run


@pytest.mark.parametrize(
    ("purpose", "capacity", "reaching_nobody", "shifts_note"),
    [("recreation", 100.0, ("health_far", 10), True), ("education", 150.0, ("art_far", 5), False)],
)
def test_three_numbers_exact_per_purpose(world, region_a, planner, purpose, capacity, reaching_nobody, shifts_note):
    settlements, facilities, districts = world
    run = _run(region_a, purpose)
    children = [300.0, 100.0, 50.0]
    served_pt = [capacity * 300 / 400, capacity * 100 / 400, 0.0]
    covered_pt = [300.0, 100.0, 0.0]

    s = run.summary
    assert s["children_total"] == pytest.approx(450.0)
    assert s["children_served"] == pytest.approx(capacity, abs=1e-6)
    assert s["children_over_capacity"] == pytest.approx(400.0 - capacity, abs=1e-6)
    assert s["children_not_covered"] == pytest.approx(50.0)
    assert s["children_served"] + s["children_over_capacity"] + s["children_not_covered"] == pytest.approx(450.0)
    assert s["covered_within_reach_pct"] == pytest.approx(400 / 450 * 100)
    assert s["served_pct"] == pytest.approx(capacity / 450 * 100, abs=1e-6)
    assert s["covered"] == pytest.approx(400.0) and s["children"] == pytest.approx(450.0)  # old keys kept
    # The facility reaching nobody is listed with its places and not counted as capacity.
    far = facilities[reaching_nobody[0]]
    assert s["facilities_reaching_nobody"] == [
        {"id": far.pk, "name": far.name_en, "kind": far.kind_id, "places": reaching_nobody[1]}
    ]
    assert s["capacity_total"] == pytest.approx(capacity)
    notes = [note_text(n) for n in run.notes]
    assert f"1 facility with {reaching_nobody[1]} places reaches no child: listed, not counted as capacity" in notes
    assert any("shifts figure of health_centre is assumed" in n for n in notes) is shifts_note

    # National, region and district rows: the three numbers per zone, adding up.
    nat = ZoneResult.objects.get(run=run, region__isnull=True, district__isnull=True, outside=False)
    reg = ZoneResult.objects.get(run=run, region=region_a, district__isnull=True)
    for row in (nat, reg):
        assert (row.children, row.covered) == (pytest.approx(450.0), pytest.approx(400.0))
        assert row.served == pytest.approx(capacity, abs=1e-6)
        assert row.over_capacity == pytest.approx(400.0 - capacity, abs=1e-6)
    for d in set(districts):
        mine = [i for i, x in enumerate(districts) if x == d]
        row = ZoneResult.objects.get(run=run, district=d)
        assert row.children == pytest.approx(sum(children[i] for i in mine))
        assert row.covered == pytest.approx(sum(covered_pt[i] for i in mine))
        assert row.served == pytest.approx(sum(served_pt[i] for i in mine), abs=1e-6)
        assert row.served + row.over_capacity + row.not_covered == pytest.approx(row.children)
    for st, expected in zip(settlements, served_pt, strict=True):
        assert PointResult.objects.get(run=run, settlement=st).served == pytest.approx(expected, abs=1e-6)

    # The zones API returns the same three numbers.
    client = APIClient()
    client.force_authenticate(user=planner)
    body = client.get(f"/api/v1/accessibility/runs/{run.pk}/zones/?level=all").json()
    api_nat = next(r for r in body["results"] if r["region_kato"] is None and r["district_kato"] is None)
    assert api_nat["children_served"] == pytest.approx(capacity, abs=1e-6)
    assert api_nat["children_over_capacity"] == pytest.approx(400.0 - capacity, abs=1e-6)
    assert api_nat["children_not_covered"] == pytest.approx(50.0)


def test_kinds_outside_the_purpose_and_unknown_purposes_are_refused(world, region_a):
    with pytest.raises(RunParameterError, match="do not serve the purpose 'recreation'"):
        analysis_run_create(
            kind="coverage",
            parameters={"region_ids": [region_a.id], "facilities": {"purpose": "recreation", "kinds": ["art_school"]}},
            enqueue=False,
        )
    with pytest.raises(RunParameterError, match="facilities.purpose"):
        analysis_run_create(kind="coverage", parameters={"facilities": {"purpose": "sport"}}, enqueue=False)


def test_best_sites_take_the_purpose_of_their_kind_and_refuse_another(world, region_a):
    run = analysis_run_create(
        kind="sites", parameters={"region_ids": [region_a.id], "sites": {"kind": "health_centre"}}, enqueue=False
    )
    assert run.parameters["facilities"]["purpose"] == "recreation"
    with pytest.raises(RunParameterError, match="sites.kind: 'art_school' does not serve the purpose 'recreation'"):
        analysis_run_create(
            kind="sites",
            parameters={"facilities": {"purpose": "recreation"}, "sites": {"kind": "art_school"}},
            enqueue=False,
        )


def test_one_kind_as_the_purpose(world, region_a):
    run = _run(region_a, "art_school")
    assert run.summary["children_served"] == pytest.approx(150.0, abs=1e-6)
    assert run.inputs["facilities"]["kinds"] == ["art_school"]


def test_raster_served_is_solved_on_the_scaled_children(world, region_a, utm_raster):
    """Capacity meets children, not raster units: the flow runs after the scaling to the official total.

    The raster holds 10 children a cell (≈ 50 cells within 2 km of the health centre: ≈ 500 raw children);
    the official figure scales it about 100-fold, so ≈ 50 000 children are within reach of 1 000 places ×
    4 shifts = 4 000: exactly 4 000 served. Solved on raw units the answer would be ≈ 500 × 100.
    """
    _settlements, facilities, _districts = world
    Facility.objects.filter(pk=facilities["health"].pk).update(places=1_000)
    raster = population_raster_register(path=utm_raster, name="Astana UTM", bands=[1], year=2024, source="test")
    official_children_figure(region_a, value=400_000)
    params = {
        "region_ids": [region_a.id],
        "facilities": {"scope": "all", "purpose": "recreation"},
        "radii": {"health_centre": RADIUS},
        "demand": {"source": "raster", "raster_id": raster.pk, "scale_to_official": True, "year": 2024},
        "write_raster": False,
    }
    run = analysis_run_execute(run_id=analysis_run_create(kind="coverage", parameters=params, enqueue=False).pk)
    assert run.status == AnalysisRun.Status.DONE, run.error
    reg = ZoneResult.objects.get(run=run, region=region_a, district__isnull=True)
    assert reg.covered / reg.scale_factor < 4_000 < reg.covered  # binding only once scaled
    assert reg.served == pytest.approx(4_000.0, abs=1e-6)
    s = run.summary
    assert s["children_served"] == pytest.approx(4_000.0, abs=1e-6)
    assert s["children_served"] + s["children_over_capacity"] + s["children_not_covered"] == pytest.approx(
        s["children_total"]
    )
    districts = ZoneResult.objects.filter(run=run, district__isnull=False)
    assert sum(d.served for d in districts) == pytest.approx(4_000.0, abs=1e-6)
    assert all(d.served <= d.covered * (1 + 1e-9) for d in districts)


def test_downloads_hold_the_computed_numbers_cell_by_cell(world, region_a, client, planner):
    """The run's CSV downloads, as a planner gets them, hold what was computed: no zero where a value exists."""
    settlements, _facilities, districts = world
    run = _run(region_a, "recreation")
    client.force_login(planner)

    def rows(what):
        response = client.get(f"/en/accessibility/runs/{run.pk}/download/{what}.csv")
        assert response.status_code == 200
        return list(csv.DictReader(io.StringIO(response.content.decode())))

    def num(cell):
        return float(cell) if cell != "" else None

    zones = rows("zones")
    by_level = {}
    for r in zones:
        by_level.setdefault(r["level"], []).append(r)
    national, outside = by_level["national"][0], by_level["outside"][0]
    assert (num(national["children"]), num(national["children_served"])) == (450.0, pytest.approx(100.0, abs=1e-6))
    assert num(national["children_over_capacity"]) == pytest.approx(300.0, abs=1e-6)
    assert num(national["children_not_covered"]) == 50.0 and num(national["covered"]) == 400.0
    assert [num(outside[k]) for k in ("children", "children_served", "children_not_covered")] == [0.0, 0.0, 0.0]
    # The national row is the sum of the rows shown beside it: the regions and the outside row.
    for key in ("children", "children_served", "children_over_capacity", "children_not_covered", "covered"):
        shown = sum(num(r[key]) for r in by_level["region"]) + num(outside[key])
        assert shown == pytest.approx(num(national[key]), abs=1e-6), key
    # Each district's three numbers: its settlements' shares (75 and 25 of the 100 places a year; 0 for C3).
    served = {s.pk: v for s, v in zip(settlements, (75.0, 25.0, 0.0), strict=True)}
    for r in by_level["district"]:
        mine = [s for s, d in zip(settlements, districts, strict=True) if d.kato == r["district_kato"]]
        assert num(r["children"]) == sum(s.child_population for s in mine)
        assert num(r["children_served"]) == pytest.approx(sum(served[s.pk] for s in mine), abs=1e-6)

    points = {int(r["settlement_id"]): r for r in rows("settlements")}
    assert set(points) == {s.pk for s in settlements}
    for s, covered in zip(settlements, ("True", "True", "False"), strict=True):
        r = points[s.pk]
        assert num(r["children"]) == s.child_population and r["covered"] == covered
        assert num(r["served"]) == pytest.approx(served[s.pk], abs=1e-6)
        # 900 or fewer inhabitants: rural, so the rural radius of the kinds counted (2 km here).
        assert (r["urban"], num(r["radius_m"])) == ("False", 2_000.0)
