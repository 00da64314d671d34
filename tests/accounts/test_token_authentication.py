"""API tokens: the user's role comes with the token (one query), and bad tokens get a clear 401."""

from __future__ import annotations

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


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
