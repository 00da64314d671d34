"""Error pages: problem documents (gis_portal.problems) for the machine-facing paths, Django's templates elsewhere."""

from __future__ import annotations

from django.views import defaults

from gis_portal.problems import is_api_path, problem_response


def page_not_found(request, exception):
    """404 under /api/, /ogc/ and /tiles/ (an unknown path, or an id that is not a number, which the
    URL converter refuses before any view), the site's 404 page elsewhere."""
    if is_api_path(request.path):
        return problem_response(status=404, instance=request.path, detail="No such resource.")
    return defaults.page_not_found(request, exception)


def server_error(request):
    """500: a problem document under the API paths (clients parse JSON), the site's page elsewhere."""
    if is_api_path(request.path):
        return problem_response(status=500, instance=request.path, detail="The server failed; the error is logged.")
    return defaults.server_error(request)
