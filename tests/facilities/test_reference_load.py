"""The database holds the roadmap exactly as the order states it (loaded from facilities/data)."""

import json

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum

from facilities.models import ConstructionQuota, Facility, KpiTarget, Measure
from facilities.services import ROADMAP_JSON, reference_data_load
from layers.models import Region

DATA = json.loads(ROADMAP_JSON.read_text(encoding="utf-8"))


def test_measures_and_quotas_match_the_order(db):
    assert list(Measure.objects.values_list("number", flat=True)) == list(range(1, 27))
    health = ConstructionQuota.objects.filter(measure_id__lte=17).aggregate(n=Sum("count"))["n"]
    creative = ConstructionQuota.objects.filter(measure_id__gte=18).aggregate(n=Sum("count"))["n"]
    assert (health, creative) == (50, 100)
    for row in DATA["quotas"]:
        quota = ConstructionQuota.objects.get(measure_id=row["measure"])
        assert sorted(quota.regions.values_list("kato", flat=True)) == sorted(row["regions"])
        assert (quota.count, quota.ppp_count, quota.target_stage) == (
            row["count"],
            row["ppp_count"],
            row["target_stage"],
        )
    assert ConstructionQuota.objects.get(measure_id=17).target_stage == "expertise"
    assert ConstructionQuota.objects.get(measure_id=24).ppp_count == 3


def test_deadlines_forms_and_responsible_bodies(db):
    m5 = Measure.objects.get(number=5)
    assert m5.deadline_end.isoformat() == "2024-03-31"
    assert m5.completion_form_code == "land_use_act"
    assert list(m5.responsible.values_list("code", flat=True)) == ["ЖАО"]
    m11 = Measure.objects.get(number=11)
    assert m11.deadline_kind == "recurring" and m11.recurrence_months == [6, 12]
    assert Measure.objects.get(number=6).deadline_end.isoformat() == "2025-12-31"
    for row in DATA["measures"]:
        measure = Measure.objects.get(number=row["number"])
        assert measure.title_kk == row["title_kk"]
        assert measure.deadline_text_kk == row["deadline_text_kk"]


def test_kpi_targets(db):
    targets = {(t.indicator_id, t.year): float(t.value) for t in KpiTarget.objects.all()}
    assert targets[("recreation_coverage", 2026)] == 12.0
    assert targets[("additional_education_coverage", 2024)] == 86.3


def test_twenty_regions_with_kato_and_iso(db):
    assert Region.objects.count() == 20
    assert set(Region.objects.values_list("kind", flat=True)) == {"oblast", "city"}
    assert Region.objects.filter(kind="city").count() == 3
    assert Region.objects.get(iso_3166_2="KZ-ULT").name_en.startswith("Ulytau")


def test_reference_load_is_idempotent(db):
    before = (Measure.objects.count(), ConstructionQuota.objects.count(), Region.objects.count())
    reference_data_load()
    assert (Measure.objects.count(), ConstructionQuota.objects.count(), Region.objects.count()) == before


def _violates(callable_):
    with pytest.raises(IntegrityError), transaction.atomic():
        callable_()


def test_database_constraints_reject_invalid_rows(db):
    region = Region.objects.first()
    facility = Facility.objects.first()
    base = {
        "kind_id": facility.kind_id,
        "region": region,
        "name_kk": "a",
        "name_ru": "a",
        "name_en": "a",
        "places": 10,
        "planned_year": 2025,
    }
    _violates(lambda: Facility.objects.create(measure_id=5, **base))  # not a construction measure
    _violates(lambda: Facility.objects.create(measure_id=14, **{**base, "places": 0}))
    _violates(lambda: Facility.objects.create(measure_id=14, **{**base, "planned_year": 2030}))
    _violates(lambda: Facility.objects.create(measure_id=14, **{**base, "name_en": ""}))
    _violates(lambda: ConstructionQuota.objects.filter(measure_id=14).update(ppp_count=5))
    _violates(lambda: KpiTarget.objects.filter(year=2024).update(value=150))
    _violates(lambda: Measure.objects.filter(number=3).update(deadline_start="2030-01-01"))


def test_demo_plan_follows_every_quota(db):
    demo = Facility.objects.filter(is_demo=True)
    assert demo.count() == 150
    for quota in ConstructionQuota.objects.prefetch_related("regions"):
        rows = demo.filter(measure_id=quota.measure_id)
        assert rows.count() == quota.count
        assert rows.filter(is_ppp=True).count() == quota.ppp_count
        assert rows.exclude(kind_id=quota.object_kind_id).count() == 0
        named = set(quota.regions.values_list("id", flat=True))
        used = set(rows.values_list("region_id", flat=True))
        assert used == named, f"measure {quota.measure_id}: every named region gets an object, no other"
    per_region = demo.values("region").annotate(n=Count("id"))
    assert sum(r["n"] for r in per_region) == 150
