"""The public progress dashboard: anonymous in kk, ru and en; its counts are the planners' dashboard
selectors' figures for the same date; the approved plan only; no private field (executor, delay reason,
stage note, cost) reaches it."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.template.defaultfilters import floatformat
from django.test import Client
from django.utils.html import escape

from facilities.models import Facility, Measure
from layers.models import Region
from parcels.models import InfrastructureLink, Utility
from tests.conftest import parcel_with_act
from tests.tracking.conftest import chain_to
from tracking import selectors
from tracking.models import Plan, TrackedFacility
from tracking.services import plan_create

pytestmark = pytest.mark.django_db

URL = "/{lang}/maps/public/progress/"
AS_OF = date(2025, 3, 31)
SECRET_EXECUTOR = "EXECUTOR-PUBLIC-SECRET-41"
SECRET_REASON = "DELAY-REASON-PUBLIC-SECRET-42"
SECRET_NOTE = "STAGE-NOTE-PUBLIC-SECRET-43"
SECRET_COST = Decimal("918273645")
COLUMNS = ["planned", "opened", "done", "on_track", "not_started", "at_risk", "overdue"]


def _table(html: str, attribute: str) -> dict[str, list[int]]:
    """{row key: the seven counts} of the rows carrying `data-<attribute>`."""
    rows = re.findall(rf'<tr data-{attribute}="([^"]+)">(.*?)</tr>', html, flags=re.S)
    return {key: [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', body)] for key, body in rows}


def _expected(states: dict, key) -> dict:
    """The seven counts per key, from the planners' dashboard selector (status_matrix)."""
    matrix = selectors.status_matrix(states=states)
    out: dict = {}
    for (region_id, measure_id), statuses in matrix.items():
        k = key(region_id, measure_id)
        counts = out.setdefault(k, Counter())
        counts.update(statuses)
    opened = Counter(key(s.region_id, s.measure_id) for s in states.values() if "opened" in s.reached)
    return {
        k: [
            sum(c.values()),
            opened[k],
            c["done_on_time"] + c["done_late"],
            c["on_track"],
            c["not_started"],
            c["at_risk"],
            c["overdue"],
        ]
        for k, c in out.items()
    }


@pytest.fixture
def story(record):
    """Stage records on three tracked facilities (one opened, one under way, one with a private note),
    an executor and a delay reason, and a parcel whose utility link has a cost."""
    tracked = list(
        TrackedFacility.objects.filter(in_plan=True, facility__measure_id__in=[14, 24])
        .select_related("facility")
        .order_by("id")[:3]
    )
    chain_to(record, tracked[0], "opened", start="2024-02-01")
    chain_to(record, tracked[1], "design", start="2024-03-01")
    record(tracked[2], "parcel", "2024-04-01", note=SECRET_NOTE, executor=SECRET_EXECUTOR)
    TrackedFacility.objects.filter(pk=tracked[1].pk).update(executor=SECRET_EXECUTOR, overdue_reason=SECRET_REASON)
    facility = tracked[2].facility
    parcel = parcel_with_act(facility, cadastral_number="71-444-444-4441", act_number="ACT-PUBLIC-DASH-1")
    InfrastructureLink.objects.create(
        parcel=parcel, utility=Utility.objects.get(code="water"), region=facility.region, cost_kzt=SECRET_COST
    )
    return tracked


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_anonymous_sees_the_dashboard_in_each_language(lang):
    response = Client().get(URL.format(lang=lang))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{lang}">' in html
    assert html.count("<svg") >= 4  # by region, by measure, two KPIs
    assert 'id="region-table"' in html and 'id="measure-table"' in html
    if lang == "en":  # the session database has no school-age population: the page says so
        assert "No ESTIMATE: the portal has no school-age" in html
    # Linked from the public map's header.
    assert f'href="/{lang}/maps/public/progress/"' in Client().get(f"/{lang}/maps/public/").content.decode()


def test_counts_are_the_planners_dashboard_figures(story):
    html = Client().get(URL.format(lang="en"), {"as_of": AS_OF.isoformat()}).content.decode()
    states = selectors.facility_states_as_of(as_of=AS_OF)
    katos = dict(Region.objects.values_list("id", "kato"))
    by_region = _expected(states, lambda region_id, _m: katos[region_id])
    by_measure = _expected(states, lambda _r, measure_id: str(measure_id))
    zero = [0] * len(COLUMNS)
    regions = _table(html, "region")
    measures = _table(html, "measure")
    assert set(regions) == set(katos.values()) and set(measures) == {str(n) for n in range(14, 27)}
    assert regions == {kato: by_region.get(kato, zero) for kato in katos.values()}
    assert measures == {n: by_measure.get(n, zero) for n in measures}
    # The story shows up: one opened, something under way, something overdue or at risk by then.
    totals = [sum(col) for col in zip(*regions.values(), strict=True)]
    assert totals[0] == len(states) == Facility.objects.filter(tracking__in_plan=True).count()
    assert totals[1] >= 1 and totals[3] >= 1
    assert "Data as of 2025-03-31" in html
    title = Measure.objects.get(number=14).title_en
    assert f'<tr data-measure="14"><th scope="row">14. {escape(title[:40])}' in html


def test_kpis_are_against_the_targets_of_the_order(story):
    call_command("load_population", verbosity=0)
    html = Client().get(URL.format(lang="en"), {"as_of": AS_OF.isoformat()}).content.decode()
    targets = selectors.kpi_targets()
    national = {k.code: k for k in selectors.kpi_as_of(as_of=AS_OF) if k.region is None}
    for code in ("recreation_coverage", "additional_education_coverage"):
        section = re.search(rf'<section class="kpi" data-kpi="{code}">(.*?)</section>', html, flags=re.S).group(1)
        rows = dict(re.findall(r'<tr><th scope="row">(\d{4})</th>(.*?)</tr>', section, flags=re.S))
        assert set(rows) == {str(y) for y in targets[code]}
        for year, target in targets[code].items():
            assert rows[str(year)].startswith(f'<td class="num">{floatformat(target, "-2")}</td>'), (code, year)
        # 2025's estimate is the planners' national KPI value as of the same day.
        assert f'<td class="num">{floatformat(national[code].value, "-2")}</td>' in rows["2025"]
        assert "ESTIMATE" in section and "No ESTIMATE" not in section
    assert "places × shifts" in html


def test_no_private_field_reaches_the_page(story):
    for lang in ("en", "ru", "kk"):
        html = Client().get(URL.format(lang=lang), {"as_of": "2024-12-31"}).content.decode()
        for secret in (SECRET_EXECUTOR, SECRET_REASON, SECRET_NOTE, str(SECRET_COST), "918 273 645", "71-444-444-4441"):
            assert secret not in html
        # No facility is named: the page carries aggregates only.
        names = Facility.objects.filter(id__in=[t.facility_id for t in story]).values_list(f"name_{lang}", flat=True)
        for name in names:
            assert name and name not in html


def test_unapproved_plan_version_and_facilities_outside_plans_are_not_counted():
    before = _table(Client().get(URL.format(lang="en")).content.decode(), "region")
    # A draft of the next plan version that moves objects to another year, never approved.
    approved = Plan.objects.get(plan_measure_id=13, status=Plan.Status.APPROVED)
    draft = plan_create(plan_measure=13, copy_from=approved)
    item = draft.items.order_by("id").first()
    item.year = 2024 if item.year != 2024 else 2025
    item.save(update_fields=["year"])
    # A facility entered but in no plan, and one an approved version dropped.
    template = Facility.objects.filter(tracking__in_plan=True, measure_id=24).first()
    template.pk, template.reference = None, ""
    template.save()
    dropped = TrackedFacility.objects.filter(in_plan=True).exclude(facility__region=template.region).first()
    TrackedFacility.objects.filter(pk=dropped.pk).update(in_plan=False)
    after = _table(Client().get(URL.format(lang="en")).content.decode(), "region")
    assert after[template.region.kato] == before[template.region.kato]
    dropped_kato = dropped.facility.region.kato
    assert after[dropped_kato][0] == before[dropped_kato][0] - 1


@pytest.mark.parametrize("value", ["2023-12-31", "2999-01-01", "yesterday"])
def test_a_bad_date_is_a_clear_400(value):
    response = Client().get(URL.format(lang="en"), {"as_of": value})
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
