"""The public map and its embed, cached for a news-day crowd; the facilities as a cacheable GeoJSON.

The page shell (filters, legend, map options; no facility data) is rendered once per language,
filter, host and version of the public data (maps.public_cache) and kept in the shared cache;
the facilities come from `public_facilities_geojson` with an ETag and Last-Modified (304 to a
client whose copy is current). A cached page cannot carry the per-response CSP nonce nor the
visitor's CSRF token: it is stored with placeholders that each response replaces with its own
(fresh nonce, the visitor's token), so the policy stays strict and the forms keep working.
Only anonymous visitors' pages are cached (a signed-in user's header names them).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from facilities.selectors import demo_data_present
from gis_portal.csp import allow_images, images_allowed, map_csp
from layers.webmap.builders import map_parts
from maps import pages, public_cache, selectors
from maps.forms import FacilityFilterForm
from maps.views import legend_context

FILTERS = ("kind", "region", "status")
# Query parameters a cached page may have; any other makes the page render uncached.
PAGE_PARAMS = {*FILTERS, "facility"}
GEOJSON = "application/geo+json"
_CSRF_INPUT = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')


def _mark(purpose: str) -> str:
    # Derived from the secret key: content cannot guess it, every worker and node computes the same.
    return hashlib.sha256(f"public-map|{purpose}|{settings.SECRET_KEY}".encode()).hexdigest()[:32]


def _filter_params(request) -> dict[str, str]:
    return {name: request.GET.get(name, "") for name in FILTERS}


def _filter_errors(form: FacilityFilterForm) -> dict:
    return {} if form.is_valid() else {field: list(messages) for field, messages in form.errors.items()}


@map_csp
def public_map(request):
    return _public_map(request, embed=False)


@xframe_options_exempt
@map_csp(frame_ancestors="*")
def public_embed(request):
    """The public map alone, for <iframe> on other sites (the only view exempt from X-Frame-Options)."""
    return _public_map(request, embed=True)


def _public_map(request, *, embed: bool):
    cacheable = not request.user.is_authenticated and set(request.GET) <= PAGE_PARAMS
    key = None
    if cacheable:
        variant = f"{embed}|{get_language()}|{request.scheme}|{request.get_host()}|{request.get_full_path()}"
        key = public_cache.cache_key(kind="page", version=public_cache.public_data_version(), variant=variant)
        stored = public_cache.cached(key)
        if stored is not None:
            return _page_response(request, stored)
    rendered = _public_map_render(request, embed=embed, placeholders=key is not None)
    if key is None or rendered["status"] != 200:
        return _page_response(request, rendered)
    public_cache.cache_store(key, rendered)
    return _page_response(request, rendered)


def _public_map_render(request, *, embed: bool, placeholders: bool) -> dict:
    """{"body", "status", "images"} of the page; with `placeholders`, nonce and CSRF token are marks."""
    form = FacilityFilterForm(request.GET)
    focus = request.GET.get("facility")
    errors = _filter_errors(form)
    if focus is not None:
        if not focus.isdigit():
            errors["facility"] = [_("The facility must be given by its number.")]
        elif not selectors.facility_queryset().filter(pk=int(focus), location__isnull=False).exists():
            raise Http404(_("No facility with this number is on the map."))
    # A page for the cache is rendered with the mark as its nonce; the response's own nonce is put
    # back for its header and body, so the mark itself never reaches a client.
    page_nonce = _mark("nonce") if placeholders else request.csp_nonce
    context = {"demo_present": demo_data_present(), "form": form, "embed": embed, "legend": legend_context()}
    status = 200
    if errors:
        context["errors"] = errors
        status = 400
        template = "maps/public.html"
    else:
        filters = form.cleaned_data
        data_url = reverse("maps:public_geojson") + _query({k: filters.get(k) or "" for k in FILTERS})
        m, count = pages.public_map(
            filters=filters, focus=int(focus) if focus else None, embed=embed, data_url=data_url
        )
        # The page says when its data were read (a cached page keeps the time it was built).
        context.update({"map": map_parts(m, nonce=page_nonce), "facility_count": count, "data_as_of": timezone.now()})
        template = "maps/embed.html" if embed else "maps/public.html"
    nonce, request.csp_nonce = request.csp_nonce, page_nonce
    try:
        response = render(request, template, context, status=status)
    finally:
        request.csp_nonce = nonce
    body = response.content.decode()
    if placeholders:
        body = _CSRF_INPUT.sub(lambda match: match.group(1) + _mark("csrf") + match.group(2), body)
    # The image hosts of the base layers the map drew (gis_portal.csp.allow_images) go with the body.
    return {"body": body, "status": status, "images": images_allowed()}


def _page_response(request, stored: dict) -> HttpResponse:
    """The stored page with this response's own nonce and the visitor's CSRF token."""
    body = stored["body"]
    nonce_mark = _mark("nonce")
    if nonce_mark in body:
        body = body.replace(nonce_mark, request.csp_nonce)
    csrf_mark = _mark("csrf")
    if csrf_mark in body:
        body = body.replace(csrf_mark, get_token(request))
    allow_images(stored["images"])
    return HttpResponse(body, status=stored["status"], content_type="text/html; charset=utf-8")


def _query(params: dict[str, str]) -> str:
    kept = {k: v for k, v in params.items() if v}
    return "?" + urlencode(kept) if kept else ""


@require_safe
def public_facilities_geojson(request):
    """The public map's facilities (public fields, approved plans, as of today) as a GeoJSON FeatureCollection.

    Same filters as the page (kind, region, status); coordinates EPSG:4326 (lon, lat). Foreign
    members: `statuses` {facility id: status code} and `opened` {facility id: ISO date}. The ETag
    names the data version and the filters; 304 when the client's copy is current.
    """
    params = _filter_params(request)
    version = public_cache.public_data_version()
    etag = '"' + hashlib.sha256(f"{version}|{sorted(params.items())}".encode()).hexdigest()[:32] + '"'
    key = public_cache.cache_key(kind="geojson", version=version, variant=repr(sorted(params.items())))
    stored = public_cache.cached(key)
    last_modified = stored["built"] if stored is not None else None
    not_modified = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if not_modified is not None:
        return _geojson_headers(not_modified, etag=etag, built=last_modified)
    if stored is None:
        form = FacilityFilterForm(request.GET)
        errors = _filter_errors(form)
        if errors:
            return JsonResponse({"error": _("The filters could not be applied."), "fields": errors}, status=400)
        body = _geojson_body(form.cleaned_data)
        # Compressed once here, not per response (most clients accept gzip).
        stored = {"body": body, "gzip": gzip.compress(body, mtime=0), "built": int(timezone.now().timestamp())}
        public_cache.cache_store(key, stored)
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(stored["gzip"], content_type=GEOJSON, headers={"Content-Encoding": "gzip"})
    else:
        response = HttpResponse(stored["body"], content_type=GEOJSON)
    patch_vary_headers(response, ("Accept-Encoding",))
    return _geojson_headers(response, etag=etag, built=stored["built"])


def _geojson_body(filters: dict) -> bytes:
    data = pages.public_map_data(filters=filters)
    collection = json.loads(data.geojson)
    collection["statuses"] = {str(pk): status for pk, status in data.statuses.items()}
    collection["opened"] = {str(pk): day for pk, day in data.opened.items()}
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":")).encode()


def _geojson_headers(response: HttpResponse, *, etag: str, built: int | None) -> HttpResponse:
    response["ETag"] = etag
    if built is not None:
        response["Last-Modified"] = http_date(built)
    # Shared caches may keep it, but every use asks again (a 304 costs one small query).
    response["Cache-Control"] = "public, no-cache"
    return response
