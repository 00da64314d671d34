"""KPIs as measured, not only as estimated: the ministry's measured values (entry, permissions,
validation, history), the estimate's children per place a year by facility kind, and the KPI page and
report rows that show target, measured value and estimate side by side."""

from __future__ import annotations

import html
import json
import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from facilities.models import FacilityKind
from gis_portal.demo import demo_counts
from tests.tracking.conftest import at
from tracking.demo import DEMO_KPI_SOURCE, demo_kpi_measurements_create
from tracking.models import KpiMeasurement, Report, TrackedFacility
from tracking.reports import report_data_build, report_tables
from tracking.selectors import kpi_as_of, kpi_measured_as_of
from tracking.services import (
    PermissionDeniedError,
    TrackingError,
    kpi_measurement_set,
    school_age_official_set,
)

pytestmark = pytest.mark.django_db

URL = "/en/tracking/kpi/measured/"
AS_OF = date(2025, 7, 1)
VALID = {
    "indicator": "recreation_coverage",
    "period_end": "2025-06-30",
    "value": "8.40",
    "source": "Bureau of statistics, bulletin 7",
    "source_date": "2025-07-10",
}


def _measured(**kw):
    """A national recreation value for the first half of 2025, entered on 15 July 2025."""
    args = {
        "indicator": "recreation_coverage",
        "region_id": None,
        "period_end": date(2025, 6, 30),
        "value": "8.4",
        "source": "Bureau of statistics, bulletin 7",
        "source_date": date(2025, 7, 10),
        "entered_at": at("2025-07-15"),
    }
    return kpi_measurement_set(**{**args, **kw})


# --- entry -------------------------------------------------------------------------------------------


def test_ministry_enters_and_corrects_a_measured_value(client, planner, region_a):
    client.force_login(planner)
    assert client.get(URL).status_code == 200
    response = client.post(URL, VALID)
    assert response.status_code == 302
    m = KpiMeasurement.objects.get()
    assert (m.indicator_id, m.region_id, m.period_end, m.value, m.source, m.source_date, m.entered_by) == (
        "recreation_coverage",
        None,
        date(2025, 6, 30),
        Decimal("8.40"),
        "Bureau of statistics, bulletin 7",
        date(2025, 7, 10),
        planner,
    )
    # A regional value is a separate row; the same indicator, region and half-year again corrects it.
    assert client.post(URL, {**VALID, "region": region_a.pk, "value": "11"}).status_code == 302
    assert client.post(URL, {**VALID, "value": "8.55"}).status_code == 302
    assert KpiMeasurement.objects.count() == 2
    assert KpiMeasurement.objects.get(region__isnull=True).value == Decimal("8.55")
    page = client.get(URL).content.decode()
    assert "8.55" in page and "11.00" in page and "Bureau of statistics, bulletin 7" in page


def test_entry_refused_for_akimat_and_anonymous(client, akimat_a, region_a):
    assert client.get(URL).status_code == 302  # anonymous: to the sign-in page
    client.post(URL, VALID)
    client.force_login(akimat_a)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {**VALID, "region": region_a.pk}).status_code == 403
    assert not KpiMeasurement.objects.exists()
    with pytest.raises(PermissionDeniedError):
        kpi_measurement_set(
            indicator="recreation_coverage",
            region_id=region_a.id,
            period_end=date(2025, 6, 30),
            value="9",
            source="own count",
            source_date=date(2025, 7, 1),
            user=akimat_a,
        )
    assert not KpiMeasurement.objects.exists()
    # The KPI page (readable by akimats) offers them no entry link.
    assert b"kpi/measured/" not in client.get("/en/tracking/kpi/").content


@pytest.mark.parametrize(
    "change, field",
    [
        ({"value": "150"}, "value"),
        ({"value": "-1"}, "value"),
        ({"value": "abc"}, "value"),
        ({"source": "   "}, "source"),
        ({"period_end": "2025-05-31"}, "period_end"),
        ({"source_date": ""}, "source_date"),
        ({"indicator": "unknown"}, "indicator"),
    ],
)
def test_invalid_input_is_a_form_error_and_nothing_is_saved(client, planner, change, field):
    client.force_login(planner)
    response = client.post(URL, {**VALID, **change})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not KpiMeasurement.objects.exists()


def test_service_and_database_refuse_bad_values(planner):
    for kw, field in (
        ({"value": "100.01"}, "value"),
        ({"value": "NaN"}, "value"),
        ({"source": ""}, "source"),
        ({"period_end": date(2025, 3, 31)}, "period_end"),
        ({"period_end": date(2099, 12, 31)}, "period_end"),  # the half-year has not ended
        ({"source_date": date(2099, 1, 1)}, "source_date"),
        ({"indicator": "unknown"}, "indicator"),
        ({"region_id": 999_999}, "region"),
    ):
        with pytest.raises(TrackingError) as exc:
            _measured(user=planner, **kw)
        assert field in exc.value.problems, kw
    assert not KpiMeasurement.objects.exists()
    base = {"indicator_id": "recreation_coverage", "source": "s", "source_date": date(2025, 7, 1)}
    for bad in (
        {"period_end": date(2025, 6, 30), "value": Decimal("100.5")},
        {"period_end": date(2025, 6, 29), "value": Decimal("5")},
        {"period_end": date(2025, 6, 30), "value": Decimal("5"), "source": ""},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            KpiMeasurement.objects.create(**{**base, **bad})
    _measured()
    with pytest.raises(IntegrityError), transaction.atomic():  # one national value per half-year
        KpiMeasurement.objects.create(**base, period_end=date(2025, 6, 30), value=Decimal("9"))


def test_measured_value_as_known_at_a_date():
    _measured()
    _measured(value="8.6", source="Bureau of statistics, bulletin 7 (revised)", entered_at=at("2025-08-01"))
    key = ("recreation_coverage", None)
    assert kpi_measured_as_of(as_of=AS_OF, known_at=date(2025, 7, 14)) == {}
    assert kpi_measured_as_of(as_of=AS_OF, known_at=date(2025, 7, 20))[key].value == 8.4
    later = kpi_measured_as_of(as_of=AS_OF, known_at=date(2025, 8, 2))[key]
    assert (later.value, later.source) == (8.6, "Bureau of statistics, bulletin 7 (revised)")
    # A half-year not ended by `as_of` is not shown.
    assert kpi_measured_as_of(as_of=date(2025, 6, 29), known_at=date(2025, 8, 2)) == {}


# --- estimate ----------------------------------------------------------------------------------------


@pytest.fixture
def opened(plans, region_a, record, planner):
    """Astana: the measure-15 health centre open since 15 Jan 2025 with 250 places in use, a measure-20
    art school open since 1 Apr 2025 with 120; the official school-age population of Astana (2025) is
    100,000 and no other region has a school-age figure, so the national sum is the same."""
    tracked = {
        t.facility.measure_id: t
        for t in TrackedFacility.objects.filter(facility__region=region_a, facility__measure_id__in=[15, 20])
    }
    for measure, accepted, opened_on, places in (
        (15, "2024-12-20", "2025-01-15", 250),
        (20, "2025-03-10", "2025-04-01", 120),
    ):
        t = tracked[measure]
        record(t, "parcel", "2023-03-01")
        record(t, "design", "2023-05-01")
        record(t, "expertise", "2023-08-01")
        record(t, "construction_started", "2023-09-01")
        record(t, "accepted", accepted)
        record(t, "opened", opened_on, places_in_use=places)
    school_age_official_set(region_id=region_a.id, year=2025, value=100_000, source="Test bureau", user=planner)
    return tracked


def _row(rows, code, region=None):
    return next(k for k in rows if k.code == code and (k.region.id if k.region else None) == region)


def test_estimate_counts_children_per_place_by_facility_kind(opened, region_a):
    health, art = opened[15].facility.kind, opened[20].facility.kind
    FacilityKind.objects.filter(pk=health.pk).update(shifts_per_year=3)
    FacilityKind.objects.filter(pk=art.pk).update(shifts_per_year=1)
    rows = kpi_as_of(as_of=AS_OF)
    rec, edu = _row(rows, "recreation_coverage", region_a.id), _row(rows, "additional_education_coverage", region_a.id)
    # 250 places × 3 shifts = 750 children a year; 750 / 100,000 = 0.75 p.p.
    assert (rec.places, rec.children, rec.added_pp, rec.population_level) == (250, 750, 0.75, "region")
    # 120 places × 1 = 120 children; 0.12 p.p.
    assert (edu.places, edu.children, edu.added_pp) == (120, 120, 0.12)
    national = _row(rows, "recreation_coverage")
    # National: baseline 7.6 + 0.75 over the sum of the regions' figures (Astana's alone here).
    assert (national.children, national.added_pp, national.value, national.population_level) == (
        750,
        0.75,
        8.35,
        "national",
    )
    # The shifts are data: another figure gives another estimate.
    FacilityKind.objects.filter(pk=health.pk).update(shifts_per_year=5)
    assert _row(kpi_as_of(as_of=AS_OF), "recreation_coverage", region_a.id).added_pp == 1.25


def test_health_kinds_run_several_shifts_from_the_reference_data():
    kinds = {k.code: k for k in FacilityKind.objects.all()}
    assert kinds["health_centre"].shifts_per_year > 1 and kinds["year_round_health_centre"].shifts_per_year > 1
    assert kinds["art_school"].shifts_per_year == 1
    assert all(k.shifts_basis for k in kinds.values())
    with pytest.raises(IntegrityError), transaction.atomic():
        FacilityKind.objects.filter(pk="art_school").update(shifts_per_year=0)


# --- pages and reports -------------------------------------------------------------------------------


def test_kpi_page_shows_target_measured_and_estimate_side_by_side(client, planner, opened, region_a):
    FacilityKind.objects.filter(pk=opened[15].facility.kind_id).update(shifts_per_year=3)
    _measured(user=planner)
    client.force_login(planner)
    page = client.get("/en/tracking/kpi/?as_of=2025-07-01&known_at=2025-07-20").content.decode()
    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    national = next(r for r in rows if "Bureau of statistics, bulletin 7" in r)
    cells = [
        html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", national, flags=re.S)
    ]
    # Indicator, region, target, measured (half-year, source, date), ESTIMATE added, ESTIMATE value, places,
    # ESTIMATE children a year, population used (level).
    assert cells[1] == "Kazakhstan" and cells[2] == "10.0"
    assert cells[3].startswith("8.4 (half-year to 2025-06-30; Bureau of statistics, bulletin 7, 2025-07-10")
    assert cells[4:8] == ["0.75", "8.35", "250", "750"]
    assert cells[8].startswith("national (sum of the regions' figures): 100000 (2025")
    astana = next(r for r in rows if "Astana" in r)  # the first table lists recreation first
    assert "not reported" in astana and "region: 100000" in astana
    assert "ESTIMATE: added by roadmap facilities, p.p." in page and "Measured, %" in page
    assert "Children served per place a year, by facility kind" in page and "ASSUMED" in page
    assert 'href="/en/tracking/kpi/measured/"' in page
    # Known only on 15 July: as of the same day, the measured value is not known yet.
    early = client.get("/en/tracking/kpi/?as_of=2025-07-01").content.decode()
    assert "Bureau of statistics, bulletin 7" not in early


def test_report_kpi_rows_carry_measured_value_and_source(opened, region_a, planner):
    _measured(user=planner)
    kpi_measurement_set(
        indicator="recreation_coverage",
        region_id=region_a.id,
        period_end=date(2025, 6, 30),
        value="12.5",
        source="Astana education department, letter 41",
        source_date=date(2025, 7, 3),
        user=planner,
        entered_at=at("2025-07-04"),
    )
    data = report_data_build(kind=Report.Kind.CONSOLIDATED, as_of=AS_OF)
    json.dumps(data)  # the snapshot stays JSON-serialisable
    national = next(k for k in data["kpis"] if k["code"] == "recreation_coverage" and k["region_kato"] == "")
    assert (
        national["target"],
        national["measured"],
        national["measured_period_end"],
        national["measured_source"],
        national["measured_source_date"],
        national["population_level"],
    ) == (10.0, 8.4, "2025-06-30", "Bureau of statistics, bulletin 7", "2025-07-10", "national")
    astana = next(k for k in data["kpis"] if k["code"] == "recreation_coverage" and k["region_kato"] == region_a.kato)
    assert (astana["measured"], astana["measured_source"], astana["population_level"]) == (
        12.5,
        "Astana education department, letter 41",
        "region",
    )
    header, rows = report_tables(data, "en")["KPI"]
    table = [dict(zip(header, row, strict=True)) for row in rows]
    kz = next(r for r in table if r["Region"] == "Kazakhstan" and r["Indicator"] == "recreation coverage")
    assert kz["Target, %"] == 10.0 and kz["Measured, %"] == 8.4
    assert kz["Measured: half-year, source, source date"] == (
        "half-year to 2025-06-30; Bureau of statistics, bulletin 7; 2025-07-10"
    )
    edu = next(r for r in table if r["Region"] == "Kazakhstan" and r["Indicator"] == "additional education coverage")
    assert edu["Measured, %"] == "" and edu["Measured: half-year, source, source date"] == "not reported"
    # The region's report carries its own measured value.
    regional = report_data_build(kind=Report.Kind.REGION, as_of=AS_OF, region=region_a)
    assert {k["code"]: k["measured"] for k in regional["kpis"]} == {
        "recreation_coverage": 12.5,
        "additional_education_coverage": None,
    }
    # A report frozen before measured values existed still renders ("not reported").
    old = {
        **data,
        "kpis": [
            {k: v for k, v in row.items() if not k.startswith(("measured", "population_level", "children"))}
            for row in data["kpis"]
        ],
    }
    assert report_tables(old, "en")["KPI"][1][0][4] == "not reported"


def test_demo_measured_values_are_flagged_and_registered_for_removal(client, planner):
    # Half-years ended by 1 Aug 2025 whose (invented) source is dated before it: Jun/Dec 2023, 2024,
    # Jun 2025 (its source is dated 20 Jul) for both indicators.
    assert demo_kpi_measurements_create(today=date(2025, 8, 1)) == 10
    assert set(KpiMeasurement.objects.values_list("is_demo", "source").distinct()) == {(True, DEMO_KPI_SOURCE)}
    assert demo_counts()["tracking.KpiMeasurement"] == 10
    client.force_login(planner)
    page = client.get("/en/tracking/kpi/?as_of=2025-08-01").content.decode()
    assert DEMO_KPI_SOURCE in page and "<strong>DEMO</strong>" in page
