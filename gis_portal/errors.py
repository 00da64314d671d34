"""Error pages: JSON bodies for the machine-facing paths, Django's templates elsewhere."""

from __future__ import annotations

from django.http import JsonResponse
from django.views import defaults

from gis_portal.middleware import API_PREFIXES


def page_not_found(request, exception):
    """404: `{"detail": ...}` under /api/, /ogc/ and /tiles/ (an id that is not a number never
    reaches a view there: the URL converter refuses it), the site's 404 page elsewhere."""
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
