"""Fixtures of the accessibility tests: a small hand-built world inside Astana (region_a)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from django.utils import timezone
from pyproj import Geod
from rasterio.transform import from_origin

from accessibility.models import AnalysisRun, PointResult, ZoneResult
from facilities.models import Facility
from layers.models import District

# The hand-built road network world of the travel-time tests, offered to every test here.
from tests.accessibility.travel_world import network, places, second_centre, t_b, world  # noqa: F401

GEOD = Geod(ellps="WGS84")


@pytest.fixture
def utm_raster(tmp_path, region_a):
    """A 20 × 20 raster of 500 m cells in UTM 42N around Astana's centre; 10 children per cell, one nodata cell."""
    from pyproj import Transformer

    cx, cy = Transformer.from_crs(4326, 32642, always_xy=True).transform(region_a.centre.x, region_a.centre.y)
    data = np.full((20, 20), 10.0, dtype=np.float32)
    data[0, 0] = -1.0
    path = tmp_path / "astana_utm.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=20,
        height=20,
        count=1,
        dtype="float32",
        crs="EPSG:32642",
        transform=from_origin(cx - 5_000, cy + 5_000, 500, 500),
        nodata=-1.0,
        tiled=True,
        blockxsize=16,
        blockysize=16,
    ) as dst:
        dst.write(data, 1)
    return path


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Run outputs (GeoTIFFs) and uploaded rasters go to a temporary MEDIA_ROOT."""
    settings.MEDIA_ROOT = tmp_path / "media"


# --- stored results of a capacity-first run (written directly, not computed), for pages and downloads -----

# (scenario, level key, children, covered, served). Hand-chosen: per scenario the national row is the sum of the
# region rows and the outside row, each region the sum of its districts.
CAPACITY_ROWS = [
    ("current", "a1", 1000.0, 800.0, 300.0),
    ("current", "a2", 500.0, 100.0, 100.0),
    ("current", "b1", 2000.0, 1500.0, 250.5),
    ("current", "a", 1500.0, 900.0, 400.0),
    ("current", "b", 2000.0, 1500.0, 250.5),
    ("current", "outside", 120.0, 20.0, 5.0),
    ("current", "national", 3620.0, 2420.0, 655.5),
]
CAPACITY_SUMMARY = {
    "children": 3620.0,
    "covered": 2420.0,
    "covered_pct": 100 * 2420 / 3620,
    "children_total": 3620.0,
    "children_served": 655.5,
    "children_over_capacity": 1764.5,
    "children_not_covered": 1200.0,
    "covered_within_reach_pct": 100 * 2420 / 3620,
    "served_pct": 100 * 655.5 / 3620,
    "capacity_total": 700.0,
    "facilities_reaching_nobody": [{"id": 1, "name": "Camp Far Away", "places": 120}],
}


@pytest.fixture
def capacity_districts(region_a, region_b):
    """The districts of the capacity rows: the first two of region a and the first of region b (by KATO)."""
    a1, a2 = District.objects.filter(region=region_a, geom__isnull=False).order_by("kato")[:2]
    b1 = District.objects.filter(region=region_b, geom__isnull=False).order_by("kato").first()
    return {"a1": a1, "a2": a2, "b1": b1}


def _zone_rows(run, rows, *, region_a, region_b, districts, served: bool = True):
    zones = {
        "a1": {"region": region_a, "district": districts["a1"]},
        "a2": {"region": region_a, "district": districts["a2"]},
        "b1": {"region": region_b, "district": districts["b1"]},
        "a": {"region": region_a},
        "b": {"region": region_b},
        "outside": {"outside": True},
        "national": {},
    }
    for scenario, key, children, covered, served_n in rows:
        ZoneResult.objects.create(
            run=run,
            scenario=scenario,
            children=children,
            covered=covered,
            served=served_n if served else None,
            **zones[key],
        )


@pytest.fixture
def capacity_run(region_a, region_b, capacity_districts, astana_settlements):
    """A done coverage run over regions a and b with the capacity figures stored (CAPACITY_ROWS, CAPACITY_SUMMARY)
    and four settlement rows: one with every figure, one with none, one served 0, one urban at 5 km."""
    now = timezone.now()
    facility = Facility.objects.filter(location__isnull=False).order_by("pk").first()  # a demo facility
    run = AnalysisRun.objects.create(
        kind="coverage",
        status="done",
        progress=1.0,
        parameters={
            "region_ids": [region_a.id, region_b.id],
            "demand": {"source": "settlements"},
            "radii": {facility.kind_id: {"urban_m": 5000.0, "rural_m": 15000.0}},
        },
        inputs={"facilities": {"ids": [facility.pk]}},
        summary=CAPACITY_SUMMARY,
        started_at=now,
        finished_at=now,
    )
    _zone_rows(run, CAPACITY_ROWS, region_a=region_a, region_b=region_b, districts=capacity_districts)
    t1, t2, t3, t4 = astana_settlements
    for s, children, distance, covered, served, urban, radius in [
        (t1, 300.0, 1000.5, True, 120.25, False, 15000.0),
        (t2, 100.0, None, None, None, None, None),
        (t3, 400.0, 4000.0, True, 0.0, False, 15000.0),
        (t4, 70.0, 40000.0, False, 0.0, True, 5000.0),
    ]:
        PointResult.objects.create(
            run=run,
            settlement=s,
            children=children,
            distance_m=distance,
            covered=covered,
            served=served,
            urban=urban,
            radius_m=radius,
        )
    return run


@pytest.fixture
def uncomputed_run(region_a, region_b, capacity_districts):
    """A done coverage run stored before capacity was computed: no served figures, old summary keys only."""
    now = timezone.now()
    run = AnalysisRun.objects.create(
        kind="coverage",
        status="done",
        progress=1.0,
        parameters={"region_ids": [region_a.id, region_b.id]},
        summary={"children": 3620.0, "covered": 2420.0, "covered_pct": 100 * 2420 / 3620},
        started_at=now,
        finished_at=now,
    )
    _zone_rows(run, CAPACITY_ROWS, region_a=region_a, region_b=region_b, districts=capacity_districts, served=False)
    return run


@pytest.fixture
def capacity_roadmap_run(region_a, region_b, capacity_districts):
    """A done roadmap run: before as CAPACITY_ROWS, after with more served (a new facility of 200 places in a1)."""
    after_rows = [
        (
            "after",
            key,
            children,
            covered,
            served + (200.0 if key in ("a1", "a", "national") else 0.0),
        )
        for _s, key, children, covered, served in CAPACITY_ROWS
    ]
    before_rows = [("before", *row[1:]) for row in CAPACITY_ROWS]
    after_summary = {
        **CAPACITY_SUMMARY,
        "children_served": 855.5,
        "children_over_capacity": 1564.5,
        "served_pct": 100 * 855.5 / 3620,
        "capacity_total": 900.0,
        "facilities_reaching_nobody": [],
    }
    now = timezone.now()
    run = AnalysisRun.objects.create(
        kind="roadmap",
        status="done",
        progress=1.0,
        parameters={"region_ids": [region_a.id, region_b.id]},
        summary={"before": CAPACITY_SUMMARY, "after": after_summary},
        started_at=now,
        finished_at=now,
    )
    _zone_rows(run, before_rows + after_rows, region_a=region_a, region_b=region_b, districts=capacity_districts)
    return run
