"""Project-wide request guards (no domain logic)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpResponse
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils import translation

# Django's own parser of the header (what LocaleMiddleware reads it with); not re-exported publicly.
from django.utils.translation.trans_real import parse_accept_lang_header

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


API_DEFAULT_LANGUAGE = "en"


def language_asked(request) -> str | None:
    """The supported language the client asked for: the language cookie (the site's switcher), else the
    first supported one of Accept-Language (a "*" ends the search, as in Django); None when none was."""
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if cookie:
        try:
            return translation.get_supported_language_variant(cookie)
        except LookupError:
            pass
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return None


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's LocaleMiddleware, but English for /api/, /ogc/ and /tiles/ when the client asks for no language.

    The site's default language (LANGUAGE_CODE, Kazakh, the language of the order) suits its pages,
    whose URLs carry the language anyway; API clients are programs and developers that rarely send
    Accept-Language, and English is the language of the API's documentation. A client that asks
    (Accept-Language, or the language cookie the site's switcher sets) still gets Kazakh or Russian.
    The OGC HTML pages follow the same rule: they are API pages, outside the language-prefixed URLs.
    The response half is Django's: it reports the language used (Content-Language; Vary: Accept-Language).
    One middleware rather than a second one after Django's, so an API request reads its
    Accept-Language once (issue 21: every step of a 7 ms page counts).
    """

    def process_request(self, request):
        if not is_api_path(request.path_info):
            super().process_request(request)
            return
        translation.activate(language_asked(request) or API_DEFAULT_LANGUAGE)
        request.LANGUAGE_CODE = translation.get_language()
