"""The hand-built road network world of the travel-time run tests (issue 18 point 3): see test_travel_runs.

Fixtures (places, network, world, t_b) are offered to tests/accessibility through its conftest.py.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.gis.geos import Point
from pyproj import Geod

from accessibility.models import AnalysisRun
from accessibility.services import analysis_run_create, analysis_run_execute
from facilities.models import Facility, FacilityKind, Measure
from layers.models import Settlement
from roads.models import RoadEdge, RoadVertex
from roads.services import road_network_load
from tests.roads.conftest import geojson_write, line
from tests.roads.test_road_load import vertex_at

GEOD = Geod(ellps="WGS84")
SOURCE = "test settlements (travel time)"
SPEED = 30.0  # residential, km/h (roads/data/default_speeds.yaml)
WALK = 5.0  # off the network, km/h
TRAVEL_CHILDREN = {"A": 300.0, "B": 100.0, "C": 40.0, "R1": 50.0, "S": 20.0}


def point_at(origin, azimuth, metres):
    lon, lat, _ = GEOD.fwd(origin[0], origin[1], azimuth, metres)
    return (lon, lat)


@pytest.fixture
def places(region_a):
    o = (region_a.centre.x, region_a.centre.y)
    a = point_at(o, 90, 6_000)
    b = point_at(a, 90, 1_500)
    c = point_at(b, 90, 2_000)
    r1 = point_at(o, 0, 3_000)
    r2 = point_at(r1, 90, 1_000)
    s = point_at(o, 180, 8_000)
    return {"O": o, "A": a, "B": b, "C": c, "R1": r1, "R2": r2, "S": s}


@pytest.fixture
def network(db, tmp_path, places):
    p = places
    features = [
        line([p["O"], p["A"]], highway="residential", oneway="no"),
        line([p["A"], p["B"]], highway="residential", oneway="no"),
        line([p["B"], p["C"]], highway="residential", oneway="no"),
        line([p["R1"], p["R2"]], highway="residential", oneway="no"),
    ]
    return road_network_load(
        path=geojson_write(tmp_path / "travel.geojson", features),
        name="hand travel",
        label="summer",
        source_description="drawn by the test",
        source_date=date(2026, 6, 1),
    )


@pytest.fixture
def world(db, region_a, places, network):
    """Settlements and the facility stand exactly on the loaded vertices (the loader rounds to 1e-7°, ~1 cm), so
    their off-network stretch is 0 and their times are the stored edge costs exactly."""
    for name in ("O", "A", "B", "C", "R1"):
        vertex = RoadVertex.objects.get(pk=vertex_at(network, places[name]))
        places[name] = (vertex.geom.x, vertex.geom.y)
    Settlement.objects.filter(region=region_a).delete()
    Facility.objects.update(location=None)  # the demo facilities do not count here
    FacilityKind.objects.filter(code="health_centre").update(shifts_per_year=4, shifts_assumed=False)
    settlements = {}
    for i, (name, children) in enumerate(TRAVEL_CHILDREN.items(), start=1):
        lon, lat = places[name]
        settlements[name] = Settlement.objects.create(
            name=name,
            population=children * 3,
            child_population=children,
            region=region_a,
            source=SOURCE,
            source_id=str(i),
            location=f"SRID=4326;POINT({lon} {lat})",
        )
    health = health_centre("H", region=region_a, places=25, at=places["O"])
    return settlements, health


@pytest.fixture
def second_centre(world, places, region_a):
    """A second health centre F (10 places) at C, beside H of the world."""
    return health_centre("F", region=region_a, places=10, at=places["C"])


def health_centre(name: str, *, region, places: int, at: tuple[float, float]) -> Facility:
    """A children's health centre of measure 15, planned in 2025, at `at` (lon, lat in EPSG:4326)."""
    return Facility.objects.create(
        kind_id="health_centre",
        measure=Measure.objects.get(number=15),
        region=region,
        name_kk=name,
        name_ru=name,
        name_en=name,
        places=places,
        planned_year=2025,
        location=Point(*at, srid=4326),
    )


def stored_seconds(network, places, *names) -> float:
    """Seconds along the road through `names` (O, A, B, …), from the stored edge costs (what the run reads)."""
    total = 0.0
    for u, v in zip(names, names[1:], strict=False):
        vu = vertex_at(network, places[u])
        vv = vertex_at(network, places[v])
        edge = RoadEdge.objects.get(network=network, source__in=[vu, vv], target__in=[vu, vv])
        total += edge.cost_s
    return total


@pytest.fixture
def t_b(network, places) -> float:
    return stored_seconds(network, places, "O", "A", "B")


def travel_params(region, network, t_b, **extra) -> dict:
    return {
        "region_ids": [region.id],
        "facilities": {"scope": "all", "purpose": "recreation"},
        "travel": {"network": network.pk, "thresholds_min": [t_b / 60, 30], "max_snap_m": 5_000},
        **extra,
    }


def execute_run(kind: str, params: dict, *, echo=None) -> AnalysisRun:
    """Create and execute a run at once (`echo` receives its progress); it must end done."""
    run = analysis_run_execute(run_id=analysis_run_create(kind=kind, parameters=params, enqueue=False).pk, echo=echo)
    assert run.status == AnalysisRun.Status.DONE, run.error
    return run
