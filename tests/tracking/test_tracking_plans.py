"""Consolidated plans (measures 12, 13): every rule of the order, check → approve, versions."""

import pytest
from django.db import IntegrityError, transaction

from layers.models import District, Region
from tracking.models import Plan, PlanItem, TrackedFacility
from tracking.services import (
    PermissionDeniedError,
    TrackingError,
    plan_approve,
    plan_check,
    plan_create,
    plan_item_add,
    plan_validate,
)


def rules(plan):
    return sorted((v.rule, v.measure) for v in plan_validate(plan=plan))


def test_demo_plans_are_valid_and_approved(plans):
    assert set(plans) == {12, 13}
    for plan in plans.values():
        plan.refresh_from_db()
        assert plan.status == Plan.Status.APPROVED
        assert plan_validate(plan=plan) == []
    assert sum(i.count for i in plans[12].items.all()) == 50
    assert sum(i.count for i in plans[13].items.all()) == 100
    assert TrackedFacility.objects.filter(in_plan=True).count() == 150
    ppp = {m: sum(i.ppp_count for i in plans[13].items.filter(measure_id=m)) for m in (23, 24, 25)}
    assert ppp == {23: 1, 24: 3, 25: 1}


@pytest.fixture
def draft13(plans):
    """A new draft version of plan 13, copied from the approved one (valid)."""
    return plan_create(plan_measure=13, copy_from=plans[13])


def test_count_mismatch_listed_per_measure_and_total(draft13):
    item = draft13.items.filter(measure_id=22).first()
    PlanItem.objects.filter(pk=item.pk).update(count=item.count + 2)
    assert rules(draft13) == [("count_mismatch", 22), ("total_mismatch", None)]
    messages = [v.message for v in plan_validate(plan=draft13)]
    assert any("16" in m and "14" in m for m in messages)  # "has 16 objects, the order requires 14"


def test_region_not_named_by_the_measure(draft13):
    astana = Region.objects.get(kato="710000000")
    # Measure 19 names Zhetisu, Karaganda, Kyzylorda, Pavlodar, Turkistan — not Astana.
    plan_item_add(plan=draft13, measure=19, region_id=astana.id, year=2024, count=1)
    assert ("region_not_named", 19) in rules(draft13)
    assert ("count_mismatch", 19) in rules(draft13)


def test_ppp_count_must_match(draft13):
    PlanItem.objects.filter(plan=draft13, measure_id=24).update(ppp_count=0)
    assert rules(draft13) == [("ppp_mismatch", 24)]


def test_every_named_region_gets_an_object(draft13):
    # Move Astana's measure-20 object to Turkistan: counts still add up, Astana has none.
    astana, turkistan = Region.objects.get(kato="710000000"), Region.objects.get(kato="610000000")
    astana_items = list(draft13.items.filter(measure_id=20, region=astana))
    moved = sum(i.count for i in astana_items)
    PlanItem.objects.filter(pk__in=[i.pk for i in astana_items]).delete()
    plan_item_add(plan=draft13, measure=20, region_id=turkistan.id, year=2026 - 2, count=moved, district_id=None)
    assert rules(draft13) == [("region_without_objects", 20)]


def test_district_must_lie_in_the_region_and_year_within_deadline(draft13):
    astana = Region.objects.get(kato="710000000")
    foreign = District.objects.exclude(region=astana).first()
    item = draft13.items.filter(measure_id=24, region=astana).first()
    PlanItem.objects.filter(pk=item.pk).update(district=foreign)
    # Measure 19 is due Dec 2024: a 2025 row is after its deadline.
    PlanItem.objects.filter(plan=draft13, measure_id=19).update(year=2025)
    assert ("district_outside_region", 24) in rules(draft13)
    assert ("year_after_deadline", 19) in rules(draft13)


def test_measure_of_the_other_plan_is_rejected(plans):
    draft12 = plan_create(plan_measure=12, copy_from=plans[12])
    PlanItem.objects.create(
        plan=draft12, measure_id=18, region=Region.objects.get(kato="710000000"), year=2024, count=1
    )
    assert ("measure_not_in_plan", 18) in rules(draft12)
    with pytest.raises(TrackingError) as exc:
        plan_item_add(plan=draft12, measure=18, region_id=1, year=2024, count=1)
    assert "measure" in exc.value.problems


def test_every_violation_is_listed_at_once_and_blocks_check(draft13):
    PlanItem.objects.filter(plan=draft13, measure_id=24).update(ppp_count=0)
    PlanItem.objects.filter(plan=draft13, measure_id=26).first().delete()
    found = rules(draft13)
    assert ("ppp_mismatch", 24) in found and ("count_mismatch", 26) in found and ("total_mismatch", None) in found
    assert plan_check(plan=draft13) != []
    draft13.refresh_from_db()
    assert draft13.status == Plan.Status.DRAFT
    with pytest.raises(TrackingError):
        plan_approve(plan=draft13)


def test_new_version_supersedes_and_keeps_facilities(plans, draft13, planner):
    before = set(TrackedFacility.objects.filter(facility__measure_id__gte=18).values_list("facility_id", flat=True))
    assert plan_check(plan=draft13, user=planner) == []
    result = plan_approve(plan=draft13, user=planner)
    assert result == {"linked": 100, "created": 0, "dropped": 0}
    plans[13].refresh_from_db()
    assert plans[13].status == Plan.Status.SUPERSEDED
    assert draft13.version == plans[13].version + 1
    after = set(TrackedFacility.objects.filter(plan_item__plan=draft13).values_list("facility_id", flat=True))
    assert after == before


def test_approving_a_plan_with_more_objects_in_a_cell_creates_facilities(plans, planner):
    draft = plan_create(plan_measure=13, copy_from=plans[13], user=planner)
    # Move one measure-22 object from one named region's row to another's (totals unchanged).
    rows = list(draft.items.filter(measure_id=22).order_by("region__kato", "id"))
    per_region = {}
    for r in rows:
        per_region[r.region_id] = per_region.get(r.region_id, 0) + r.count
    donor = next(r for r in rows if per_region[r.region_id] > 1)
    receiver = next(r for r in rows if r.region_id != donor.region_id)
    if donor.count > 1:
        PlanItem.objects.filter(pk=donor.pk).update(count=donor.count - 1)
    else:
        donor.delete()
    PlanItem.objects.filter(pk=receiver.pk).update(count=receiver.count + 1)
    assert plan_check(plan=draft, user=planner) == []
    result = plan_approve(plan=draft, user=planner)
    assert result["created"] == 1 and result["dropped"] == 1
    assert TrackedFacility.objects.filter(in_plan=True).count() == 150


def test_only_the_ministry_edits_plans(plans, akimat_a):
    with pytest.raises(PermissionDeniedError):
        plan_create(plan_measure=13, user=akimat_a)


def test_database_constraints_on_plan_items(plans):
    draft = plan_create(plan_measure=12)
    region = Region.objects.get(kato="110000000")
    with pytest.raises(IntegrityError), transaction.atomic():
        PlanItem.objects.create(plan=draft, measure_id=14, region=region, year=2024, count=1, ppp_count=2)
    PlanItem.objects.create(plan=draft, measure_id=14, region=region, year=2024, count=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        PlanItem.objects.create(plan=draft, measure_id=14, region=region, year=2024, count=1)
    with pytest.raises(IntegrityError), transaction.atomic():  # one approved version per plan
        Plan.objects.filter(pk=draft.pk).update(status="approved", approved_at="2024-01-01T00:00:00Z")
