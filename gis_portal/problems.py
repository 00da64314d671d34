"""One error format for every 4xx/5xx under /api/, /ogc/ and /tiles/: RFC 9457 problem details.

    HTTP/1.1 400 Bad Request
    Content-Type: application/problem+json

    {"type": "about:blank", "title": "Bad Request", "status": 400,
     "detail": "bbox: must be 4 (or 6) comma-separated numbers: minx,miny,maxx,maxy",
     "instance": "/api/v1/facilities/",
     "errors": [{"field": "bbox", "code": "invalid", "message": "must be 4 (or 6) …"}]}

`errors` (an extension member) lists every problem found, each naming the field, query parameter
or body member it is about (`field` is "" for the request as a whole); problems of a parcel's checks
also carry `severity`. `detail` repeats the first one for clients that read only the standard
members. Built here, below the apps, so the middleware and the 404/500 handlers use it too; the
REST framework's exceptions reach it through api.errors.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from django.http import HttpResponse

PROBLEM_JSON = "application/problem+json"
API_PREFIXES = ("/api/", "/ogc/", "/tiles/")


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


def error_item(field: str, message: str, *, code: str = "invalid", severity: str | None = None) -> dict:
    item = {"field": field, "code": code, "message": str(message)}
    if severity:
        item["severity"] = severity
    return item


def problem_body(
    *, status: int, instance: str, detail: str = "", errors: list[dict] | None = None, extra: dict | None = None
) -> dict:
    errors = errors or []
    if not detail and errors:
        first = errors[0]
        field, message = first.get("field"), first["message"]
        detail = f"{field}: {message}" if field and not message.startswith(field) else message
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail or HTTPStatus(status).description,
        "instance": instance,
    }
    if errors:
        body["errors"] = errors
    body.update(extra or {})  # extension members, e.g. the current version of a stale write (409)
    return body


def problem_response(
    *,
    status: int,
    instance: str,
    detail: str = "",
    errors: list[dict] | None = None,
    headers: dict | None = None,
    extra: dict | None = None,
) -> HttpResponse:
    body = problem_body(status=status, instance=instance, detail=detail, errors=errors, extra=extra)
    response = HttpResponse(json.dumps(body, ensure_ascii=False), status=status, content_type=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response[name] = value
    return response
