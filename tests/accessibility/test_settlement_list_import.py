"""An official settlement list: rows matched to the bundled places by KATO code or by name in their district
(names normalised), official figures replacing tags and estimates, unmatched rows reported (service, page,
command), every bad row named at once and nothing saved."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from openpyxl import Workbook

from accessibility.place_names import name_key
from accessibility.services import SettlementImportError, settlements_import
from layers.models import Settlement
from layers.settlement_selectors import OSM_SOURCE, settlements_counted

SOURCE = "Turkistan region akimat, settlement list 2025"


def test_name_keys_ignore_case_yo_kazakh_letters_and_place_words():
    assert name_key("с. Қосшы") == name_key("КОСШЫ") == name_key("Косшы ауылы") == name_key("пос. Косшы")
    assert name_key("Алёшино") == name_key("алешино") and name_key("а.") == "а"


@pytest.fixture
def osm_village(db, region_b):
    """A named OSM village of Turkistan region whose name is unique in its region, and a KATO code in its district."""
    counted = settlements_counted().filter(region=region_b)
    keys: dict[str, int] = {}
    for name in counted.values_list("name", flat=True):
        keys[name_key(name)] = keys.get(name_key(name), 0) + 1
    place = next(
        s
        for s in counted.filter(source=OSM_SOURCE, place_class="village", district__isnull=False).order_by("pk")
        if s.name and keys[name_key(s.name)] == 1
    )
    place.list_kato = place.district.kato[:-1] + "1"
    return place


def _csv(place) -> str:
    return (
        "КАТО,Наименование,Численность населения,Дети 0-17,0-5,6-17,Дата,lon,lat\n"
        f'{place.list_kato},"с. {place.name.upper()}","1 500",600,200,400,01.01.2025,,\n'
        f"{place.list_kato[:-1]}2,Несуществующий,300,100,,,,,\n"
        "612030001,Новый аул,250,90,,,,68.4,42.4\n"
    )


def test_a_list_matches_by_name_reports_the_unmatched_and_replaces_the_figures(osm_village):
    before = Settlement.objects.count()
    result = settlements_import(content=_csv(osm_village), fmt="csv", source=SOURCE)
    assert (result.created, result.updated, result.matched["name"]) == (1, 1, 1)
    assert [(u["where"], u["name"]) for u in result.unmatched] == [("CSV line 3", "Несуществующий")]
    assert "no place of this name" in result.unmatched[0]["reason"]
    assert Settlement.objects.count() == before + 1  # the matched village is updated, not doubled
    osm_village.refresh_from_db()
    assert (osm_village.population, osm_village.child_population, osm_village.population_kind) == (
        1500,
        600,
        "official",
    )
    assert osm_village.population_by_age == {"0-5": 200, "6-17": 400}
    assert (osm_village.population_source, osm_village.population_date) == (SOURCE, date(2025, 1, 1))
    assert osm_village.kato == osm_village.list_kato and osm_village.source == OSM_SOURCE
    new = Settlement.objects.get(source=SOURCE, name="Новый аул")
    assert new.population_kind == "official" and new.region.kato == "610000000"
    # Again: the village is found by its KATO code now, the new place by its row; nothing is added.
    again = settlements_import(content=_csv(osm_village), fmt="csv", source=SOURCE)
    assert (again.created, again.updated, again.matched["kato"], len(again.unmatched)) == (0, 2, 1, 1)
    assert Settlement.objects.count() == before + 1


def test_every_bad_row_is_named_at_once_and_nothing_is_saved(db):
    text = (
        "kato,name,population,child_population,lon,lat\n"
        "612030001,A,abc,,68.4,42.4\n"
        "61203,B,100,200,68.4,42.4\n"
        ",C,100,,,\n"
        "612030004,D,100,,68.4,542.4\n"
    )
    before = Settlement.objects.count()
    with pytest.raises(SettlementImportError) as caught:
        settlements_import(content=text, fmt="csv", source="bad list")
    errors = caught.value.errors
    assert any(e.startswith("CSV line 2: field 'population'") for e in errors)
    assert any(e.startswith("CSV line 3: field 'kato'") for e in errors)
    assert any(e.startswith("CSV line 3: child_population 200 exceeds population 100") for e in errors)
    assert any(e.startswith("CSV line 4: give a KATO code or coordinates") for e in errors)
    assert any(e.startswith("CSV line 5: (68.4, 542.4) is not a longitude/latitude") for e in errors)
    assert Settlement.objects.count() == before


def test_an_xlsx_list_with_kazakh_headers(db):
    book = Workbook()
    sheet = book.active
    sheet.append(["Елді мекеннің тізімі"])  # a title line above the header
    sheet.append([])
    sheet.append(["КАТО коды", "Атауы", "Халық саны", "Балалар саны", "Бойлық", "Ендік"])
    sheet.append(["612030009", "Жаңа ауыл", 1200, 500, 68.41, 42.41])
    data = io.BytesIO()
    book.save(data)
    result = settlements_import(content=data.getvalue(), fmt="xlsx", source="xlsx list", source_date=date(2025, 1, 1))
    assert result.created == 1
    place = Settlement.objects.get(source="xlsx list")
    assert (place.name, place.population, place.child_population, place.kato) == ("Жаңа ауыл", 1200, 500, "612030009")
    assert place.population_date == date(2025, 1, 1)


def test_the_page_lists_the_unmatched_rows(client, planner, osm_village):
    client.force_login(planner)
    upload = SimpleUploadedFile("list.csv", _csv(osm_village).encode(), content_type="text/csv")
    resp = client.post("/en/accessibility/settlements/import/", {"file": upload, "source": SOURCE})
    html = resp.content.decode()
    assert resp.status_code == 200 and "1 row matched no place and was not imported" in html
    assert "Несуществующий" in html and "CSV line 3" in html


def test_the_command_prints_the_unmatched_rows(osm_village, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(_csv(osm_village), encoding="utf-8")
    out = io.StringIO()
    call_command("import_settlements", str(path), source=SOURCE, date="01.02.2025", stdout=out)
    text = out.getvalue()
    assert "1 created, 1 updated" in text and "unmatched: CSV line 3: Несуществующий" in text
