"""Fair use of the REST API (/api/v1/), OGC API – Features (/ogc/) and the vector tiles (/tiles/).

One policy, declared once: REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] names `FairUseThrottle`, so
every REST framework view under the three prefixes counts against it. Three kinds of caller, each
with its own limit from settings (env-overridable, README "Production"):

- anonymous: per client address (API_ANON_THROTTLE_RATE), the address being REMOTE_ADDR or, behind
  API_TRUSTED_PROXIES proxies, the one the nearest trusted proxy put into X-Forwarded-For;
- signed in with a session: per user (API_USER_THROTTLE_RATE);
- with an API token: per token's user (API_TOKEN_THROTTLE_RATE).

Over the limit the answer is a 429 problem document (api.errors) with `Retry-After`, naming the
limit in `detail` and in the `limit` extension member.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext
from rest_framework import exceptions
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle

ANONYMOUS = "anonymous"
USER = "user"
TOKEN = "token"


# Defined here, not in api.errors: REST_FRAMEWORK's settings import this module while
# rest_framework.views loads, so nothing here may import that module (api.errors does).
class RateLimited(exceptions.Throttled):
    """A caller over its fair-use limit: 429 with Retry-After, the limit named (api.errors)."""

    def __init__(self, *, wait: int, detail: str, limit: dict):
        super().__init__(wait=wait, detail=detail)
        self.limit = limit


def client_address(*, remote_addr: str, forwarded_for: str | None, trusted_proxies: int) -> str:
    """The caller's address as the nearest trusted proxy saw it (DRF's NUM_PROXIES rule).

    With no trusted proxy X-Forwarded-For is ignored: any client could write it and so get a
    fresh count per request. With n trusted proxies, each appends the address it received from,
    so the n-th entry from the right is the one the outermost trusted proxy saw.
    """
    if trusted_proxies <= 0 or not forwarded_for:
        return remote_addr
    addresses = [a.strip() for a in forwarded_for.split(",") if a.strip()]
    if not addresses:
        return remote_addr
    return addresses[-min(trusted_proxies, len(addresses))]


def caller_kind(request) -> str:
    if not request.user.is_authenticated:
        return ANONYMOUS
    return TOKEN if isinstance(request.auth, Token) else USER


def _rate(kind: str) -> str:
    return {
        ANONYMOUS: settings.API_ANON_THROTTLE_RATE,
        USER: settings.API_USER_THROTTLE_RATE,
        TOKEN: settings.API_TOKEN_THROTTLE_RATE,
    }[kind]


class FairUseThrottle(SimpleRateThrottle):
    """Requests per period per anonymous address, per signed-in user and per token user."""

    # Django's default cache (CACHES["default"], from CACHE_URL: the database or Redis) is shared by
    # every worker and node, so a limit holds for the whole deployment, not per process. Only the
    # test profile's locmem cache is per process.
    cache = cache
    cache_format = "throttle_api_%(scope)s_%(ident)s"

    def __init__(self):
        # The rate depends on the caller, known only in allow_request (SimpleRateThrottle reads it here).
        self.kind = ANONYMOUS

    def allow_request(self, request, view):
        self.kind = caller_kind(request)
        self.scope = self.kind
        self.rate = _rate(self.kind)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_ident(self, request) -> str:
        return client_address(
            remote_addr=request.META.get("REMOTE_ADDR", ""),
            forwarded_for=request.headers.get("x-forwarded-for"),
            trusted_proxies=settings.API_TRUSTED_PROXIES,
        )

    def get_cache_key(self, request, view) -> str:
        ident = self.get_ident(request) if self.kind == ANONYMOUS else request.user.pk
        return self.cache_format % {"scope": self.kind, "ident": ident}

    def throttle_failure(self):
        """Refuse with the limit named (raised here: DRF's own path would lose which limit it was)."""
        wait = max(1, math.ceil(self.wait() or 0))
        values = {"requests": self.num_requests, "seconds": self.duration}
        messages = {
            ANONYMOUS: gettext("Anonymous requests are limited to %(requests)d per %(seconds)d seconds per address."),
            USER: gettext("Requests of a signed-in user are limited to %(requests)d per %(seconds)d seconds."),
            TOKEN: gettext("Requests with an API token are limited to %(requests)d per %(seconds)d seconds."),
        }
        raise RateLimited(
            wait=wait,
            detail=messages[self.kind] % values,
            limit={"scope": self.kind, "rate": self.rate, **values},
        )
