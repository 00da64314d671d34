"""The one place that decides who may read or change region-bound objects.

Admin, forms, views and the API all call these functions; nothing else
inspects roles. Rules (issue 3):
- administrator (or Django superuser): reads and writes everything;
- ministry planner: reads everything, writes plans, not akimat records;
- akimat land department: reads and writes only its own region;
- anonymous / users without a role: nothing private.

Named predicates (the blocks at the end of this module), for questions about the role itself
rather than an action on an object:
- user_has_role: signed in, active, and an administrator or a member with a role;
- may_create_parcel: akimat land departments and administrators create and import parcels
  (planners read them only);
- may_write_some(action): may write records of `action` (EDIT or PLAN) in at least one region,
  asked before there is an object (the admin's add button and change lists): administrators
  always, akimat land departments for EDIT, planners for PLAN;
- role_is_administrator: the administrator role, whose users are Django superusers;
- is_ministry (administrator or planner: national scope), is_akimat, and role_is_ministry for
  a stored role value (a Membership row without its user);
- may_place_facility: who may set a facility's location (planners anywhere, akimat land departments
  in their own region); everything else of a facility is the ministry's (Action.PLAN).
"""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from accounts.models import Membership


class Action(StrEnum):
    VIEW = "view"
    EDIT = "edit"  # akimat records: parcels, infrastructure, stages
    PLAN = "plan"  # ministry records: consolidated plans, official figures


def user_role(user) -> str | None:
    """The role of `user`, or None for anonymous users and users without a membership."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Membership.Role.ADMIN
    membership = getattr(user, "membership", None)
    return membership.role if membership else None


def user_region_id(user) -> int | None:
    membership = getattr(user, "membership", None) if user is not None and user.is_authenticated else None
    return membership.region_id if membership else None


def can(user, action: Action, *, region_id: int | None) -> bool:
    """May `user` do `action` on an object of region `region_id`?

    `region_id=None` means an object that belongs to no region (national records).
    """
    role = user_role(user)
    if role == Membership.Role.ADMIN:
        return True
    if role == Membership.Role.PLANNER:
        return action in (Action.VIEW, Action.PLAN)
    if role == Membership.Role.AKIMAT:
        own = user_region_id(user)
        if action == Action.PLAN:
            return False
        return region_id is not None and region_id == own
    return False


def scope_queryset(user, queryset: QuerySet, *, region_field: str = "region", action: Action = Action.VIEW) -> QuerySet:
    """Restrict `queryset` to the objects `user` may `action`; empty for anonymous users."""
    role = user_role(user)
    if role == Membership.Role.ADMIN:
        return queryset
    if role == Membership.Role.PLANNER and action in (Action.VIEW, Action.PLAN):
        return queryset
    if role == Membership.Role.AKIMAT and action != Action.PLAN:
        return queryset.filter(**{f"{region_field}_id": user_region_id(user)})
    return queryset.none()


# --- predicates used by parcels and the admin ---


def user_has_role(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Has `user` a portal role at all (signed in, active, administrator or member with a role)?"""
    return user_role(user) is not None


def may_create_parcel(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """May `user` create or import parcels? Akimat land departments (in their region) and administrators."""
    return user_role(user) in (Membership.Role.AKIMAT, Membership.Role.ADMIN)


def may_write_some(user: AbstractBaseUser | AnonymousUser | None, *, action: Action) -> bool:
    """May `user` do `action` (EDIT or PLAN) on the records of at least one region?

    Asked where there is no object yet to pass to `can` (the admin's add button and change lists).
    """
    role = user_role(user)
    return (
        role == Membership.Role.ADMIN
        or (role == Membership.Role.AKIMAT and action == Action.EDIT)
        or (role == Membership.Role.PLANNER and action == Action.PLAN)
    )


def role_is_administrator(role: str) -> bool:
    """Is `role` the administrator's? Its users are Django superusers (the admin site shows them everything)."""
    return role == Membership.Role.ADMIN


def may_place_facility(user: AbstractBaseUser | AnonymousUser | None, *, region_id: int | None) -> bool:
    """May `user` set the location (and so the district) of a facility of region `region_id`?

    Facilities are the ministry's records (Action.PLAN: planners change all their data), but the akimat
    knows where its land is: its land department places and moves the facilities of its own region
    (Action.EDIT there), and nothing else of them. facilities.services.facility_editable_fields turns
    this into the fields each user may change, for the pages and the admin alike.
    """
    return can(user, Action.PLAN, region_id=region_id) or can(user, Action.EDIT, region_id=region_id)


# --- predicates used by tracking, accessibility ---


def role_is_ministry(role: str | None) -> bool:
    """Is the role `role` (a Membership.Role value, or None) one of the ministry's: administrator or planner?"""
    return role in (Membership.Role.ADMIN, Membership.Role.PLANNER)


def is_ministry(user) -> bool:
    """Administrator (or Django superuser) or ministry planner: national scope, every region."""
    return role_is_ministry(user_role(user))


def is_akimat(user) -> bool:
    """An akimat land department user, confined to its own region (user_region_id)."""
    return user_role(user) == Membership.Role.AKIMAT
