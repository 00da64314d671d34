"""The five analyses through the services, checked against independent computations."""

from datetime import date

import numpy as np
import pytest
import rasterio
from django.utils import translation
from pyproj import Geod

from accessibility import selectors
from accessibility.models import AnalysisRun, AreaResult, SiteResult, ZoneResult
from accessibility.notes import note_text
from accessibility.services import (
    analysis_run_create,
    analysis_run_execute,
    population_raster_register,
    run_output_dir,
)
from tests.conftest import official_children_figure

GEOD = Geod(ellps="WGS84")


def _run(kind, params, **kw):
    run = analysis_run_create(kind=kind, parameters=params, enqueue=False, **kw)
    run = analysis_run_execute(run_id=run.pk)
    assert run.status == AnalysisRun.Status.DONE, run.error
    return run


def _national(run, scenario="current"):
    return ZoneResult.objects.get(run=run, scenario=scenario, region__isnull=True, district__isnull=True, outside=False)


def _brute_force_covered(params):
    """Children covered, by pyproj.Geod over every settlement × facility pair (independent of the k-d tree)."""
    d = params["demand"]
    s = selectors.settlements_demand(
        indicator=d["indicator"],
        year=d["year"],
        default_child_share=d["default_child_share"],
        region_ids=params["region_ids"],
    )
    f = selectors.facilities_in_scope(
        as_of=date.fromisoformat(params["facilities"]["as_of"]),
        scope=params["facilities"]["scope"],
        kinds=selectors.purpose_kinds(purpose=params["facilities"]["purpose"]),
    )
    urban = s.population >= d["urban_min_population"]
    covered = np.zeros(len(s.ids), bool)
    reach = np.zeros((len(s.ids), len(f.ids)), bool)
    for j in range(len(f.ids)):
        dist = GEOD.inv(np.full(len(s.ids), f.lon[j]), np.full(len(s.ids), f.lat[j]), s.lon, s.lat)[2]
        r = params["radii"][f.kinds[j]]
        reach[:, j] = dist <= np.where(urban, r["urban_m"], r["rural_m"])
        covered |= reach[:, j]
    return s, f, covered, reach


def test_coverage_run_matches_brute_force(astana_settlements, region_a):
    run = _run("coverage", {"region_ids": [region_a.id], "facilities": {"scope": "all"}})
    s, _f, covered, _reach = _brute_force_covered(run.parameters)
    nat = _national(run)
    assert nat.children == pytest.approx(s.children.sum())
    assert nat.covered == pytest.approx(s.children[covered].sum())
    assert 0 < nat.covered < nat.children  # the settlement 40 km out is not covered
    region_row = ZoneResult.objects.get(run=run, region=region_a, district__isnull=True)
    assert region_row.children <= nat.children
    assert run.distance_bins.count() == 14
    assert sum(b.children for b in run.distance_bins.all()) == pytest.approx(nat.children)
    assert run.inputs["facilities"]["scope"] == "all" and run.started_at <= run.finished_at
    # Only DEMO facilities exist, so the run is labelled demo although it was not asked to be.
    assert run.is_demo and run.inputs["facilities"]["demo"] == run.inputs["facilities"]["count"] > 0
    assert any("facilities counted:" in note_text(n) for n in run.notes)


def test_fca_places_are_conserved(astana_settlements, region_a):
    """Σ_i P_i·A_i / 1000 equals the places of the facilities that reach any child (a 2SFCA identity)."""
    run = _run("fca", {"region_ids": [region_a.id], "facilities": {"scope": "all"}})
    s, f, _covered, reach = _brute_force_covered(run.parameters)
    nat = _national(run)
    expected_places = f.places[reach.any(axis=0)].sum()
    assert nat.access_per_1000 * nat.children / 1000 == pytest.approx(expected_places)
    assert nat.without_access == pytest.approx(s.children[~reach.any(axis=1)].sum())


def test_roadmap_effect_before_and_after(astana_settlements, region_a):
    run = _run("roadmap", {"region_ids": [region_a.id]})
    before, after = _national(run, "before"), _national(run, "after")
    # No facility had been opened before the roadmap (no tracking records exist in the demo).
    assert run.summary["before"]["facilities"] == 0 and before.covered == 0
    assert after.covered > 0 and after.access_per_1000 > 0
    assert run.summary["after"]["facilities"] == len(run.inputs["facilities_after"]["ids"])


def test_best_sites_from_points(astana_settlements, region_a):
    far = astana_settlements[3]  # 40 km east, 70 children, not covered by the demo facilities
    params = {
        "region_ids": [region_a.id],
        "facilities": {"scope": "all"},
        "sites": {
            "k": 1,
            "candidates": "points",
            "kind": "art_school",
            "points": [[far.location.x + 0.3, far.location.y], [far.location.x, far.location.y]],
        },
    }
    run = _run("sites", params)
    chosen = SiteResult.objects.get(run=run, selected_order=1)
    assert chosen.candidate_ref == "2" and chosen.marginal_gain == pytest.approx(70.0)
    assert chosen.rank == 1
    other = SiteResult.objects.get(run=run, candidate_ref="1")
    assert other.selected_order is None and other.solo_gain == 0
    assert run.summary["uncovered_after"] == pytest.approx(run.summary["uncovered_before"] - 70.0)


def test_underserved_hexagons_add_up(astana_settlements, region_a):
    run = _run(
        "underserved",
        {
            "region_ids": [region_a.id],
            "facilities": {"scope": "all", "purpose": "education"},
            "underserved": {"hex_size_m": 5_000, "top": 1000},
        },
    )
    nat = _national(run)
    areas = list(AreaResult.objects.filter(run=run))
    assert sum(a.uncovered for a in areas) == pytest.approx(nat.uncovered)
    assert [a.uncovered for a in areas] == sorted((a.uncovered for a in areas), reverse=True)
    assert areas[0].uncovered == pytest.approx(70.0)


def test_raster_coverage_scaled_to_official_total(db, region_a, utm_raster):
    raster = population_raster_register(path=utm_raster, name="Astana UTM", bands=[1], year=2024, source="test")
    official_children_figure(region_a, value=8000)
    run = _run(
        "coverage",
        {
            "region_ids": [region_a.id],
            "facilities": {"scope": "all"},
            "demand": {"source": "raster", "raster_id": raster.pk, "scale_to_official": True, "year": 2024},
        },
    )
    region_row = ZoneResult.objects.get(run=run, region=region_a, district__isnull=True)
    assert region_row.children == pytest.approx(8000)
    raw = run.inputs["scaling"][str(region_a.id)]["raster"]
    assert raw <= 399 * 10 and region_row.scale_factor == pytest.approx(8000 / raw)
    assert run.inputs["raster_stats"] == {"cells": 400, "nodata_cells": 1}
    assert any("scaled to the official" in note_text(n) for n in run.notes)
    with translation.override("ru"):
        assert any("официальн" in note_text(n) for n in run.notes)
    with rasterio.open(run_output_dir(run) / "distance_m_current.tif") as out:
        dist = out.read(1, masked=True)
        assert out.crs.to_epsg() == 32642 and dist.mask[0, 0] and dist.count() == 399
        assert 0 <= dist.min() < 5_000


def test_failed_run_records_the_error(db, region_a):
    from accessibility.models import PopulationRaster

    raster = PopulationRaster.objects.create(
        name="gone",
        path="/nonexistent/raster.tif",
        children_bands=[1],
        year=2024,
        source="s",
        crs_wkt="",
        crs_name="",
        width=1,
        height=1,
        band_count=1,
        pixel_size_x=1,
        pixel_size_y=1,
        extent="SRID=4326;POLYGON((70 50,71 50,71 51,70 51,70 50))",
    )
    run = analysis_run_create(
        kind="coverage",
        parameters={"demand": {"source": "raster", "raster_id": raster.pk}, "region_ids": [region_a.id]},
        enqueue=False,
    )
    run = analysis_run_execute(run_id=run.pk)
    assert run.status == "failed" and "/nonexistent/raster.tif" in run.error and run.finished_at


def test_unexpected_error_propagates_but_the_run_is_marked_failed(db, region_a, monkeypatch):
    from accessibility import analyses

    def broken(ctx):
        raise RuntimeError("bug")

    monkeypatch.setitem(analyses.RUNNERS, "coverage", broken)
    run = analysis_run_create(kind="coverage", parameters={"region_ids": [region_a.id]}, enqueue=False)
    with pytest.raises(RuntimeError):
        analysis_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and "stopped unexpectedly" in run.error


def test_best_sites_from_candidate_parcels(astana_settlements, region_a):
    """A candidate parcel (parcels app) on the settlement 40 km out is chosen and adds its 70 children."""
    from decimal import Decimal

    from django.contrib.gis.geos import Polygon

    from facilities.models import Facility
    from parcels.models import Parcel

    far = astana_settlements[3].location
    d = 0.001
    square = Polygon.from_bbox((far.x - d, far.y - d, far.x + d, far.y + d))
    square.srid = 4326
    from django.contrib.gis.geos import MultiPolygon

    parcel = Parcel.objects.create(
        facility=Facility.objects.filter(region=region_a).first(),
        region=region_a,
        geom=MultiPolygon(square, srid=4326),
        declared_area_ha=Decimal("1.5"),
        computed_area_ha=Decimal("1.5"),
        area_srid=32642,
        land_category="settlement",
        right_type="temporary_free",
        status="candidate",
    )
    run = _run(
        "sites",
        {
            "region_ids": [region_a.id],
            "facilities": {"scope": "all"},
            "sites": {"k": 3, "candidates": "parcels", "kind": "art_school"},
        },
    )
    chosen = SiteResult.objects.get(run=run, selected_order=1)
    assert chosen.candidate_ref == str(parcel.pk) and chosen.marginal_gain == pytest.approx(70.0)
