"""The run page, the district table and the map lead with children served within capacity, within reach but over
capacity and not covered (rows written directly: tests/accessibility/conftest.py capacity_run)."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    """The page's text with tags dropped and spaces collapsed, to read rows as a reader does."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _section(html: str, start: str, end: str) -> str:
    i = html.index(start)
    return html[i : html.index(end, i)]


def test_run_page_leads_with_the_three_numbers(client, planner, capacity_run):
    client.force_login(planner)
    html = client.get(f"/en/accessibility/runs/{capacity_run.pk}/").content.decode()
    headline = _text(_section(html, 'id="capacity-headline"', "</section>"))
    # Served 655.5 (18.1 %), over capacity 1 764.5 (48.7 %), not covered 1 200 (33.1 %) of 3 620 children.
    assert "Served within capacity 656 18.1 %" in headline
    assert "Within reach but over capacity 1,765 48.7 %" in headline
    assert "Not covered (no facility in reach) 1,200 33.1 %" in headline
    assert "Children counted 3,620 100 %" in headline
    assert "Within reach of a facility, whatever its capacity 66.9 %" in headline
    assert "Capacity counted (places × shifts a year) 700" in headline
    # The facilities that reach nobody, with their places, not counted as capacity.
    assert "Facilities that reach no child" in headline and "Camp Far Away 120" in headline
    assert "not computed" not in headline
    # The headline comes before the summary table; "covered" is labelled as within reach.
    assert html.index('id="capacity-headline"') < html.index('id="summary"')
    summary = _text(_section(html, 'id="summary"', "</table>"))
    assert "children within reach (whatever the capacity) 2,420.0" in summary
    assert "Camp Far Away" not in summary


def test_region_table_has_the_three_columns_and_the_outside_row(client, planner, capacity_run, region_a, region_b):
    client.force_login(planner)
    html = client.get(f"/en/accessibility/runs/{capacity_run.pk}/").content.decode()
    table = _text(_section(html, '<table class="data zones">', "</table>"))
    assert "Served within capacity Within reach but over capacity Not covered Within reach (whatever the capacity)" in (
        table
    )
    # Children, served, over capacity, not covered, within reach, within reach %.
    assert f"{region_a.name} 1500 400 500 600 900 60.0" in table
    assert f"{region_b.name} 2000 251 1250 500 1500 75.0" in table
    assert "Outside every district 120 5 15 100 20 16.7" in table
    assert "Kazakhstan (the sum of the rows above) 3620 656 1765 1200 2420 66.9" in table


def test_district_table_has_the_three_columns_outside_and_national_rows(
    client, planner, capacity_run, capacity_districts
):
    client.force_login(planner)
    html = client.get(f"/en/accessibility/runs/{capacity_run.pk}/districts/").content.decode()
    table = _text(_section(html, 'id="districts"', "</table>"))
    assert f"{capacity_districts['a1'].name} 1000 300 500 200 800 80.0" in table
    assert f"{capacity_districts['a2'].name} 500 100 0 400 100 20.0" in table
    assert "Outside every district 120 5 15 100 20 16.7" in table
    assert "Kazakhstan 3620 656 1765 1200 2420 66.9" in table
    # Districts first, then the outside row, then the national total (its sum).
    assert (
        table.index(capacity_districts["b1"].name) < table.index("Outside every district") < table.index("Kazakhstan")
    )


def _tooltip(html: str) -> tuple[list, list]:
    """The fields and labels of the districts' tooltip on the run's map (folium's script)."""
    fields = json.loads(re.search(r"let fields = (\[.*?\]);", html).group(1))
    aliases = json.loads(re.search(r"let aliases = (\[.*?\]);", html).group(1))
    return fields, aliases


def test_map_tooltip_shows_the_three_numbers(client, planner, capacity_run):
    client.force_login(planner)
    fields, aliases = _tooltip(client.get(f"/en/accessibility/runs/{capacity_run.pk}/").content.decode())
    assert fields == [
        "name_en",
        "children",
        "children_served",
        "children_over_capacity",
        "children_not_covered",
        "covered",
    ]
    assert aliases[2:] == [
        "Served within capacity",
        "Within reach but over capacity",
        "Not covered",
        "Within reach of a facility, whatever its capacity",
    ]


def test_run_without_capacity_says_so_and_shows_no_zero(client, planner, uncomputed_run, region_a):
    client.force_login(planner)
    html = client.get(f"/en/accessibility/runs/{uncomputed_run.pk}/").content.decode()
    headline = _text(_section(html, 'id="capacity-headline"', "</section>"))
    assert "Children served within capacity were not computed for this run" in headline
    assert "Served within capacity — —" in headline and "Within reach but over capacity — —" in headline
    assert "Not covered (no facility in reach) 1,200 33.1 %" in headline
    assert "Within reach of a facility, whatever its capacity 66.9 %" in headline
    table = _text(_section(html, '<table class="data zones">', "</table>"))
    assert f"{region_a.name} 1500 — — 600 900 60.0" in table
    assert "children served within capacity were not computed for this run" in _text(html)
    # The map does not offer figures that were not computed.
    assert _tooltip(html)[0] == ["name_en", "children", "covered"]


def test_roadmap_page_puts_before_and_after_side_by_side(client, planner, capacity_roadmap_run, region_a, region_b):
    client.force_login(planner)
    html = client.get(f"/en/accessibility/runs/{capacity_roadmap_run.pk}/").content.decode()
    headline = _text(_section(html, 'id="capacity-headline"', "</section>"))
    assert "before the roadmap all facilities of the plan open" in headline
    assert "Served within capacity 656 18.1 % 856 23.6 %" in headline
    assert "Within reach but over capacity 1,765 48.7 % 1,565 43.2 %" in headline
    assert "Not covered (no facility in reach) 1,200 33.1 % 1,200 33.1 %" in headline
    assert "Capacity counted (places × shifts a year) 700 900" in headline
    # Facilities reaching nobody listed for the scenario that has them (before) only.
    assert "Facilities that reach no child — before the roadmap" in headline
    assert "Facilities that reach no child — all facilities of the plan open" not in headline
    effect = _text(_section(html, 'id="roadmap-effect"', "</table>"))
    # Region, children, served before/after, over before/after, not covered before/after, within reach % before/after.
    assert f"{region_a.name} 1500 400 600 500 300 600 600 60.0 60.0" in effect
    assert f"{region_b.name} 2000 251 251 1250 1250 500 500 75.0 75.0" in effect


def test_fca_run_has_no_capacity_headline(client, planner, capacity_run):
    capacity_run.kind = "fca"
    capacity_run.save(update_fields=["kind"])
    client.force_login(planner)
    html = client.get(f"/en/accessibility/runs/{capacity_run.pk}/").content.decode()
    assert 'id="capacity-headline"' not in html


def test_analysis_map_settlement_popup_shows_served(client, planner, capacity_run):
    client.force_login(planner)
    html = client.get("/en/maps/analysis/", {"run": capacity_run.pk}).content.decode()
    assert '["served", "children served within capacity"]' in html
    assert re.search(r'"served"\s*:\s*120\.25', html)  # T1's stored figure reaches the map
    # The radius each settlement got (its class's) is in its popup too.
    assert '["radius_m", "catchment radius it got (urban or rural), m"]' in html


def test_akimat_user_sees_its_region_without_the_outside_and_national_rows(client, akimat_a, capacity_run, region_a):
    client.force_login(akimat_a)
    html = client.get(f"/en/accessibility/runs/{capacity_run.pk}/").content.decode()
    table = _text(_section(html, '<table class="data zones">', "</table>"))
    assert f"{region_a.name} 1500 400 500 600 900 60.0" in table
    assert "Outside every district" not in table and "Kazakhstan" not in table
    districts = _text(client.get(f"/en/accessibility/runs/{capacity_run.pk}/districts/").content.decode())
    assert "Outside every district" not in districts and "Kazakhstan 3620" not in districts
