"""The one place that decides who may read or change region-bound objects.

Admin, forms, views and the API all call these functions; nothing else
inspects roles. Rules (issue 3):
- administrator (or Django superuser): reads and writes everything;
- ministry planner: reads everything, writes plans, not akimat records;
- akimat land department: reads and writes only its own region;
- anonymous / users without a role: nothing private.

Callers that need a yes/no about the role itself, not about an action on an
object, use the predicates at the end of the file: has_role (any role),
is_ministry (administrator or planner: national scope), is_akimat, and
role_is_ministry for a stored role value (a Membership row without its user).
"""

from __future__ import annotations

from enum import StrEnum

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


# --- predicates used by tracking, accessibility ---


def has_role(user) -> bool:
    """Signed in, active and holding a role (administrator, planner or akimat); `can` says what it may do."""
    return user_role(user) is not None


def role_is_ministry(role: str | None) -> bool:
    """Is the role `role` (a Membership.Role value, or None) one of the ministry's: administrator or planner?"""
    return role in (Membership.Role.ADMIN, Membership.Role.PLANNER)


def is_ministry(user) -> bool:
    """Administrator (or Django superuser) or ministry planner: national scope, every region."""
    return role_is_ministry(user_role(user))


def is_akimat(user) -> bool:
    """An akimat land department user, confined to its own region (user_region_id)."""
    return user_role(user) == Membership.Role.AKIMAT
