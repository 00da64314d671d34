"""A strict (nonce-based) Content-Security-Policy for the map pages.

Scripts run only from our own origin or with the per-response nonce (folium's map
script and our few inline lines carry it); no CDN is allowed, so a page that tried to
load Leaflet from elsewhere would break visibly. Images: our origin, data: URIs and the
base-map tile host (settings.BASEMAP_TILES_URL). Switched off with MAP_CSP = False.
"""

from __future__ import annotations

import secrets
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings


def tile_source() -> str | None:
    """CSP source of the tile server: scheme://host, with {s}-style subdomains widened to *.host."""
    url = settings.BASEMAP_TILES_URL
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None  # a relative URL: served by us, 'self' covers it
    host = parts.netloc
    if host.startswith("{"):
        host = "*" + host[host.index("}") + 1 :]
    return f"{parts.scheme}://{host}"


def policy(*, nonce: str, frame_ancestors: str = "'none'") -> str:
    images = " ".join(filter(None, ["'self'", "data:", tile_source()]))
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            # Leaflet positions everything with inline styles; markers use style attributes.
            "style-src 'self' 'unsafe-inline'",
            f"img-src {images}",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def map_csp(view=None, *, frame_ancestors: str = "'none'"):
    """Decorate a map view: sets request.csp_nonce and the Content-Security-Policy header."""

    def decorator(func):
        @wraps(func)
        def wrapped(request, *args, **kwargs):
            request.csp_nonce = secrets.token_urlsafe(16)
            response = func(request, *args, **kwargs)
            if getattr(settings, "MAP_CSP", True) and response.get("Content-Type", "").startswith("text/html"):
                response["Content-Security-Policy"] = policy(nonce=request.csp_nonce, frame_ancestors=frame_ancestors)
            return response

        return wrapped

    return decorator(view) if view is not None else decorator
