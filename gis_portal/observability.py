"""Request ids, one log line per request, and the slow-request warning.

Every request gets an id: the caller's ``X-Request-ID`` when it is a plain token (a load balancer
or proxy that already assigned one), else a new one. The id is sent back in ``X-Request-ID`` and
attached, with the signed-in user's id, to every log record made while the request is served
(RequestContextFilter, used by the console handler in settings.LOGGING), so one request can be
followed through the logs of several nodes. After the response, the ``gis_portal.request``
logger writes method, path, status, duration and user; at WARNING with ``slow: true`` when the
duration is above SLOW_REQUEST_MS.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar

from django.conf import settings

logger = logging.getLogger("gis_portal.request")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_user_id: ContextVar[int | None] = ContextVar("user_id", default=None)
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` and ``user_id`` (None outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        record.user_id = _user_id.get()
        return True


def _user_id_of(request) -> int | None:
    # Read only when authentication has already run (sessions, or a token resolved by DRF
    # on the request object); never forces a session lookup of its own.
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.pk


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        id_token = _request_id.set(request_id)
        user_token = _user_id.set(None)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            duration_ms = (time.perf_counter() - started) * 1000
            _user_id.set(_user_id_of(request))
            response["X-Request-ID"] = request_id
            slow = duration_ms > settings.SLOW_REQUEST_MS
            logger.log(
                logging.WARNING if slow else logging.INFO,
                "%s %s %s %d %.1f ms",
                "slow request" if slow else "request",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round(duration_ms, 1),
                    "slow": slow,
                },
            )
            return response
        finally:
            _request_id.reset(id_token)
            _user_id.reset(user_token)
