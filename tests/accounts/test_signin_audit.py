"""Sign-ins and failed sign-ins are logged; repeated failures are throttled (django-axes)."""

import pytest
from axes.models import AccessAttempt, AccessLog
from django.test import override_settings

LOGIN = "/en/accounts/login/"


@pytest.fixture
def axes_on(settings):
    with override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3):
        yield


def test_failed_sign_ins_are_logged_and_then_locked_out(db, client, planner, axes_on):
    for _ in range(2):
        response = client.post(LOGIN, {"username": "planner_t", "password": "wrong"})
        assert response.status_code == 200  # the form again, with its error
    attempt = AccessAttempt.objects.get(username="planner_t")
    assert attempt.failures_since_start == 2
    response = client.post(LOGIN, {"username": "planner_t", "password": "wrong"})
    assert response.status_code == 429
    # Even the right password is refused while locked out.
    response = client.post(LOGIN, {"username": "planner_t", "password": "pw-p-12345!"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_successful_sign_in_is_logged(db, client, planner, axes_on):
    response = client.post(LOGIN, {"username": "planner_t", "password": "pw-p-12345!"})
    assert response.status_code == 302
    assert AccessLog.objects.filter(username="planner_t").count() == 1
