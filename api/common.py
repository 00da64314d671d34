"""What the REST API, OGC API – Features and tiles views share: throttling, errors,
negotiation, conditional GET, links and the items response built around PostGIS text.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.gis.db.models.functions import AsWKT, Transform
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation, DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from accounts import layer_access
from api import selectors
from api.params import (
    CRS,
    CRS84,
    Cursor,
    ItemsQuery,
    ParamError,
    downloads_elsewhere,
    items_query_parse,
    unknown_parameter,
)
from gis_portal.geo.collections import Collection
from gis_portal.geo.geojson import as_expression

GEOJSON = "application/geo+json"
JSON = "application/json"
HTML = "text/html"


class IgnoreFormatNegotiation(BaseContentNegotiation):
    """The views write their own bodies; `?format=` selects a download, not a DRF renderer."""

    def select_parser(self, request, parsers):
        # Bodies (the parcels app's writes on a collection path) are matched by Content-Type as usual.
        return DefaultContentNegotiation().select_parser(request, parsers)

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ApiView(APIView):
    """Base of every read view: JSON errors, no renderer negotiation; throttled by the default
    policy (REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"], api/throttling.py) like every API view."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreFormatNegotiation

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        # JSON or HTML by Accept; what a caller may see by its session or token.
        patch_vary_headers(response, ("Accept", "Authorization", "Cookie"))
        return response


def raw_response(
    body: str | bytes, content_type: str, *, status: int = 200, headers: dict | None = None
) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type, status=status)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def cache_headers(response: HttpResponse, *, request, etag: str | None, last_modified) -> HttpResponse:
    if etag:
        response["ETag"] = etag
    if last_modified:
        response["Last-Modified"] = http_date(last_modified.timestamp())
    anonymous = not request.user.is_authenticated
    response["Cache-Control"] = "public, max-age=60" if anonymous else "private, max-age=0, must-revalidate"
    patch_vary_headers(response, ("Accept", "Authorization", "Cookie", "Accept-Encoding"))
    return response


def conditional(request, *, etag: str, last_modified) -> HttpResponse | None:
    """304 Not Modified when the client's If-None-Match / If-Modified-Since still hold."""
    response = get_conditional_response(
        request, etag=etag, last_modified=int(last_modified.timestamp()) if last_modified else None
    )
    if response is not None:
        cache_headers(response, request=request, etag=etag, last_modified=last_modified)
    return response


def url_with(request, path: str | None = None, **changes) -> str:
    """The request's absolute URL with some query parameters changed (None removes one)."""
    params = {k: v for k, v in request.GET.items()}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    base = request.build_absolute_uri(path or request.path)
    return f"{base}?{urlencode(params)}" if params else base


def page_links(request, *, query: ItemsQuery, page, matched: int, media_type: str, html_alternate: bool) -> tuple:
    """self/alternate/next/prev links of an items page; (links, next href, prev href)."""
    links = [{"rel": "self", "type": media_type, "title": "this document", "href": url_with(request)}]
    if html_alternate:
        links.append(
            {"rel": "alternate", "type": HTML, "title": "this document as HTML", "href": url_with(request, f="html")}
        )
    next_href = prev_href = None
    if query.cursor is not None or not query.offset:
        forward = query.cursor.forward if query.cursor else True
        more_after = page.has_more if forward else True
        more_before = (query.cursor is not None) if forward else page.has_more
        if more_after and page.last_key is not None:
            next_href = url_with(request, offset=None, cursor=Cursor(page.last_key, True, query.ordering).encode())
        if more_before and page.first_key is not None:
            prev_href = url_with(request, offset=None, cursor=Cursor(page.first_key, False, query.ordering).encode())
    else:
        if page.has_more:
            next_href = url_with(request, offset=query.offset + query.limit)
        prev_href = url_with(request, offset=max(0, query.offset - query.limit) or None)
    if next_href:
        links.append({"rel": "next", "type": media_type, "title": "next page", "href": next_href})
    if prev_href:
        links.append({"rel": "prev", "type": media_type, "title": "previous page", "href": prev_href})
    return links, next_href, prev_href


def envelope(members: dict, features: bytes) -> bytes:
    """A JSON object with `members` and the PostGIS-built `features` array (UTF-8) appended as it is."""
    head = json.dumps(members, ensure_ascii=False, default=str).encode()
    return b"".join((head[:-1], b', "features": ', features, b"}"))


def items_response(
    request, collection: Collection, *, query: ItemsQuery, extra_links: list | None = None, html_alternate: bool = False
):
    """GeoJSON FeatureCollection page (or a download) of `collection` for `request.user`.

    At most two SQL statements whatever the page: the aggregate for numberMatched / ETag
    and the PostGIS-built page. With the page cache on, or when the client sends
    validators, the aggregate runs first: 304 after it when the client's copy is current,
    and no second statement when another client asked for the same, unchanged page within
    API_RESPONSE_CACHE_SECONDS (the body is cached under its ETag). Otherwise the page
    comes first, and when it holds every matched row the aggregate is not run at all
    (ItemsReads.page_meta): the same numberMatched, Last-Modified and ETag, one statement.
    """
    user = request.user
    reads = selectors.ItemsReads(collection, query=query, user=user)
    validators = "HTTP_IF_NONE_MATCH" in request.META or "HTTP_IF_MODIFIED_SINCE" in request.META
    if not (validators or query.download or settings.API_RESPONSE_CACHE_SECONDS):
        # Nothing can be spared by knowing the ETag first (no 304 to give, no cached body):
        # build the page, and count only when it does not hold every matched row.
        page = reads.page()
        meta = reads.page_meta(page) or reads.meta()
        etag = None
        if not meta.estimated:
            etag = selectors.items_etag(collection=collection, user=user, meta=meta, variant=request.get_full_path())
        return _items_page_response(
            request,
            query=query,
            page=page,
            meta=meta,
            etag=etag,
            extra_links=extra_links,
            html_alternate=html_alternate,
        )
    meta = reads.meta()
    etag = None
    if not meta.estimated:
        etag = selectors.items_etag(collection=collection, user=user, meta=meta, variant=request.get_full_path())
        not_modified = conditional(request, etag=etag, last_modified=meta.last_modified)
        if not_modified is not None:
            return not_modified
    if query.download:
        response = download_response(collection, reads, query=query, user=user, matched=meta.matched)
        return cache_headers(response, request=request, etag=etag, last_modified=meta.last_modified)
    cache_key = None
    if etag and settings.API_RESPONSE_CACHE_SECONDS:
        # The ETag already names the rows, their newest change, the caller's scope and the query;
        # host and scheme complete it because the links inside the body are absolute.
        cache_key = "api:items:" + hashlib.sha256(f"{etag}|{request.scheme}|{request.get_host()}".encode()).hexdigest()
        body = cache.get(cache_key)
        if body is not None:
            response = raw_response(body, GEOJSON, headers={"Content-Crs": f"<{query.crs.uri}>"})
            return cache_headers(response, request=request, etag=etag, last_modified=meta.last_modified)
    page = reads.page(matched=None if meta.estimated else meta.matched)
    return _items_page_response(
        request,
        query=query,
        page=page,
        meta=meta,
        etag=etag,
        extra_links=extra_links,
        html_alternate=html_alternate,
        cache_key=cache_key,
    )


def _items_page_response(
    request,
    *,
    query: ItemsQuery,
    page,
    meta,
    etag: str | None,
    extra_links: list | None,
    html_alternate: bool,
    cache_key: str | None = None,
) -> HttpResponse:
    """The FeatureCollection response around a PostGIS-built page (cached under `cache_key` if given)."""
    links, next_href, prev_href = page_links(
        request, query=query, page=page, matched=meta.matched, media_type=GEOJSON, html_alternate=html_alternate
    )
    members = {
        "type": "FeatureCollection",
        "numberMatched": meta.matched,
        "numberReturned": page.returned,
        "timeStamp": timezone.now().isoformat(timespec="seconds"),
        "links": [*links, *(extra_links or [])],
        "count": meta.matched,
        "numberMatchedEstimated": meta.estimated,
        "next": next_href,
        "previous": prev_href,
    }
    members.update(crs_member(query))
    body = envelope(members, page.features)
    if cache_key and len(body) <= settings.API_RESPONSE_CACHE_MAX_BYTES:
        cache.set(cache_key, body, settings.API_RESPONSE_CACHE_SECONDS)
    response = raw_response(body, GEOJSON, headers={"Content-Crs": f"<{query.crs.uri}>"})
    return cache_headers(response, request=request, etag=etag, last_modified=meta.last_modified)


def crs_member(query: ItemsQuery) -> dict:
    """The FeatureCollection-level `crs` member (GeoJSON 2008 form) when the output CRS is not CRS84.

    Kept on purpose although RFC 7946 dropped it: the response's CRS is stated by the
    Content-Crs header (OGC API – Features Part 2), but a page or download saved to a file loses
    its headers, and GDAL's GeoJSON reader (hence QGIS and ogr2ogr) takes a saved file's CRS from
    this member only; RFC 7946 readers ignore a foreign member. It appears once per document,
    never inside each geometry (gis_portal.geo.geojson.geometry_sql), and never for CRS84.
    """
    if query.crs.uri == CRS84:
        return {}
    return {"crs": {"type": "name", "properties": {"name": query.crs.uri}}}


def download_response(
    collection: Collection, reads: selectors.ItemsReads, *, query: ItemsQuery, user, matched: int
) -> HttpResponse:
    """All filtered rows as a GeoJSON, CSV or GeoPackage file (no paging)."""
    cap = settings.API_DOWNLOAD_MAX
    if matched > cap:
        raise ParamError(
            "format",
            _("%(matched)d features match; downloads are limited to %(cap)d: narrow the filters")
            % {"matched": matched, "cap": cap},
        )
    stamp = timezone.now().strftime("%Y%m%d")
    name = f"{collection.id}-{stamp}"
    if query.download == "csv":
        body = _csv(collection, reads.queryset, query=query, user=user)
        return raw_response(
            body, "text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}.csv"'}
        )
    if query.download == "gpkg" and query.crs.flip_axes:
        # A GeoPackage stores x = longitude whatever the authority axis order.
        query = replace(query, crs=CRS(query.crs.srid, query.crs.uri, False))
    page = selectors.ItemsReads(collection, query=query, user=user).page(limit=cap)
    if query.download == "geojson":
        return raw_response(
            envelope({"type": "FeatureCollection", "name": collection.id, **crs_member(query)}, page.features),
            GEOJSON,
            headers={
                "Content-Disposition": f'attachment; filename="{name}.geojson"',
                "Content-Crs": f"<{query.crs.uri}>",
            },
        )
    return raw_response(
        _gpkg(collection, envelope({"type": "FeatureCollection"}, page.features), query=query),
        "application/geopackage+sqlite3",
        headers={"Content-Disposition": f'attachment; filename="{name}.gpkg"'},
    )


def _csv(collection: Collection, queryset, *, query: ItemsQuery, user) -> str:
    """CSV with one row per feature: id, the properties the user may read, geometry as WKT in the output CRS."""
    names = layer_access.readable_properties(collection, queryset, user=user)
    props = collection.all_properties()
    values = {f"_c{i}": as_expression(props[n]) for i, n in enumerate(names)}
    ordered = queryset.order_by(query.order_field, "pk")
    if collection.geometry:
        geom = collection.geometry if query.crs.srid == 4326 else Transform(collection.geometry, query.crs.srid)
        rows = ordered.values("pk", **values, _wkt=AsWKT(geom, precision=query.precision))
    else:
        rows = ordered.values("pk", **values)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", *names, *(["wkt"] if collection.geometry else [])])
    for row in rows.iterator(chunk_size=2000):
        writer.writerow([row["pk"], *(row[v] for v in values), *([row["_wkt"]] if collection.geometry else [])])
    return out.getvalue()


def _gpkg(collection: Collection, geojson: bytes, *, query: ItemsQuery) -> bytes:
    """GeoPackage written by GDAL's ogr2ogr from the PostGIS-built GeoJSON.

    Django's GDAL bindings read but cannot write vector data; ogr2ogr (gdal-bin, a
    system package the scripts install) is used on a temporary file rather than
    adding pyogrio, which would parse the GeoJSON into Python objects first.
    """
    with tempfile.TemporaryDirectory(prefix="gis_portal_gpkg_") as tmp:
        source = Path(tmp) / "in.geojson"
        target = Path(tmp) / "out.gpkg"
        source.write_bytes(geojson)
        srs = "EPSG:4326" if query.crs.srid == 4326 else f"EPSG:{query.crs.srid}"
        command = ["ogr2ogr", "-f", "GPKG", "-nln", collection.id, "-a_srs", srs, str(target), str(source)]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=120)  # noqa: S603 - fixed argv, no shell
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, FileNotFoundError) as exc:
            raise exceptions.APIException(f"GeoPackage could not be written: {exc}") from exc
        return target.read_bytes()


def item_response(request, collection: Collection, *, pk: int, links: list | None = None):
    """One GeoJSON Feature (REST and OGC), with ETag/Last-Modified and 304."""
    if not layer_access.collection_visible(collection, user=request.user):
        raise exceptions.NotAuthenticated()
    params = request.query_params.copy()
    params.pop("f", None)  # checked by the REST and OGC views (html is OGC's)
    for key in params:
        if key == "format":  # a download is of a whole collection, not of one item
            raise ParamError(key, downloads_elsewhere(collection))
        if key not in ("crs", "precision", "simplify"):
            raise unknown_parameter(key, ("crs", "precision", "simplify", "f"))
    query = items_query_parse(params, collection, default_limit=1, allow_download=False)
    if not 0 < pk < 2**63:  # beyond bigint no row exists; the ORM would fail on it (found by scripts/fuzz)
        raise Http404("no such feature")
    queryset = layer_access.collection_queryset(collection, user=request.user).filter(pk=pk)
    meta = selectors.items_meta(collection, queryset, user=request.user)
    if not meta.matched:
        raise Http404("no such feature")
    etag = selectors.items_etag(collection=collection, user=request.user, meta=meta, variant=request.get_full_path())
    not_modified = conditional(request, etag=etag, last_modified=meta.last_modified)
    if not_modified is not None:
        return not_modified
    feature = selectors.item_one(collection, queryset, pk=pk, query=query, user=request.user)
    if links:
        feature = b'{"links": ' + json.dumps(links).encode() + b", " + feature[1:]
    response = raw_response(feature, GEOJSON, headers={"Content-Crs": f"<{query.crs.uri}>"})
    return cache_headers(response, request=request, etag=etag, last_modified=meta.last_modified)
