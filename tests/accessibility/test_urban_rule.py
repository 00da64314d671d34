"""One rule for "urban": a settlement of ≥ 10 000 inhabitants, or a raster cell inside such a town's extent.

The extent is a disc holding the town's population at 1 500 inhabitants/km²: r = sqrt(P / (π · 1 500)) km,
so 15 000 inhabitants give r = sqrt(10 / π) km = 1 784.124 m, 30 000 give 2 523.133 m.
"""

import math

import numpy as np
import pytest
import rasterio
from pyproj import Geod, Transformer
from rasterio.transform import from_origin

from accessibility.models import AnalysisRun, PointResult, ZoneResult
from accessibility.notes import note_text
from accessibility.services import analysis_run_create, analysis_run_execute, population_raster_register
from layers.analysis.coverage import Facilities, Radius, distance_coverage
from layers.analysis.demand import RasterSpec, points_demand, raster_demand
from layers.analysis.urban import UrbanExtents, town_radius_m
from layers.models import Settlement

GEOD = Geod(ellps="WGS84")
R_15000 = 1_000 * math.sqrt(10 / math.pi)  # 1 784.124 m


def _write(path, data, transform, crs="EPSG:4326"):
    with rasterio.open(
        path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1, dtype="float32",
        crs=crs, transform=transform,
    ) as dst:  # fmt: skip
        dst.write(data.astype(np.float32), 1)
    return str(path)


def test_a_towns_disc_holds_its_population_at_the_urban_centre_density():
    assert town_radius_m(15_000) == pytest.approx(R_15000, abs=1e-9)
    assert town_radius_m(15_000) == pytest.approx(1_784.124116, abs=1e-6)
    r_km = town_radius_m(np.array([10_000, 2_200_000])) / 1_000
    assert (math.pi * r_km**2 * 1_500).tolist() == pytest.approx([10_000, 2_200_000])


def test_points_just_inside_and_just_outside_a_towns_disc():
    lon0, lat0 = 71.40, 51.10
    # A town of 15 000 and, 50 km east, a place of 9 999: not a town, so not urban even at its own point.
    small_lon, small_lat, _ = GEOD.fwd(lon0, lat0, 90, 50_000)
    extents = UrbanExtents(
        lon=np.array([lon0, small_lon]), lat=np.array([lat0, small_lat]), population=np.array([15_000, 9_999]),
        min_population=10_000,
    )  # fmt: skip
    assert len(extents) == 1
    az = np.array([0.0, 90.0, 200.0, 315.0])
    in_lon, in_lat, _ = GEOD.fwd(np.full(4, lon0), np.full(4, lat0), az, np.full(4, R_15000 - 0.01))
    out_lon, out_lat, _ = GEOD.fwd(np.full(4, lon0), np.full(4, lat0), az, np.full(4, R_15000 + 0.01))
    assert extents.contains(lon=in_lon, lat=in_lat).tolist() == [True] * 4
    assert extents.contains(lon=out_lon, lat=out_lat).tolist() == [False] * 4
    assert extents.contains(lon=np.array([lon0, small_lon]), lat=np.array([lat0, small_lat])).tolist() == [True, False]


@pytest.mark.parametrize(("offset_m", "expected"), [(-0.01, [False, True]), (0.01, [False, False])])
def test_a_cell_just_inside_or_just_outside_a_towns_disc(tmp_path, offset_m, expected):
    """Two 0.1° cells (≈ 7 km wide); a town of 15 000 lies west of the east cell's centre at r ∓ 1 cm."""
    path = _write(tmp_path / "two.tif", np.array([[10.0, 10.0]]), from_origin(71.0, 51.0, 0.1, 0.1))
    east_lon, centre_lat = 71.15, 50.95
    town_lon, town_lat, _ = GEOD.fwd(east_lon, centre_lat, 270, R_15000 + offset_m)
    extents = UrbanExtents(
        lon=np.array([town_lon]), lat=np.array([town_lat]), population=np.array([15_000]), min_population=10_000
    )
    (chunk,) = raster_demand(RasterSpec(path=path), urban=extents)
    assert chunk.lon.tolist() == pytest.approx([71.05, 71.15])
    assert chunk.urban.tolist() == expected


def test_raster_and_settlement_points_over_the_same_children_agree(tmp_path):
    """A town (40 000 inhabitants, 12 000 children) and a village (3 000, 900) as points and as two cells.

    Facilities 4 km north of the town and 4 km south of the village; radii 3 km urban, 5 km rural: the town's
    children are urban and out of reach, the village's rural and covered — 900 covered from either source.
    (The density rule this replaces made the village's 0.02° cell urban: 900 / 3.2 km² ≥ 100 children/km²,
    so the raster gave 0 covered and the points 900.)
    """
    d = 0.02
    data = np.zeros((3, 3))
    data[0, 0], data[2, 2] = 12_000, 900
    path = _write(tmp_path / "same.tif", data, from_origin(70.0, 50.0, d, d))
    lon = np.array([70.0 + d / 2, 70.0 + 2.5 * d])
    lat = np.array([50.0 - d / 2, 50.0 - 2.5 * d])
    population = np.array([40_000, 3_000])
    extents = UrbanExtents(lon=lon, lat=lat, population=population, min_population=10_000)
    f_lon, f_lat, _ = GEOD.fwd(lon, lat, [0, 180], [4_000, 4_000])
    fac = Facilities(lon=f_lon, lat=f_lat, kinds=["c", "c"], radii={"c": Radius(3_000, 5_000)})

    cells = list(raster_demand(RasterSpec(path=path), urban=extents))
    points = list(points_demand(lon=lon, lat=lat, children=np.array([12_000.0, 900.0]), population=population))
    assert np.concatenate([c.urban for c in cells]).tolist() == points[0].urban.tolist() == [True, False]
    by_cells = distance_coverage(iter(cells), fac, n_zones=0)
    by_points = distance_coverage(iter(points), fac, n_zones=0)
    assert by_cells.covered[-1] == by_points.covered[-1] == 900.0
    assert by_cells.children[-1] == by_points.children[-1] == 12_900.0


SOURCE = "test settlements (urban rule)"


@pytest.fixture
def town_and_village(db, region_a, tmp_path):
    """In Astana (other places removed): a town of 30 000 (9 000 children) and a village of 2 000 (600), each on
    the centre of a 500 m cell of a UTM raster holding the same children."""
    to_utm = Transformer.from_crs(4326, 32642, always_xy=True)
    to_wgs = Transformer.from_crs(32642, 4326, always_xy=True)
    cx, cy = to_utm.transform(region_a.centre.x, region_a.centre.y)
    x0, y0 = cx - 5_000, cy + 5_000
    data = np.zeros((20, 20))
    data[4, 4], data[15, 15] = 9_000, 600
    path = _write(tmp_path / "astana.tif", data, from_origin(x0, y0, 500, 500), crs="EPSG:32642")
    Settlement.objects.all().delete()
    places = []
    for name, (row, col), pop, children in (("Town", (4, 4), 30_000, 9_000), ("Village", (15, 15), 2_000, 600)):
        lon, lat = to_wgs.transform(x0 + (col + 0.5) * 500, y0 - (row + 0.5) * 500)
        places.append(
            Settlement.objects.create(
                name=name, population=pop, child_population=children, region=region_a, source=SOURCE,
                source_id=name, location=f"SRID=4326;POINT({lon!r} {lat!r})",
            )
        )  # fmt: skip
    raster = population_raster_register(path=path, name="Astana town", bands=[1], year=2024, source="test")
    return places, raster


def _run(demand, region_a, kind="coverage"):
    run = analysis_run_create(
        kind=kind,
        parameters={"region_ids": [region_a.id], "facilities": {"scope": "all"}, "demand": demand},
        enqueue=False,
    )
    run = analysis_run_execute(run_id=run.pk)
    assert run.status == AnalysisRun.Status.DONE, run.error
    return run


def test_both_sources_give_the_same_split_and_coverage_in_a_run(town_and_village, region_a):
    (town, village), raster = town_and_village
    assert town_radius_m(30_000) == pytest.approx(2_523.133, abs=1e-3)
    by_points = _run({"source": "settlements"}, region_a)
    by_cells = _run({"source": "raster", "raster_id": raster.pk}, region_a)
    fca_cells = _run({"source": "raster", "raster_id": raster.pk}, region_a, kind="fca")
    for run in (by_points, by_cells, fca_cells):
        classes = run.inputs["urban_rural"]["current"]
        assert classes["urban_children"] == pytest.approx(9_000)
        assert classes["rural_children"] == pytest.approx(600)
        assert classes["urban_min_population"] == 10_000
        stated = "urban (in a town of at least 10 000 inhabitants): 9 000 children"
        assert any(stated in note_text(n) for n in run.notes)
    national = [
        ZoneResult.objects.get(run=run, region__isnull=True, district__isnull=True, outside=False)
        for run in (by_points, by_cells)
    ]
    assert national[0].children == national[1].children == pytest.approx(9_600)
    assert national[0].covered == pytest.approx(national[1].covered)
    # Each settlement's class and the radius it got: the largest of the kinds counted (health centres:
    # 5 km in towns, 30 km in the countryside, by the default radii).
    rows = {p.settlement_id: p for p in PointResult.objects.filter(run=by_points)}
    assert (rows[town.pk].urban, rows[town.pk].radius_m) == (True, 5_000.0)
    assert (rows[village.pk].urban, rows[village.pk].radius_m) == (False, 30_000.0)
    assert by_points.inputs["urban_rural"]["current"]["radii_m"]["health_centre"] == {
        "urban_m": 5_000.0,
        "rural_m": 30_000.0,
    }


def test_the_rule_is_stated_on_the_form_and_the_run_page(client, planner, town_and_village, region_a):
    client.force_login(planner)
    form = client.get("/en/accessibility/").content.decode()
    assert "Urban means lying in a town of at least this many inhabitants" in form
    run = _run({"source": "settlements", "urban_min_population": 50_000}, region_a)
    page = client.get(f"/en/accessibility/runs/{run.pk}/").content.decode()
    assert "Urban means lying in a town of at least 50000 inhabitants" in page
    # At 50 000 the town of 30 000 is rural too: one threshold for both sources.
    assert run.inputs["urban_rural"]["current"]["urban_children"] == 0.0
