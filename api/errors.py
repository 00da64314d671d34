"""Every error of the REST API, OGC API – Features and the tiles as RFC 9457 problem details.

REST_FRAMEWORK["EXCEPTION_HANDLER"] points here, so a view only raises: `ParamError` for a query
parameter, `Invalid` for a body or a rule of the domain (with every problem found), or one of the
framework's exceptions. 401 carries `WWW-Authenticate: Token` (no credentials, or a token that
is not valid: a bad token is an error, never a silent anonymous read); 403 means signed in but
not allowed; 429 (api.throttling) carries `Retry-After` and names the limit. Problem shapes: gis_portal.problems.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from api.throttling import RateLimited
from gis_portal.geo.collections import ParamError
from gis_portal.problems import error_item, problem_response


class Invalid(exceptions.APIException):
    """A request whose body or whose effect breaks rules: every problem found, each naming its field."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request is not acceptable."

    def __init__(self, errors: list[dict], *, status_code: int = 400, detail: str = "", extra: dict | None = None):
        super().__init__(detail or self.default_detail)
        self.errors = errors
        self.status_code = status_code
        self.problem_detail = detail
        self.extra = extra or {}

    @classmethod
    def from_fields(cls, fields: dict, *, status_code: int = 400, detail: str = "") -> Invalid:
        """From {field: message or [messages]} (a serializer's errors, a service's problems)."""
        return cls(fields_to_errors(fields), status_code=status_code, detail=detail)


def fields_to_errors(detail, field: str = "") -> list[dict]:
    """Flatten a REST framework error detail ({field: [..]}, nested, or a list/str) to problem items."""
    if isinstance(detail, dict):
        out = []
        for name, value in detail.items():
            prefix = "" if name in ("non_field_errors", "__all__") else str(name)
            out.extend(fields_to_errors(value, f"{field}.{prefix}" if field and prefix else field or prefix))
        return out
    if isinstance(detail, list):
        out = []
        for value in detail:
            out.extend(fields_to_errors(value, field))
        return out
    code = getattr(detail, "code", None) or "invalid"
    return [error_item(field, str(detail), code=str(code))]


def exception_handler(exc, context):
    request = context["request"]
    instance = request.path if request is not None else ""
    if isinstance(exc, ParamError):
        return problem_response(status=400, instance=instance, errors=[error_item(exc.param, exc.message)])
    if isinstance(exc, Invalid):
        return problem_response(
            status=exc.status_code, instance=instance, detail=exc.problem_detail, errors=exc.errors, extra=exc.extra
        )
    if isinstance(exc, exceptions.ParseError):
        # A body that is not the JSON (or form) it claims to be: the problem is with `body`.
        return problem_response(status=400, instance=instance, errors=[error_item("body", str(exc.detail))])
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or None)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # not an API exception: Django's 500 handler answers (gis_portal.errors.server_error)
    headers = {k: v for k, v in response.items() if k in ("WWW-Authenticate", "Retry-After", "Allow")}
    if isinstance(exc, exceptions.ValidationError):
        return problem_response(
            status=response.status_code, instance=instance, errors=fields_to_errors(exc.detail), headers=headers
        )
    detail = exc.detail if isinstance(exc, exceptions.APIException) else ""
    extra = {"limit": exc.limit} if isinstance(exc, RateLimited) else None
    return problem_response(
        status=response.status_code, instance=instance, detail=str(detail), headers=headers, extra=extra
    )
