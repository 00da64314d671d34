"""API tokens: the user's role comes with the token (one query), and bad tokens get a clear 401."""

from __future__ import annotations

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Membership


def test_token_and_role_in_one_query(planner, django_assert_num_queries):
    from accounts.authentication import TokenAuthentication
    from accounts.permissions import user_role

    key = Token.objects.create(user=planner).key
    with django_assert_num_queries(1):
        user, _token = TokenAuthentication().authenticate_credentials(key)
        assert user_role(user) == "planner"


def test_unknown_or_inactive_tokens_are_refused(planner):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = client.get("/api/v1/parcels/")
    assert response.status_code in (401, 403) and "token" in response.json()["detail"].lower()
    key = Token.objects.create(user=planner).key
    planner.is_active = False
    planner.save()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/v1/parcels/")
    assert response.status_code in (401, 403) and "inactive" in response.json()["detail"].lower()


def test_token_errors_speak_the_clients_language(db):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="ru")
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert client.get("/api/v1/parcels/").json()["detail"] == "Недействительный токен."


def test_token_user_is_what_the_orm_reads(planner, akimat_a, django_assert_num_queries):
    """accounts.selectors.token_user_get writes the join as SQL; it must load the same objects."""
    from django.contrib.auth.models import User

    from accounts.selectors import token_user_get

    plain = User.objects.create_user("no_role_user", password="x-Long-enough-1")
    for user in (planner, akimat_a, plain):
        key = Token.objects.create(user=user).key
        expected = Token.objects.select_related("user", "user__membership").get(key=key)
        with django_assert_num_queries(1):
            got_user, got_token = token_user_get(key=key)
            assert got_token.key == key and got_token.user is got_user
            assert got_token.created == expected.created
            for field in User._meta.concrete_fields:
                assert getattr(got_user, field.attname) == getattr(expected.user, field.attname), field.name
            if hasattr(expected.user, "membership"):
                membership = got_user.membership
                assert (membership.pk, membership.role, membership.region_id) == (
                    expected.user.membership.pk,
                    expected.user.membership.role,
                    expected.user.membership.region_id,
                )
                assert membership.user is got_user
            else:
                assert not hasattr(got_user, "membership")  # cached absence, no query
    assert token_user_get(key="f" * 40) is None


def test_token_rows_are_reused_for_the_cache_seconds_only(planner, settings, monkeypatch, django_assert_num_queries):
    """Within API_TOKEN_CACHE_SECONDS a key is not read again; each call still builds its own objects."""
    from accounts import selectors

    now = [1000.0]
    monkeypatch.setattr(selectors, "_clock", lambda: now[0])
    settings.API_TOKEN_CACHE_SECONDS = 1.0
    key = Token.objects.create(user=planner).key
    with django_assert_num_queries(1):
        first, _token = selectors.token_user_get(key=key)
    now[0] += 0.99
    with django_assert_num_queries(0):
        again, token = selectors.token_user_get(key=key)
    assert again is not first and again.pk == first.pk and token.user is again
    assert again.membership.role == Membership.Role.PLANNER and again.membership is not first.membership
    now[0] += 0.01  # exactly the cache's age: read again
    with django_assert_num_queries(1):
        selectors.token_user_get(key=key)
    settings.API_TOKEN_CACHE_SECONDS = 0
    for _ in range(2):
        with django_assert_num_queries(1):
            selectors.token_user_get(key=key)


def test_revocation_and_role_changes_take_effect_within_the_cache_seconds(planner, region_a, settings, monkeypatch):
    """The bound the README states: a deleted token, a deactivated user or a new role is seen once the
    cached row is older than API_TOKEN_CACHE_SECONDS; unknown keys are never cached."""
    from accounts import selectors

    now = [50.0]
    monkeypatch.setattr(selectors, "_clock", lambda: now[0])
    settings.API_TOKEN_CACHE_SECONDS = 1.0
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    token = Token.objects.create(user=planner)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/v1/parcels/").status_code == 200
    Membership.objects.filter(user=planner).update(role=Membership.Role.AKIMAT, region=region_a)
    assert selectors.token_user_get(key=token.key)[0].membership.role == Membership.Role.PLANNER
    now[0] += 1.0
    assert selectors.token_user_get(key=token.key)[0].membership.role == Membership.Role.AKIMAT
    token.delete()
    assert client.get("/api/v1/parcels/").status_code == 200  # within the bound: the row read 0 s ago
    now[0] += 1.0
    response = client.get("/api/v1/parcels/")
    assert response.status_code == 401 and "token" in response.json()["detail"].lower()
    fresh = Token.objects.create(user=planner)
    assert selectors.token_user_get(key=fresh.key) is not None  # made a moment after a miss: works at once


def test_the_token_cache_stays_bounded(planner, settings, monkeypatch):
    from accounts import selectors

    monkeypatch.setattr(selectors, "_TOKEN_ROWS_MAX", 3)
    settings.API_TOKEN_CACHE_SECONDS = 60.0
    keys = [Token.objects.create(user=user).key for user in _users(5)]
    for key in keys:
        assert selectors.token_user_get(key=key) is not None
        assert len(selectors._token_rows) <= 3
    assert keys[-1] in selectors._token_rows


def _users(n: int) -> list:
    from django.contrib.auth.models import User

    return [User.objects.create_user(f"token_cache_{i}", password="x-Long-enough-1") for i in range(n)]
