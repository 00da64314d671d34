"""Project-wide request guards (no domain logic)."""

from __future__ import annotations

import json

from django.http import HttpResponse

API_PREFIXES = ("/api/", "/ogc/", "/tiles/")


class RejectNulInQueryMiddleware:
    """Answer 400 when a query-string name or value contains a NUL character.

    PostgreSQL text cannot hold NUL (0x00), so such a value reaching any filter (the
    admin's search, a view reading request.GET) raised DataError → 500. Forms and DRF
    fields already refuse it; this guard covers every other reader at once.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()):
            message = "a query parameter contains a NUL character (0x00)"
            if request.path.startswith(API_PREFIXES):
                return HttpResponse(
                    json.dumps({"errors": {"query": [message]}}), status=400, content_type="application/json"
                )
            return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
