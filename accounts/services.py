"""Writes of users and their roles."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import Membership
from accounts.permissions import role_is_administrator
from layers.models import Region


@dataclass(frozen=True)
class CreatedUser:
    username: str
    password: str | None  # None when the user already existed (password not changed)
    role: str
    region: str | None


@transaction.atomic
def user_with_role_ensure(
    *, username: str, role: str, region_kato: str | None = None, password: str | None = None, is_demo: bool = False
) -> CreatedUser:
    """Create the user with `role` unless it exists; a new password is generated when none is given."""
    User = get_user_model()
    region = Region.objects.get(kato=region_kato) if region_kato else None
    user = User.objects.filter(username=username).first()
    new_password = None
    if user is None:
        new_password = password or secrets.token_urlsafe(12)
        user = User.objects.create_user(
            username=username,
            password=new_password,
            is_staff=True,
            is_superuser=role_is_administrator(role),
        )
    Membership.objects.update_or_create(user=user, defaults={"role": role, "region": region, "is_demo": is_demo})
    return CreatedUser(username=username, password=new_password, role=role, region=region.name_en if region else None)


DEMO_USERS = [
    ("planner", Membership.Role.PLANNER, None),
    ("akimat_astana", Membership.Role.AKIMAT, "710000000"),
    ("akimat_turkistan", Membership.Role.AKIMAT, "610000000"),
]


def demo_users_ensure(
    *, admin_username: str, admin_password: str | None, demo_password: str | None
) -> list[CreatedUser]:
    """The administrator and one DEMO user per role (akimats of Astana city and Turkistan region)."""
    created = [user_with_role_ensure(username=admin_username, role=Membership.Role.ADMIN, password=admin_password)]
    for username, role, kato in DEMO_USERS:
        created.append(
            user_with_role_ensure(username=username, role=role, region_kato=kato, password=demo_password, is_demo=True)
        )
    return created
