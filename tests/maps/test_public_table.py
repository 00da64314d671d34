"""The public table beside the public map, its downloads and a facility's public timeline (issue 20):
the same facilities as the map for the same filters, sortable through the query string, three
downloads with the licence and "data as of", public fields only, anonymous, in kk, ru and en."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date

import openpyxl
import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from facilities.models import Facility
from maps.public_exports import COLUMNS, NOTICE_COLUMNS
from maps.public_table import SORT_KEYS
from maps.selectors import facility_queryset, facility_statuses
from parcels.models import Utility
from parcels.services import link_create, parcel_create
from tests.parcels.conftest import base_data, square
from tracking.models import STAGE_ORDER, StageRecord
from tracking.selectors import STATUS_LABELS
from tracking.services import stage_record_add

pytestmark = pytest.mark.django_db

TABLE = "/en/maps/public/table/"
DOWNLOADS = {
    "csv": "/en/maps/public/table/facilities.csv",
    "xlsx": "/en/maps/public/table/facilities.xlsx",
    "geojson": "/en/maps/public/table/facilities.geojson",
}
SECRETS = ["71-777-777-7777", "ACT-TABLE-SECRET-1", "BAL-TABLE-SECRET-2", "987654321", "EXEC-SECRET-3", "NOTE-SECRET-4"]


def table_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-facility="(\d+)"', html)]


def csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def map_ids(client, query: str) -> set[int]:
    # The map page is a shell: its facilities come from the GeoJSON its layer names (maps.public_views).
    html = client.get(f"/en/maps/public/?{query}").content.decode()
    url = re.search(r'"dataUrl": ?"([^"]+)"', html).group(1)
    return {int(f["id"]) for f in json.loads(client.get(url).content)["features"]}


@pytest.fixture
def private_facility(admin_user_role):
    """A public facility with a parcel (act), a costed utility link and a stage record with executor and note."""
    facility = (
        Facility.objects.filter(region__kato="710000000", tracking__in_plan=True, location__isnull=False)
        .order_by("pk")
        .first()
    )
    parcel = parcel_create(
        user=admin_user_role,
        facility=facility,
        geom=square(facility.location, 150),
        data=base_data(
            cadastral_number=SECRETS[0], act_number=SECRETS[1], act_date=date(2024, 3, 1), status="act_issued"
        ),
    ).obj
    link_create(
        user=admin_user_role,
        parcel=parcel,
        utility=Utility.objects.get(code="water"),
        data={"status": "planned", "balance_act_number": SECRETS[2], "cost_kzt": "987654321.00"},
    )
    stage_record_add(
        tracked=facility.tracking,
        stage="opened",
        planned_date=date(2026, 9, 1),
        executor=SECRETS[4],
        note=SECRETS[5],
    )
    return facility


@pytest.mark.parametrize(
    "query",
    ["", "kind=health_centre", "region=710000000", "status=not_started", "status=on_track", "kind=art_school"],
)
def test_table_lists_the_same_facilities_as_the_public_map(client, query):
    response = client.get(f"{TABLE}?{query}")
    assert response.status_code == 200
    ids = table_ids(response.content.decode())
    assert len(ids) == len(set(ids))
    assert set(ids) == map_ids(client, query)
    assert len(ids) == len(response.context["rows"])
    if not query.startswith("status"):
        assert ids, "the demo data has facilities for every one of these filters"


def test_a_status_nobody_has_is_an_empty_map_and_table_not_an_error(client):
    statuses = set(
        facility_statuses(as_of=timezone.localdate(), facility_ids=list(Facility.objects.values_list("pk", flat=True)))
    )
    missing = next(code for code in STATUS_LABELS if code not in statuses)
    assert map_ids(client, f"status={missing}") == set()
    response = client.get(f"{TABLE}?status={missing}")
    assert response.status_code == 200 and table_ids(response.content.decode()) == []
    assert "No facility matches these filters." in response.content.decode()


def test_table_and_map_link_to_each_other_with_the_same_filters(client):
    html = client.get("/en/maps/public/?kind=health_centre&region=710000000").content.decode()
    assert 'href="/en/maps/public/table/?kind=health_centre&amp;region=710000000"' in html
    html = client.get(f"{TABLE}?kind=health_centre&region=710000000&sort=-planned").content.decode()
    assert 'href="/en/maps/public/?kind=health_centre&amp;region=710000000"' in html
    for path in DOWNLOADS.values():
        assert f'href="{path}?kind=health_centre&amp;region=710000000&amp;sort=-planned"' in html


def _sort_value(row: dict, key: str):
    return {
        "name": row["name"].casefold(),
        "region": row["region_label"].casefold(),
        "kind": row["kind_label"].casefold(),
        "measure": int(row["measure"]),
        "stage": STAGE_ORDER.index(row["stage"]) if row["stage"] in STAGE_ORDER else -1,
        "planned": int(row["planned_year"]),
    }[key]


@pytest.fixture
def stages_reached():
    """Two facilities further on than the rest: one with its parcel, one with its design too."""
    facilities = Facility.objects.filter(tracking__in_plan=True, location__isnull=False, parcels__isnull=True)
    first, second = facilities.order_by("pk")[:2]
    for facility, stages in ((first, ["parcel"]), (second, ["parcel", "design"])):
        for n, stage in enumerate(stages):
            day = date(2024, 5 + n, 1)
            stage_record_add(tracked=facility.tracking, stage=stage, actual_date=day, doc_number=f"D-{n}", doc_date=day)
    return first, second


@pytest.mark.parametrize("key", list(SORT_KEYS))
def test_table_sorts_by_each_column_both_ways_through_the_query_string(client, key, stages_reached):
    for sort, descending in ((key, False), (f"-{key}", True)):
        rows = csv_rows(client.get(f"{DOWNLOADS['csv']}?sort={sort}").content)
        values = [_sort_value(r, key) for r in rows]
        assert values == sorted(values, reverse=descending), sort
        html = client.get(f"{TABLE}?sort={sort}").content.decode()
        # The page shows the rows in the order of the download (one sort for both).
        assert table_ids(html) == [int(r["id"]) for r in rows]
        assert f'data-key="{key}"' in html and f'aria-sort="{"descending" if descending else "ascending"}"' in html
    assert len({_sort_value(r, key) for r in rows}) > 1, "the demo data must have more than one value to sort by"


def test_bad_sort_or_filter_is_a_clear_400(client):
    response = client.get(f"{TABLE}?sort=price")
    assert response.status_code == 400
    assert "Unknown sort key price" in response.content.decode()
    response = client.get(f"{DOWNLOADS['csv']}?sort=-cost")
    assert response.status_code == 400
    assert "Unknown sort key -cost" in response.json()["errors"]["sort"][0]
    response = client.get(f"{DOWNLOADS['geojson']}?kind=castle")
    assert response.status_code == 400
    assert "castle" in response.json()["errors"]["kind"][0]


def _data_as_of(region: str) -> str:
    public = facility_queryset(region_kato=region).filter(location__isnull=False)
    edited = public.aggregate(at=Max("updated_at"))["at"]
    recorded = StageRecord.objects.filter(tracked__facility__in=public).aggregate(at=Max("recorded_at"))["at"]
    return max(t for t in (edited, recorded) if t is not None).isoformat()


def test_the_three_downloads_parse_back_with_licence_and_data_as_of(client):
    query = "region=710000000&sort=-planned"
    expected = table_ids(client.get(f"{TABLE}?{query}").content.decode())
    assert expected
    as_of = _data_as_of("710000000")
    before = timezone.now()

    response = client.get(f"{DOWNLOADS['csv']}?{query}")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"] and ".csv" in response["Content-Disposition"]
    rows = csv_rows(response.content)
    assert list(rows[0]) == COLUMNS + NOTICE_COLUMNS
    assert [int(r["id"]) for r in rows] == expected
    assert {r["licence"] for r in rows} == {settings.PUBLIC_DATA_LICENCE}
    assert all("geokz" in r["attribution"] and "OpenStreetMap" in r["attribution"] for r in rows)
    assert {r["data_as_of"] for r in rows} == {as_of}
    assert all(timezone.datetime.fromisoformat(r["generated_at"]) >= before for r in rows)
    assert {r["is_demo"] for r in rows} <= {"true", "false"}

    book = openpyxl.load_workbook(io.BytesIO(client.get(f"{DOWNLOADS['xlsx']}?{query}").content))
    facilities, about = book.worksheets
    header, *data = list(facilities.values)
    assert list(header) == COLUMNS
    assert [r[0] for r in data] == expected
    notes = {row[0]: row[1] for row in about.values}
    assert about.title == "About"
    assert notes["Licence"] == settings.PUBLIC_DATA_LICENCE
    assert notes["Data as of (last change)"] == as_of
    assert "geokz" in notes["Attribution"]
    assert notes["Source"].endswith(f"/en/maps/public/table/?{query}")

    response = client.get(f"{DOWNLOADS['geojson']}?{query}")
    assert response["Content-Type"] == "application/geo+json"
    collection = json.loads(response.content)
    assert collection["type"] == "FeatureCollection"
    assert [f["id"] for f in collection["features"]] == expected
    assert collection["licence"] == settings.PUBLIC_DATA_LICENCE
    assert collection["data_as_of"] == as_of and "geokz" in collection["attribution"]
    for feature in collection["features"]:
        assert feature["geometry"]["type"] == "Point"
        lon, lat = feature["geometry"]["coordinates"]
        assert 46 < lon < 88 and 40 < lat < 56
        assert set(feature["properties"]) == set(COLUMNS) - {"id", "lon", "lat"}


def test_data_as_of_moves_when_a_stage_is_recorded(client, private_facility):
    rows = csv_rows(client.get(f"{DOWNLOADS['csv']}?region=710000000").content)
    recorded = StageRecord.objects.filter(tracked__facility=private_facility).latest("recorded_at").recorded_at
    assert {r["data_as_of"] for r in rows} == {recorded.isoformat()}


def test_no_parcel_act_cost_executor_or_note_leaks(client, private_facility):
    pages = [
        f"{TABLE}?region=710000000",
        *(f"{path}?region=710000000" for path in DOWNLOADS.values()),
        f"/en/maps/facility/{private_facility.pk}/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.content
        if path.endswith(".xlsx?region=710000000"):
            book = openpyxl.load_workbook(io.BytesIO(body))
            body = "\n".join(str(v) for ws in book.worksheets for row in ws.values for v in row).encode()
        text = body.decode("utf-8-sig")
        for secret in SECRETS:
            assert secret not in text, (path, secret)
        for key in ("cadastral_number", "act_number", "cost_kzt", "balance_act_number", "executor", "is_ppp"):
            assert key not in text, (path, key)
    rows = csv_rows(client.get(f"{DOWNLOADS['csv']}?region=710000000").content)
    assert private_facility.pk in {int(r["id"]) for r in rows}


def test_facility_page_shows_the_public_timeline_only(client, private_facility):
    html = client.get(f"/en/maps/facility/{private_facility.pk}/").content.decode()
    assert 'id="public-timeline"' in html
    assert "Stage reached" in html and "Planned opening date" in html
    assert "01.09.2026" in html  # the planned opening recorded above
    assert html.count('<li class="') >= len(STAGE_ORDER)
    # No documents, executors, history or the staff timeline for the public.
    assert 'id="documents"' not in html and 'id="history"' not in html and "recorded by" not in html.lower()


def test_signed_in_region_user_sees_the_full_timeline_instead(client, private_facility, planner):
    client.force_login(planner)
    html = client.get(f"/en/maps/facility/{private_facility.pk}/").content.decode()
    assert 'id="public-timeline"' not in html and 'id="documents"' in html


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_table_renders_in_every_language_for_anonymous(client, lang):
    response = client.get(f"/{lang}/maps/public/table/?kind=health_centre")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{lang}"' in html
    assert table_ids(html)
    assert f'href="/{lang}/maps/public/table/facilities.csv?kind=health_centre"' in html
    names = set(Facility.objects.filter(pk__in=table_ids(html)).values_list(f"name_{lang}", flat=True))
    assert any(name in html for name in names)
    assert client.get(f"/{lang}/maps/public/table/facilities.xlsx").status_code == 200


def test_table_runs_a_constant_number_of_queries(client, django_assert_num_queries):
    client.get(TABLE)  # warm caches that are not per request (content types, translations)
    with CaptureQueriesContext(connection) as few:
        response = client.get(f"{TABLE}?region=710000000&kind=health_centre")
    all_rows = Facility.objects.filter(location__isnull=False).count()
    assert len(response.context["rows"]) < all_rows
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(TABLE)
    assert len(response.context["rows"]) == all_rows


def test_xlsx_keeps_a_name_that_looks_like_a_formula_as_text(client):
    facility = facility_queryset(region_kato="710000000").filter(location__isnull=False).order_by("pk").first()
    Facility.objects.filter(pk=facility.pk).update(name_en='=HYPERLINK("http://example.invalid","x")')
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"{DOWNLOADS['xlsx']}?region=710000000").content))
    (cell,) = [row[1] for row in book.worksheets[0].iter_rows(min_row=2) if row[0].value == facility.pk]
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://example.invalid","x")'
