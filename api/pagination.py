"""The one pagination of the plain-JSON lists of /api/v1/ (measures, quotas, KPI targets, plans,
stage records): `limit` (1–1000, default 100) and `offset`, with `count`, `next`, `previous`,
`results`. The GeoJSON layers page by keyset (api.common) and say so with OGC's members."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class PagePagination(LimitOffsetPagination):
    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT
