"""A settlement run says what share of the children it counted is estimated, and that OSM places are not
official: in its inputs, notes, result page and downloads."""

from __future__ import annotations

import csv
import io

import pytest

from accessibility.models import AnalysisRun
from accessibility.notes import note_text
from accessibility.services import analysis_run_create, analysis_run_execute
from layers.models import PopulationFigure, Region
from layers.settlement_selectors import OSM_ATTRIBUTION, settlements_counted
from layers.settlement_services import settlement_estimates_refresh


@pytest.fixture
def almaty_run(db):
    """A coverage run over Almaty city, whose OSM places are partly tagged and partly estimated."""
    almaty = Region.objects.get(kato="750000000")
    tagged = settlements_counted().filter(region=almaty, population_kind="osm_tag")
    total = sum(tagged.values_list("population", flat=True)) + 50_000  # 50,000 people in the untagged places
    PopulationFigure.objects.create(region=almaty, year=2024, indicator="total", value=total, source="test totals")
    assert settlement_estimates_refresh().persons == 50_000
    params = {"region_ids": [almaty.id], "facilities": {"scope": "all"}}
    run = analysis_run_execute(run_id=analysis_run_create(kind="coverage", parameters=params, enqueue=False).pk)
    assert run.status == AnalysisRun.Status.DONE, run.error
    return run


def test_the_run_counts_children_by_kind_of_figure(almaty_run):
    demand = almaty_run.inputs["demand"]
    by_kind = demand["children_by_kind"]
    places = settlements_counted().filter(region__kato="750000000", population__gt=0)
    assert by_kind["estimate"] > 0 and by_kind["osm_tag"] > 0 and by_kind["gazetteer"] == 0
    assert demand["osm_places"] == places.count()
    share = by_kind["estimate"] / sum(by_kind.values())
    notes = [note_text(n) for n in almaty_run.notes]
    assert any(f"of the children counted, {share:.1%} live in places whose population is estimated" in n for n in notes)
    assert any(OSM_ATTRIBUTION in n and "not official statistics" in n for n in notes)


def test_the_page_and_downloads_say_it(client, planner, almaty_run):
    client.force_login(planner)
    by_kind = almaty_run.inputs["demand"]["children_by_kind"]
    share = by_kind["estimate"] / sum(by_kind.values())
    html = client.get(f"/en/accessibility/runs/{almaty_run.pk}/").content.decode()
    assert f"Of the children counted, {100 * share:.1f} % live in places whose population is estimated" in html
    assert OSM_ATTRIBUTION in html
    zones = list(
        csv.DictReader(
            io.StringIO(client.get(f"/en/accessibility/runs/{almaty_run.pk}/download/zones.csv").content.decode())
        )
    )
    assert zones and {float(r["children_estimated_share"]) for r in zones} == {round(share, 4)}
    points = list(
        csv.DictReader(
            io.StringIO(client.get(f"/en/accessibility/runs/{almaty_run.pk}/download/settlements.csv").content.decode())
        )
    )
    assert {"estimate", "osm_tag"} <= {r["population_kind"] for r in points}
    assert {r["attribution"] for r in points} == {OSM_ATTRIBUTION}
