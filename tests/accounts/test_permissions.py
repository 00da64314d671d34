"""The one permission check: akimat users are confined to their region; planners read everything."""

from accounts.permissions import Action, can, scope_queryset
from facilities.models import Facility


def test_akimat_sees_and_edits_only_its_region(akimat_a, region_a, region_b):
    assert can(akimat_a, Action.VIEW, region_id=region_a.id)
    assert can(akimat_a, Action.EDIT, region_id=region_a.id)
    assert not can(akimat_a, Action.VIEW, region_id=region_b.id)
    assert not can(akimat_a, Action.EDIT, region_id=region_b.id)
    assert not can(akimat_a, Action.PLAN, region_id=region_a.id)
    scoped = scope_queryset(akimat_a, Facility.objects.all())
    assert scoped.exists()
    assert set(scoped.values_list("region_id", flat=True)) == {region_a.id}


def test_planner_reads_all_and_plans_but_does_not_edit_akimat_records(planner, region_a):
    assert can(planner, Action.VIEW, region_id=region_a.id)
    assert can(planner, Action.PLAN, region_id=region_a.id)
    assert not can(planner, Action.EDIT, region_id=region_a.id)
    assert scope_queryset(planner, Facility.objects.all()).count() == Facility.objects.count()
    assert not scope_queryset(planner, Facility.objects.all(), action=Action.EDIT).exists()


def test_anonymous_gets_nothing(region_a):
    from django.contrib.auth.models import AnonymousUser

    anon = AnonymousUser()
    assert not can(anon, Action.VIEW, region_id=region_a.id)
    assert not scope_queryset(anon, Facility.objects.all()).exists()


def test_admin_does_everything(admin_user_role, region_b):
    assert can(admin_user_role, Action.EDIT, region_id=region_b.id)
    assert can(admin_user_role, Action.PLAN, region_id=None)
