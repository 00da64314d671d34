"""Project-wide request guards (no domain logic)."""

from __future__ import annotations

import json

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpResponse

API_PREFIXES = ("/api/", "/ogc/", "/tiles/")


class RejectNulInQueryMiddleware:
    """Answer 400 when a query-string name or value contains a NUL character.

    PostgreSQL text cannot hold NUL (0x00), so such a value reaching any filter (the
    admin's search, a view reading request.GET) raised DataError → 500. Forms and DRF
    fields already refuse it; this guard covers every other reader at once.

    It also turns a request body over DATA_UPLOAD_MAX_MEMORY_SIZE (or with too many
    fields), met by an API view, into a 400 with a JSON body instead of Django's HTML page.
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

    def process_exception(self, request, exception):
        if isinstance(exception, (RequestDataTooBig, TooManyFieldsSent)) and request.path.startswith(API_PREFIXES):
            return HttpResponse(
                json.dumps({"errors": {"body": [str(exception)]}}), status=400, content_type="application/json"
            )
        return None
