"""A gunicorn subprocess serving the test database (the browser CSP test and the short load run).

The server reads the rows tests/conftest.py committed; the admin it signs in as is committed here.
The anonymous API throttle is lifted for it: the short load run sends hundreds of requests a second
from one address and must measure the application, not the throttle.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.live_server import gunicorn_server

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(8151, 8160)
ADMIN_PASSWORD = "csp-admin-pw-12345!"


@pytest.fixture(scope="session")
def hardening_server(django_db_setup, django_db_blocker):
    from accounts.models import Membership
    from accounts.services import user_with_role_ensure

    with django_db_blocker.unblock():
        user_with_role_ensure(username="csp_admin", role=Membership.Role.ADMIN, password=ADMIN_PASSWORD)
    with gunicorn_server(
        name="hardening",
        ports=PORTS,
        ready_path="/en/accounts/login/",
        django_db_blocker=django_db_blocker,
        extra_env={"API_ANON_THROTTLE_RATE": "1000000/min"},
    ) as base:
        yield base
