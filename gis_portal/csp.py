"""A Content-Security-Policy on every HTML page (the maps app's nonce-based policy, project-wide).

maps.csp decorates the map views with a strict policy; this middleware gives every other page the
same policy: scripts only from our origin or carrying the per-response nonce (request.csp_nonce, also
published to widget templates through `current_nonce()`), no plugins, no foreign frames or forms.
A response that already has a policy (the map views, the embeddable map) keeps it.
Switched off with PORTAL_CSP = False.
"""

from __future__ import annotations

import secrets
from contextvars import ContextVar

from django.conf import settings

from maps.csp import policy

_nonce: ContextVar[str | None] = ContextVar("csp_nonce", default=None)


def current_nonce() -> str | None:
    """The nonce of the request being served (for templates rendered without `request`, e.g. widgets)."""
    return _nonce.get()


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(16)
        token = _nonce.set(request.csp_nonce)
        try:
            response = self.get_response(request)
        finally:
            _nonce.reset(token)
        if (
            getattr(settings, "PORTAL_CSP", True)
            and "Content-Security-Policy" not in response
            and response.get("Content-Type", "").startswith("text/html")
        ):
            # request.csp_nonce may have been replaced by a view; the header follows what the page used.
            response["Content-Security-Policy"] = policy(nonce=request.csp_nonce)
        return response
