"""Project-wide request guards (no domain logic)."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpResponse

from gis_portal.problems import error_item, is_api_path, problem_response


class RejectNulInQueryMiddleware:
    """Answer 400 when a query-string name or value contains a NUL character.

    PostgreSQL text cannot hold NUL (0x00), so such a value reaching any filter (the
    admin's search, a view reading request.GET) raised DataError → 500. Forms and DRF
    fields already refuse it; this guard covers every other reader at once.

    It also turns a request body over DATA_UPLOAD_MAX_MEMORY_SIZE (or with too many
    fields), met by an API view, into a 400 problem document instead of Django's HTML page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                message = "a query parameter contains a NUL character (0x00)"
                if is_api_path(request.path):
                    field = key.replace("\x00", "")[:40]
                    return problem_response(status=400, instance=request.path, errors=[error_item(field, message)])
                return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, (RequestDataTooBig, TooManyFieldsSent)) and is_api_path(request.path):
            return problem_response(status=400, instance=request.path, errors=[error_item("body", str(exception))])
        return None
