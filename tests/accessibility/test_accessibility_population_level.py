"""Accessibility runs use district figures where a district has one, the region's figure for the rest, and say so."""

from __future__ import annotations

import numpy as np
import pytest
from django.utils import translation

from accessibility import selectors
from accessibility.models import AnalysisRun, ZoneResult
from accessibility.notes import note_text
from accessibility.services import analysis_run_create, analysis_run_execute, population_raster_register
from layers.analysis.scaling import zone_factors
from layers.models import District, PopulationFigure, Settlement
from layers.settlement_selectors import settlements_counted


def _run(params):
    run = analysis_run_create(kind="coverage", parameters=params, enqueue=False)
    run = analysis_run_execute(run_id=run.pk)
    assert run.status == AnalysisRun.Status.DONE, run.error
    return run


def _district_figure(district, indicator, value, year=2024):
    return PopulationFigure.objects.create(
        region_id=district.region_id,
        district=district,
        year=year,
        indicator=indicator,
        value=value,
        source="district statistics",
        source_issued="2024-03-01",
    )


def test_zone_factors_district_figures_and_the_rest_of_the_region():
    # Region 1 has zones 0, 1, 2 (raster 100, 200, 100); zone 0 has its own figure 300, the region 1000.
    factors, report = zone_factors(
        raw_by_slot=np.array([100.0, 200.0, 100.0, 5.0]),
        zone_region=np.array([1, 1, 1]),
        official_by_region={1: 1000},
        official_by_zone={0: 300},
    )
    assert factors.tolist() == pytest.approx([3.0, 700 / 300, 700 / 300, 1.0])
    assert report[1]["remainder"] == 700 and report[1]["factor"] == pytest.approx(1000 / 400)
    # District figures above the region's: the rest of the region counts 0.
    factors, report = zone_factors(
        raw_by_slot=np.array([100.0, 200.0, 0.0]),
        zone_region=np.array([1, 1]),
        official_by_region={1: 250},
        official_by_zone={0: 300},
    )
    assert factors[:2].tolist() == [3.0, 0.0] and report[1]["exceeded"] and report[1]["remainder"] == 0


def test_raster_run_scales_districts_to_their_own_figures(region_a, utm_raster):
    raster = population_raster_register(path=utm_raster, name="Astana UTM", bands=[1], year=2024, source="test")
    PopulationFigure.objects.create(
        region=region_a, year=2024, indicator="children_0_17", value=8000, source="region official figure"
    )
    centre = District.objects.get(region=region_a, geom__contains=region_a.centre)
    _district_figure(centre, "children_0_17", 3000)
    districts = District.objects.filter(region=region_a).count()
    run = _run(
        {
            "region_ids": [region_a.id],
            "facilities": {"scope": "all"},
            "demand": {"source": "raster", "raster_id": raster.pk, "scale_to_official": True, "year": 2024},
        }
    )
    rows = ZoneResult.objects.filter(run=run, scenario="current")
    assert rows.get(district=centre).children == pytest.approx(3000)
    others = sum(r.children for r in rows.filter(region=region_a, district__isnull=False).exclude(district=centre))
    assert others == pytest.approx(8000 - 3000)
    assert rows.get(region=region_a, district__isnull=True).children == pytest.approx(8000)
    level = run.inputs["demand"]["population_level"]
    assert (level["level"], level["districts_with"], level["districts"]) == ("official", 1, districts)
    assert run.inputs["demand"]["district_figures"][str(centre.id)]["value"] == 3000
    with translation.override("en"):
        notes = [note_text(n) for n in run.notes]
    assert any(
        f"district figures for 1 of {districts} districts, region figures for the rest" in n
        and "district statistics, 01.03.2024" in n
        for n in notes
    ), notes


def test_run_page_names_the_level(client, planner, region_a, utm_raster):
    raster = population_raster_register(path=utm_raster, name="Astana UTM", bands=[1], year=2024, source="test")
    PopulationFigure.objects.create(
        region=region_a, year=2024, indicator="children_0_17", value=8000, source="region official figure"
    )
    run = _run(
        {
            "region_ids": [region_a.id],
            "facilities": {"scope": "all"},
            "demand": {"source": "raster", "raster_id": raster.pk, "scale_to_official": True, "year": 2024},
        }
    )
    client.force_login(planner)
    page = client.get(f"/en/accessibility/runs/{run.pk}/").content.decode()
    assert "children scaled to official figures: region figures (region official figure, 2024)" in page


def test_settlement_children_from_their_districts_share(region_a, astana_settlements):
    Settlement.objects.filter(pk=astana_settlements[0].pk).update(child_population=None, population=1000)
    district = District.objects.get(region=region_a, geom__contains=astana_settlements[0].location)
    _district_figure(district, "children_0_17", 250)
    _district_figure(district, "total", 1000)
    s = selectors.settlements_demand(
        indicator="children_0_17", year=2024, default_child_share=0.3, region_ids=[region_a.id]
    )
    i = s.ids.tolist().index(astana_settlements[0].pk)
    assert s.children[i] == pytest.approx(250.0)  # 1000 × 250/1000
    # Every settlement of that district without a child count (the demo places too) takes the district's share.
    in_district = (
        settlements_counted()
        .filter(region=region_a, population__gt=0, child_population__isnull=True, location__within=district.geom)
        .count()
    )
    assert s.share_sources["district_share"] == in_district >= 1
