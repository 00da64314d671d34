"""Shared fixtures. The test database is real PostGIS, created by pytest-django.

The roadmap's reference data, the default boundaries (bundled in data/, or
BOUNDARIES_PATH) and the demo facilities are loaded once per session and
committed, so tests (in their own rolled-back transactions) and an external
server process started by browser tests all see the same data.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import GEOSGeometry
from django.core.management import call_command

from accounts.models import Membership
from accounts.services import user_with_role_ensure
from layers.models import Region


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("load_reference_data", verbosity=0)
        call_command("load_default_boundaries", verbosity=0)
        call_command("load_demo_data", verbosity=0)


@pytest.fixture
def wkt():
    """Build a GEOS geometry from SRID-tagged WKT: wkt("SRID=4326;POINT(71.4 51.1)")."""

    def make(text: str) -> GEOSGeometry:
        assert text.startswith("SRID="), "geometry fixtures carry their SRID explicitly"
        return GEOSGeometry(text)

    return make


@pytest.fixture
def region_a(db):
    """Astana city (KATO 710000000)."""
    return Region.objects.get(kato="710000000")


@pytest.fixture
def region_b(db):
    """Turkistan region (KATO 610000000)."""
    return Region.objects.get(kato="610000000")


@pytest.fixture
def akimat_a(db, region_a):
    user_with_role_ensure(
        username="akimat_a", role=Membership.Role.AKIMAT, region_kato=region_a.kato, password="pw-a-12345!"
    )
    return get_user_model().objects.get(username="akimat_a")


@pytest.fixture
def akimat_b(db, region_b):
    user_with_role_ensure(
        username="akimat_b", role=Membership.Role.AKIMAT, region_kato=region_b.kato, password="pw-b-12345!"
    )
    return get_user_model().objects.get(username="akimat_b")


@pytest.fixture
def planner(db):
    user_with_role_ensure(username="planner_t", role=Membership.Role.PLANNER, password="pw-p-12345!")
    return get_user_model().objects.get(username="planner_t")


@pytest.fixture
def admin_user_role(db):
    user_with_role_ensure(username="admin_t", role=Membership.Role.ADMIN, password="pw-admin-12345!")
    return get_user_model().objects.get(username="admin_t")
