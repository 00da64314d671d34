"""DRF token authentication that reads the user's portal role in the same query."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from accounts.selectors import token_user_get


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, as DRF's, with the user's Membership joined.

    Every API request of a signed-in client asks accounts.permissions for the
    user's role; loading it with the token saves one query per request
    (scripts/bench/api.py).
    """

    def authenticate_credentials(self, key):
        found = token_user_get(key=key)
        if found is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user, token = found
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (user, token)
