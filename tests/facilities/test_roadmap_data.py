"""Checks of facilities/data/roadmap.json against Order No. 191-ө (no Django, no database).

The Kazakh strings must occur verbatim in the order text; the region lists and
counts are checked against the README translation table, written out here by
hand as an independent source.
"""

import json
import re
from pathlib import Path

import pytest

HERE = Path(__file__).resolve()
PROJECT = HERE.parents[2]
DATA_FILE = PROJECT / "facilities" / "data" / "roadmap.json"
# The order's text ships in the repository (data/NOTICE.md); the same path as settings.ORDER_TEXT_PATH.
ORDER_FILE = PROJECT / "data" / "order" / "roadmap-191-o.txt"


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def data() -> dict:
    return json.loads(DATA_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def order_text() -> str:
    return collapse(ORDER_FILE.read_text(encoding="utf-8"))


def measures_by_number(data: dict) -> dict:
    return {m["number"]: m for m in data["measures"]}


def quotas_by_measure(data: dict) -> dict:
    return {q["measure"]: q for q in data["quotas"]}


# Region English name (as in the README) -> KATO of the 2024 ADM1 layer.
KATO = {
    "Abai": "100000000",
    "Akmola": "110000000",
    "Aktobe": "150000000",
    "Almaty": "190000000",  # Almaty region (oblys)
    "Atyrau": "230000000",
    "West Kazakhstan": "270000000",
    "Zhambyl": "310000000",
    "Zhetisu": "330000000",
    "Karaganda": "350000000",
    "Kostanay": "390000000",
    "Kyzylorda": "430000000",
    "Mangystau": "470000000",
    "Pavlodar": "550000000",
    "North Kazakhstan": "590000000",
    "Turkistan": "610000000",
    "Ulytau": "620000000",
    "East Kazakhstan": "630000000",
    "Astana city": "710000000",
    "Almaty city": "750000000",
    "Shymkent city": "790000000",
}

# The README table "regions" column, in the order's order (oblasts, then cities).
EXPECTED_REGIONS = {
    14: ["Akmola", "Zhambyl"],
    15: ["Abai", "Atyrau", "Kostanay", "Astana city"],
    16: [
        "Abai",
        "Akmola",
        "Aktobe",
        "Almaty",
        "Atyrau",
        "West Kazakhstan",
        "Zhetisu",
        "Karaganda",
        "Kyzylorda",
        "Mangystau",
        "Pavlodar",
        "North Kazakhstan",
        "Turkistan",
        "Ulytau",
        "East Kazakhstan",
        "Almaty city",
        "Shymkent city",
    ],
    17: [
        "Abai",
        "Akmola",
        "Aktobe",
        "Almaty",
        "Atyrau",
        "West Kazakhstan",
        "Zhambyl",
        "Zhetisu",
        "Karaganda",
        "Kyzylorda",
        "Mangystau",
        "Pavlodar",
        "Turkistan",
        "Ulytau",
        "Almaty city",
        "Shymkent city",
    ],
    18: ["Zhambyl", "Kostanay", "Mangystau", "Pavlodar", "Turkistan", "Astana city", "Almaty city", "Shymkent city"],
    19: ["Zhetisu", "Karaganda", "Kyzylorda", "Pavlodar", "Turkistan"],
    20: ["Aktobe", "Mangystau", "Turkistan", "Astana city"],
    21: ["Abai", "Almaty", "Ulytau", "Astana city"],
    22: [
        "Abai",
        "Atyrau",
        "Aktobe",
        "West Kazakhstan",
        "Karaganda",
        "Kostanay",
        "Pavlodar",
        "North Kazakhstan",
        "Turkistan",
        "Almaty city",
    ],
    23: ["Akmola", "Almaty", "Atyrau", "Kyzylorda", "Shymkent city"],
    24: [
        "Abai",
        "Akmola",
        "Atyrau",
        "Aktobe",
        "East Kazakhstan",
        "West Kazakhstan",
        "Zhetisu",
        "Karaganda",
        "Kyzylorda",
        "Pavlodar",
        "North Kazakhstan",
        "Ulytau",
        "Turkistan",
        "Astana city",
        "Shymkent city",
    ],
    25: ["Aktobe", "East Kazakhstan", "West Kazakhstan", "Zhambyl", "Karaganda", "Kostanay", "Mangystau"],
    26: [
        "Abai",
        "Almaty",
        "Atyrau",
        "East Kazakhstan",
        "Zhetisu",
        "Zhambyl",
        "Mangystau",
        "North Kazakhstan",
        "Turkistan",
        "Astana city",
    ],
}

EXPECTED_COUNTS = dict(zip(range(14, 27), [2, 5, 23, 20, 10, 5, 6, 8, 14, 6, 22, 8, 21], strict=True))
EXPECTED_PPP = {23: 1, 24: 3, 25: 1}
EXPECTED_KINDS = {
    14: "year_round_health_centre",
    15: "health_centre",
    16: "health_centre",
    17: "health_centre",
    18: "innovative_creative_centre",
    19: "innovative_creative_centre",
    21: "innovative_creative_centre",
    23: "innovative_creative_centre",
    24: "innovative_creative_centre",
    25: "innovative_creative_centre",
    20: "art_school",
    22: "art_school",
    26: "art_school",
}
EXPERTISE_MEASURES = {17, 25, 26}
COMPOSED_FACILITY_KIND_NAMES = {"year_round_health_centre", "music_school"}


def test_26_measures_numbered_1_to_26(data):
    assert [m["number"] for m in data["measures"]] == list(range(1, 27))


def test_measure_sections(data):
    codes = {s["code"] for s in data["sections"]}
    assert {"1", "2", "2.1", "2.2"} <= codes
    for m in data["measures"]:
        expected = "1" if m["number"] <= 13 else "2.1" if m["number"] <= 17 else "2.2"
        assert m["section"] == expected, m["number"]


@pytest.mark.parametrize("field", ["title_kk", "completion_form_kk", "deadline_text_kk", "responsible_text_kk"])
def test_measure_kazakh_fields_verbatim(data, order_text, field):
    missing = [m["number"] for m in data["measures"] if collapse(m[field]) != m[field] or m[field] not in order_text]
    assert not missing, f"{field} not verbatim in the order for measures {missing}"


def test_quota_regions_text_verbatim(data, order_text):
    missing = [q["measure"] for q in data["quotas"] if q["regions_text_kk"] not in order_text]
    assert not missing


def test_kpi_names_verbatim(data, order_text):
    for kpi in data["kpis"]:
        assert kpi["name_kk"] in order_text, kpi["code"]


def test_other_kazakh_strings_verbatim(data, order_text):
    assert data["source"]["title_kk"] in order_text
    for section in data["sections"]:
        assert section["title_kk"] in order_text, section["code"]
    for abbr in data["abbreviations"]:
        assert f"{abbr['abbr']} – {abbr['full_kk']}" in order_text, abbr["abbr"]
    for kind in data["facility_kinds"]:
        if kind["code"] not in COMPOSED_FACILITY_KIND_NAMES:
            assert kind["name_kk"] in order_text, kind["code"]


def test_completion_forms_consistent(data):
    allowed = {
        "information_system",
        "certificates",
        "information_to_government",
        "government_decree",
        "land_use_act",
        "balance_delimitation_act",
        "minister_order",
        "methodological_recommendations",
        "information_to_ministry",
        "consolidated_plan",
        "acceptance_act",
        "state_expertise_conclusion",
    }
    by_code = {}
    for m in data["measures"]:
        assert m["completion_form_code"] in allowed
        by_code.setdefault(m["completion_form_code"], set()).add(m["completion_form_kk"])
    assert all(len(texts) == 1 for texts in by_code.values()), by_code


def test_quota_sums(data):
    quotas = quotas_by_measure(data)
    assert sorted(quotas) == list(range(14, 27))
    assert sum(quotas[n]["count"] for n in range(14, 18)) == 50
    assert sum(quotas[n]["count"] for n in range(18, 27)) == 100


def test_quota_counts(data):
    assert {n: q["count"] for n, q in quotas_by_measure(data).items()} == EXPECTED_COUNTS


def test_quota_ppp_counts(data):
    for n, q in quotas_by_measure(data).items():
        assert q["ppp_count"] == EXPECTED_PPP.get(n, 0), n


def test_quota_target_stages(data):
    measures = measures_by_number(data)
    for n, q in quotas_by_measure(data).items():
        expected = "expertise" if n in EXPERTISE_MEASURES else "acceptance"
        assert q["target_stage"] == expected, n
        form = "state_expertise_conclusion" if n in EXPERTISE_MEASURES else "acceptance_act"
        assert measures[n]["completion_form_code"] == form, n


def test_quota_object_kinds(data):
    kinds = {k["code"] for k in data["facility_kinds"]}
    for n, q in quotas_by_measure(data).items():
        assert q["object_kind"] == EXPECTED_KINDS[n], n
        assert q["object_kind"] in kinds


@pytest.mark.parametrize("number", sorted(EXPECTED_REGIONS))
def test_quota_regions(data, number):
    expected = [KATO[name] for name in EXPECTED_REGIONS[number]]
    assert quotas_by_measure(data)[number]["regions"] == expected


def test_almaty_region_and_city_are_distinct(data):
    quotas = quotas_by_measure(data)
    assert KATO["Almaty"] in quotas[21]["regions"] and KATO["Almaty city"] not in quotas[21]["regions"]
    assert KATO["Almaty city"] in quotas[22]["regions"] and KATO["Almaty"] not in quotas[22]["regions"]


@pytest.mark.parametrize(
    ("number", "end"),
    [
        (1, "2024-12-31"),
        (5, "2024-03-31"),
        (6, "2025-12-31"),
        (4, "2024-02-29"),
        (14, "2024-01-31"),
        (2, "2026-12-31"),
        (16, "2025-05-31"),
        (26, "2026-12-31"),
    ],
)
def test_deadline_end(data, number, end):
    measure = measures_by_number(data)[number]
    assert measure["deadline_end"] == end
    assert measure["deadline_start"] <= measure["deadline_end"]


def test_deadline_kinds(data):
    measures = measures_by_number(data)
    assert measures[5]["deadline_kind"] == "quarter"
    assert measures[5]["deadline_start"] == "2024-01-01"
    assert measures[6]["deadline_kind"] == "period"
    assert measures[1]["deadline_kind"] == "month"
    assert measures[1]["deadline_start"] == "2024-12-01"


def test_recurring_measure_11(data):
    measures = measures_by_number(data)
    m11 = measures[11]
    assert m11["deadline_kind"] == "recurring"
    assert m11["recurrence_months"] == [6, 12]
    assert m11["deadline_start"] == "2024-01-01"
    assert m11["deadline_end"] == "2026-12-31"
    assert [n for n, m in measures.items() if m["recurrence_months"]] == [11]


def test_responsible_codes_are_bodies(data):
    codes = [b["code"] for b in data["bodies"]]
    assert len(codes) == len(set(codes))
    assert "МЖӘ" not in codes
    assert set(codes) == {"ОМ", "ҒЖБМ", "ЖАО", "МАМ", "ТСМ", "ЦДИАӨМ", 'РМҚК "РҚББОӘО"'}
    for m in data["measures"]:
        assert m["responsible"], m["number"]
        for code in m["responsible"]:
            assert code in codes, (m["number"], code)
    measures = measures_by_number(data)
    assert measures[1]["responsible"] == ["ОМ", "ЦДИАӨМ"]
    assert measures[13]["responsible"] == ["ОМ", "МАМ", "ТСМ", "ЖАО"]
    assert measures[9]["responsible"] == ["ОМ", 'РМҚК "РҚББОӘО"']


def test_bodies_named_from_abbreviation_list(data):
    full = {a["abbr"]: a["full_kk"] for a in data["abbreviations"]}
    assert set(full) == {"ОМ", "ҒЖБМ", "ЖАО", "МАМ", "ТСМ", "ЦДИАӨМ", 'РМҚК "РҚББОӘО"', "МЖӘ"}
    for body in data["bodies"]:
        assert body["name_kk"] == full[body["code"]]
        assert body["name_ru"] and body["name_en"]


def test_kpis(data):
    kpis = {k["code"]: k for k in data["kpis"]}
    assert kpis["recreation_coverage"]["baseline"] == 7.6
    assert kpis["recreation_coverage"]["targets"] == {"2024": 8.0, "2025": 10.0, "2026": 12.0}
    assert kpis["additional_education_coverage"]["baseline"] == 81.1
    assert kpis["additional_education_coverage"]["targets"] == {"2024": 86.3, "2025": 90.0, "2026": 95.0}
    for kpi in kpis.values():
        assert kpi["unit"] == "%" and kpi["baseline_year"] == 2023


def test_20_regions_with_unique_kato(data):
    regions = data["regions"]
    katos = [r["kato"] for r in regions]
    assert len(regions) == 20
    assert len(set(katos)) == 20
    assert set(katos) == set(KATO.values())
    assert all(re.fullmatch(r"\d{9}", k) for k in katos)
    types = {r["kato"]: r["type"] for r in regions}
    assert sorted(k for k, t in types.items() if t == "city") == ["710000000", "750000000", "790000000"]
    assert len({r["iso_3166_2"] for r in regions}) == 20


def test_quota_regions_are_known_regions(data):
    katos = {r["kato"] for r in data["regions"]}
    used = set()
    for q in data["quotas"]:
        assert set(q["regions"]) <= katos
        assert len(q["regions"]) == len(set(q["regions"]))
        used |= set(q["regions"])
    assert used == katos  # every region of the country is named by at least one measure
