"""A strict (nonce-based) Content-Security-Policy on every HTML page.

Scripts run only from our own origin or with the per-response nonce (folium's map script and our
few inline lines carry it); no CDN is allowed, so a page that tried to load Leaflet from elsewhere
would break visibly. Images: our origin, data: URIs and the base-map tile host
(settings.BASEMAP_TILES_URL); a page that draws an administrator's base layers (layers.BaseLayer)
adds exactly their hosts with `allow_images()` while it renders, for its own response only.
`map_csp` decorates the map views (MAP_CSP = False switches it off); `worker_csp` a page that starts
Web Workers from blob: URLs (the API's ReDoc page), for its own response only;
the middleware gives every other page the same policy (the nonce is request.csp_nonce, published to
widget templates through `current_nonce()`): no plugins, no foreign frames or forms.
A response that already has a policy (the map views, the embeddable map) keeps it.
Switched off with PORTAL_CSP = False.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from contextvars import ContextVar
from functools import wraps
from urllib.parse import urlsplit

from django.conf import settings


def tile_source() -> str | None:
    """CSP source of the default base map's tile server (settings.BASEMAP_TILES_URL)."""
    return source_of(settings.BASEMAP_TILES_URL)


def source_of(url: str) -> str | None:
    """CSP source of a tile URL: scheme://host[:port], with {s}-style subdomains widened to *.host."""
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None  # a relative URL: served by us, 'self' covers it
    host = parts.netloc
    if host.startswith("{"):
        host = "*" + host[host.index("}") + 1 :]
    return f"{parts.scheme}://{host}"


_img_sources: ContextVar[list[str] | None] = ContextVar("csp_img_sources", default=None)


def allow_images(sources: Iterable[str]) -> None:
    """Let the response being rendered load images from `sources` (CSP sources, see `source_of`).

    Called by the maps and map widgets that draw configured base layers; outside a request (no
    policy being collected) it does nothing.
    """
    collected = _img_sources.get()
    if collected is not None:
        collected.extend(s for s in sources if s and s not in collected)


def images_allowed() -> list[str]:
    """The image sources `allow_images` collected so far for the response being rendered ([] outside one)."""
    return list(_img_sources.get() or [])


def policy(
    *,
    nonce: str,
    frame_ancestors: str = "'none'",
    img_sources: Iterable[str] = (),
    worker_sources: Iterable[str] = (),
) -> str:
    images = " ".join(dict.fromkeys(filter(None, ["'self'", "data:", tile_source(), *img_sources])))
    # Without worker-src, workers fall under script-src ('self' and the nonce): a page that needs more says so.
    worker_list = " ".join(dict.fromkeys(["'self'", *worker_sources]))
    workers = [f"worker-src {worker_list}"] if worker_sources else []
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
            *workers,
        ]
    )


def worker_csp(view=None, *, sources: Iterable[str] = ("blob:",)):
    """Decorate a view whose page starts Web Workers from `sources` besides our origin: the site's policy
    (nonce from the middleware) plus `worker-src 'self' <sources>`, on its own response only.

    ReDoc (the API's /api/v1/redoc/) builds its search index in a worker made from a blob: URL; a blob
    holds script the page itself wrote, so no other host is let in. Off with PORTAL_CSP = False.
    """

    def decorator(func):
        @wraps(func)
        def wrapped(request, *args, **kwargs):
            response = func(request, *args, **kwargs)
            if getattr(settings, "PORTAL_CSP", True) and response.get("Content-Type", "").startswith("text/html"):
                response["Content-Security-Policy"] = policy(
                    nonce=request.csp_nonce, img_sources=images_allowed(), worker_sources=sources
                )
            return response

        return wrapped

    return decorator(view) if view is not None else decorator


def map_csp(view=None, *, frame_ancestors: str = "'none'"):
    """Decorate a map view: sets request.csp_nonce and the Content-Security-Policy header."""

    def decorator(func):
        @wraps(func)
        def wrapped(request, *args, **kwargs):
            request.csp_nonce = secrets.token_urlsafe(16)
            # Inside the middleware its collection is shared (it sets the policy when MAP_CSP is off).
            sources = _img_sources.get()
            token = _img_sources.set([]) if sources is None else None
            try:
                response = func(request, *args, **kwargs)
                images = list(_img_sources.get())
            finally:
                if token is not None:
                    _img_sources.reset(token)
            if getattr(settings, "MAP_CSP", True) and response.get("Content-Type", "").startswith("text/html"):
                response["Content-Security-Policy"] = policy(
                    nonce=request.csp_nonce, frame_ancestors=frame_ancestors, img_sources=images
                )
            return response

        return wrapped

    return decorator(view) if view is not None else decorator


_nonce: ContextVar[str | None] = ContextVar("csp_nonce", default=None)


def current_nonce() -> str | None:
    """The nonce of the request being served (for templates rendered without `request`, e.g. widgets)."""
    return _nonce.get()


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(16)
        token = _nonce.set(request.csp_nonce)
        images_token = _img_sources.set([])
        try:
            response = self.get_response(request)
            images = list(_img_sources.get())
        finally:
            _nonce.reset(token)
            _img_sources.reset(images_token)
        if (
            getattr(settings, "PORTAL_CSP", True)
            and "Content-Security-Policy" not in response
            and response.get("Content-Type", "").startswith("text/html")
        ):
            # request.csp_nonce may have been replaced by a view; the header follows what the page used.
            response["Content-Security-Policy"] = policy(nonce=request.csp_nonce, img_sources=images)
        return response
