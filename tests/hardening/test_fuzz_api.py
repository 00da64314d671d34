"""Short bounded fuzzing of the whole API with schemathesis (the long form is scripts/fuzz).

schemathesis reads the OpenAPI schema drf-spectacular serves at /api/v1/schema/ and sends generated
requests (valid and invalid) to every operation through the WSGI application, in-process, against the
test database: anonymous, and as an admin. No response may be a 5xx. A few examples per operation,
derandomised, keep it well under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from schemathesis.generation.modes import GenerationMode

from tests.clients import problem_fields

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 12


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI handler closes the DB connection after each request; the test transaction needs it open
    (django.test.Client does the same disconnection)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _no_fair_use_limit(settings):
    """Every generated request must reach its view: at the anonymous limit (600 a minute from the test
    client's one address) the later operations would only ever be answered 429 and go unfuzzed."""
    settings.API_ANON_THROTTLE_RATE = settings.API_TOKEN_THROTTLE_RATE = "100000000/min"


def _operations():
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20, "the schema should list every API operation"
    return operations


def _server_errors(operations, headers: dict[str, str]) -> list[str]:
    errors: list[str] = []

    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(operation.as_strategy(), operation.as_strategy(GenerationMode.NEGATIVE)))
        def probe(case):
            response = case.call(headers=headers)
            if response.status_code >= 500:
                errors.append(f"{response.status_code} {case.method} {case.formatted_path} query={case.query}")

        probe()
    return errors


def test_fuzzing_the_api_anonymously_gives_no_server_error():
    errors = _server_errors(_operations(), {})
    assert errors == [], errors


def test_fuzzing_the_api_as_admin_gives_no_server_error(admin_user_role):
    token = Token.objects.create(user=admin_user_role)
    errors = _server_errors(_operations(), {"Authorization": f"Token {token.key}"})
    assert errors == [], errors


# Integer path parameters at and beyond PostgreSQL's bigint range: generated examples rarely reach
# them, and an unchecked one used to overflow in the database (a 500).
BOUNDARY_IDS = [0, -1, 2**31, 2**63 - 1, 2**63, 10**30]


def test_integer_path_parameters_out_of_range_give_no_server_error():
    client = Client(raise_request_exception=False)
    errors = []
    for operation in _operations():
        if operation.method.upper() != "GET":
            continue
        names = [p.name for p in operation.path_parameters]
        if not names or any(n not in ("id", "pk", "parcel_pk", "facility_pk") for n in names):
            continue
        for value in BOUNDARY_IDS:
            path = operation.path
            for name in names:
                path = path.replace("{" + name + "}", str(value))
            response = client.get(path)
            if response.status_code >= 500:
                errors.append(f"{response.status_code} GET {path}")
    assert errors == [], errors


@pytest.mark.parametrize(
    "value",
    ["0463-01-04T09:02:16.23724+21:56", "8629-10-01T07:13:05.5-20:18", "2026-01-01T00:00:00+15:00"],
)
def test_date_times_with_an_impossible_utc_offset_are_a_400(value):
    """Found by scripts/fuzz: PostgreSQL refuses offsets beyond ±15:59 (DataError → 500 before)."""
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/regions/", {"updated_since": value})
    assert response.status_code == 400, response.content
    assert "updated_since" in problem_fields(response)
