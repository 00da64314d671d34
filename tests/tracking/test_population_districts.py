"""District population figures: loading a file (errors, success, reload) and the KPI's use of them by level."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import Workbook

from layers.models import District, PopulationFigure, Settlement
from layers.population import bands_tile
from layers.settlement_selectors import settlements_counted
from tracking.reports.data import report_data_build
from tracking.reports.tables import report_tables
from tracking.selectors import kpi_as_of, school_age_population
from tracking.services import district_population_load

HEADER = "КАТО;Область;Район;Возраст;Год;Дата;Численность;Источник;Дата источника\n"
SOURCE = "БНС АСПиР РК, численность населения по районам"


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode("utf-8")


def _district_figures():
    return PopulationFigure.objects.filter(district__isnull=False)


@pytest.fixture
def turkistan(region_b):
    """The 16 districts of the Turkistan region by KATO, and its official school-age figure for 2025."""
    PopulationFigure.objects.create(
        region=region_b, year=2025, indicator="school_age_6_17", value=600_000, source="region bulletin"
    )
    return {d.kato: d for d in District.objects.filter(region=region_b)}


def test_bands_tile_covers_the_ages_exactly():
    assert bands_tile([(6, 10, 5), (11, 17, 7), (0, 5, 3)], lo=6, hi=17) == [(6, 10, 5), (11, 17, 7)]
    assert bands_tile([(6, 10, 5), (12, 17, 7)], lo=6, hi=17) is None  # age 11 missing
    assert bands_tile([(6, 12, 5), (11, 17, 7)], lo=6, hi=17) is None  # overlap


def test_file_with_errors_reports_each_row_and_saves_nothing(turkistan):
    data = _csv(
        "619999999;;;6-17;2025;;1000;" + SOURCE + ";15.03.2025",  # unknown KATO
        "611600000;;;6-17;2025;;-5;" + SOURCE + ";15.03.2025",  # negative
        "612000000;;;6-17;2025;;1000;;15.03.2025",  # no source
        "613600000;;;6-17;2025;;1000;" + SOURCE + ";31.02.2025",  # bad date
        "610000000;;;6-17;2025;;1000;" + SOURCE + ";15.03.2025",  # a region's KATO
        ";Туркестанская;Отрарский район;6-17;2025;;12 345;" + SOURCE + ";15.03.2025",  # good (name + region)
    )
    result = district_population_load(data=data, filename="districts.csv")
    assert not result.saved and _district_figures().count() == 0
    found = {(p.row, p.column): p.message for p in result.problems}
    assert "unknown district KATO code 619999999" in found[(2, "КАТО")]
    assert "cannot be negative" in found[(3, "Численность")]
    assert "source is missing" in found[(4, "Источник")]
    assert "not a date" in found[(5, "Дата источника")]
    assert "KATO code of a region" in found[(6, "КАТО")]
    assert len(result.problems) == 5  # the Otrar row (by name) has none


def test_command_prints_the_problems_and_fails(turkistan, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(_csv("611600000;;;6-17;;;1000;" + SOURCE + ";15.03.2025"))  # neither year nor date
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 problem"):
        call_command("load_district_population", str(path), stderr=err)
    assert "row 2" in err.getvalue() and "year" in err.getvalue()
    assert _district_figures().count() == 0


def test_page_lists_the_problems_with_400(client, planner, akimat_a, turkistan):
    client.force_login(akimat_a)
    assert client.get("/en/tracking/population/districts/").status_code == 403
    client.force_login(planner)
    upload = SimpleUploadedFile("d.csv", _csv("619999999;;;6-17;2025;;1000;" + SOURCE + ";15.03.2025"))
    response = client.post("/en/tracking/population/districts/", {"file": upload})
    page = response.content.decode()
    assert response.status_code == 400 and "unknown district KATO code 619999999" in page
    assert "nothing was saved" in page and _district_figures().count() == 0


def _xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["KATO", "Age", "Date", "Population", "Source", "Source date"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


GOOD = [
    ["611600000", "6-17", "01.01.2025", "100 000", SOURCE, date(2025, 3, 15)],
    # Kentau in two age bands that together make school age (6–17): 20 000 + 30 000.
    ["612000000", "6–10", "01.01.2025", 20000, SOURCE, "15.03.2025"],
    ["612000000", "11-17 лет", "01.01.2025", "30000,0", SOURCE, "15.03.2025"],
    ["612000000", "всего", "01.01.2025", 180000, SOURCE, "15.03.2025"],
]


def test_good_xlsx_loads_and_reload_is_idempotent(client, planner, turkistan):
    client.force_login(planner)
    upload = SimpleUploadedFile("districts.xlsx", _xlsx(GOOD))
    response = client.post("/en/tracking/population/districts/", {"file": upload})
    assert response.status_code == 200, response.content.decode()[:2000]
    assert "4 new, 0 updated, 0 unchanged" in response.content.decode()
    arys = _district_figures().get(district__kato="611600000")
    assert (arys.indicator, arys.value, arys.year, arys.source_date, arys.source_issued) == (
        "school_age_6_17",
        100_000,
        2025,
        date(2025, 1, 1),
        date(2025, 3, 15),
    )
    bands = _district_figures().filter(district__kato="612000000", indicator="age_band").order_by("age_from")
    assert [(b.age_from, b.age_to, b.value) for b in bands] == [(6, 10, 20_000), (11, 17, 30_000)]
    again = district_population_load(data=_xlsx(GOOD), filename="districts.xlsx")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4) and _district_figures().count() == 4
    corrected = [[*GOOD[0][:3], 101_000, *GOOD[0][4:]], *GOOD[1:]]
    fixed = district_population_load(data=_xlsx(corrected), filename="districts.xlsx")
    assert (fixed.created, fixed.updated, fixed.unchanged) == (0, 1, 3)
    assert _district_figures().get(district__kato="611600000").value == 101_000


def test_districts_above_the_regions_official_figure_are_refused(turkistan):
    data = _csv("611600000;;;6-17;2025;;700000;" + SOURCE + ";15.03.2025")
    result = district_population_load(data=data, filename="d.csv")
    assert not result.saved and "more than the region's official figure 600000" in result.problems[0].message


def test_kpi_uses_district_figures_and_the_region_for_the_rest(client, planner, region_a, region_b, turkistan):
    district_population_load(data=_xlsx(GOOD), filename="districts.xlsx")
    # Astana: an ESTIMATE for the region, but every one of its 5 districts has an official figure.
    PopulationFigure.objects.create(
        region=region_a, year=2025, indicator="school_age_6_17", value=999, is_official=False, source="ESTIMATE x"
    )
    astana = list(District.objects.filter(region=region_a).order_by("kato"))
    assert len(astana) == 5
    rows = [
        [d.kato, "6-17", "01.01.2025", 10_000 * (i + 1), "Astana statistics", "01.02.2025"]
        for i, d in enumerate(astana)
    ]
    result = district_population_load(data=_xlsx(rows), filename="astana.xlsx")
    assert result.saved and "more than the region's ESTIMATE 999" in result.warnings[0]
    population = school_age_population(year=2025)
    # Turkistan: Arys 100 000 + Kentau 20 000 + 30 000 (bands) + the rest of the region 600 000 − 150 000.
    turk = population[region_b.id]
    assert turk.value == 100_000 + 50_000 + (600_000 - 150_000) == 600_000
    assert turk.basis["districts_with"] == 2 and turk.basis["districts"] == 16 and turk.is_official
    assert "district figures for 2 of 16 districts, region figures for the rest" in turk.level_text
    assert "region bulletin, 2025" in turk.level_text and f"{SOURCE}, 15.03.2025" in turk.level_text
    # Astana: the sum of its districts, 10 000 + 20 000 + … + 50 000, not the estimate.
    ast = population[region_a.id]
    assert ast.value == 150_000 and ast.is_official and "district figures for all 5 districts" in ast.level_text
    national = population[None]
    assert national.value == 600_000 + 150_000
    assert "district figures for 7 of 21 districts, region figures for the rest" in national.level_text
    rows = kpi_as_of(as_of=date(2025, 6, 30))
    turk_row = next(k for k in rows if k.region is not None and k.region.id == region_b.id)
    assert turk_row.population.value == 600_000
    if turk_row.children:
        assert turk_row.added_pp == round(100.0 * turk_row.children / 600_000, 3)
    client.force_login(planner)
    page = client.get("/en/tracking/kpi/?as_of=2025-06-30").content.decode()
    assert "district figures for 2 of 16 districts, region figures for the rest" in page
    assert "district figures for all 5 districts (Astana statistics, 01.02.2025)" in page


def test_districts_exceeding_a_region_estimate_leave_the_rest_at_zero(region_b, turkistan):
    PopulationFigure.objects.filter(region=region_b, district__isnull=True).update(value=90_000, is_official=False)
    result = district_population_load(data=_xlsx(GOOD), filename="districts.xlsx")
    assert result.saved and result.warnings
    turk = school_age_population(year=2025)[region_b.id]
    assert turk.value == 150_000 and not turk.is_official  # the districts' sum; the rest of the region 0
    assert "add up to more than the region's figure in" in turk.level_text and region_b.name in turk.level_text


def test_report_names_the_level(turkistan):
    district_population_load(data=_xlsx(GOOD), filename="districts.xlsx")
    data = report_data_build(kind="consolidated", as_of=date(2025, 7, 1))
    row = next(k for k in data["kpis"] if k["region_kato"] == "610000000")
    assert row["population"] == 600_000 and row["population_basis"]["districts_with"] == 2
    header, rows = report_tables(data, "en")["KPI"]
    cells = next(r for r in rows if r[1] == "Turkistan Region")
    level = cells[header.index("Population used (level)")]
    assert level.startswith("region: district figures for 2 of 16 districts, region figures for the rest")


def test_loading_a_district_total_respreads_the_estimates_of_its_places(turkistan):
    """A district's total arrives: its places without a figure share the rest of it (flagged as estimates)."""
    district = next(
        d
        for d in turkistan.values()
        if Settlement.objects.filter(district=d, population_kind="estimate").exists()
        or settlements_counted().filter(district=d, population=0).exists()
    )
    figured = sum(
        settlements_counted()
        .filter(district=district)
        .exclude(population_kind__in=["estimate", "unknown"])
        .values_list("population", flat=True)
    )
    total = figured + 50_000
    data = _csv(f"{district.kato};;;всего;2025;;{total};{SOURCE};15.03.2025")
    assert district_population_load(data=data, filename="districts.csv").saved
    estimated = settlements_counted().filter(district=district, population_kind="estimate")
    assert estimated.exists()
    assert sum(estimated.values_list("population", flat=True)) == 50_000
