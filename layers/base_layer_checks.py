"""Checks of an administrator's base-layer definition (pure: no ORM), and its Leaflet URL template.

Every problem is keyed by the field it concerns, so a form shows it next to that field.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from django.utils.translation import gettext as _

XYZ_PLACEHOLDERS = ("{z}", "{x}", "{y}")
WMTS_PLACEHOLDERS = ("{TileMatrix}", "{TileRow}", "{TileCol}")
# Parameters Leaflet's WMS layer writes into every GetMap request itself; a base URL carrying them
# would send each twice, with conflicting values.
WMS_REQUEST_PARAMETERS = frozenset(
    {
        "service",
        "request",
        "layers",
        "styles",
        "format",
        "transparent",
        "version",
        "width",
        "height",
        "srs",
        "crs",
        "bbox",
    }
)
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_ZOOM = 24
_WMTS_TO_XYZ = {"{TileMatrix}": "{z}", "{TileRow}": "{y}", "{TileCol}": "{x}"}
_BLANK = re.compile(r"^\s*$")


def _url_problems(url: str, *, allow_local_http: bool) -> list[str]:
    if not url or any(c.isspace() for c in url):
        return [_("Enter the service's URL, without spaces.")]
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "http" and not (allow_local_http and host in LOCAL_HOSTS):
        return [_("The URL must start with https:// (http:// is accepted only for localhost in DEBUG).")]
    if parts.scheme not in ("http", "https") or not host:
        return [_("The URL must be an absolute https:// address with a host name.")]
    if parts.username is not None or parts.password is not None:
        return [_("The URL must not contain a user name or password: use a key the service issues for the portal.")]
    return []


def base_layer_problems(
    *,
    kind: str,
    url: str,
    wms_layers: str,
    attribution: str,
    min_zoom: int | None,
    max_zoom: int | None,
    allow_local_http: bool = False,
) -> dict[str, list[str]]:
    """Problems of a base-layer definition by field name (empty: valid).

    `kind` is "xyz", "wms" or "wmts" (layers.models.BaseLayer.Kind); `allow_local_http` admits
    http://localhost for development (settings.DEBUG).
    """
    problems: dict[str, list[str]] = {}
    url = (url or "").strip()
    url_problems = _url_problems(url, allow_local_http=allow_local_http)
    if not url_problems and kind == "xyz" and not all(p in url for p in XYZ_PLACEHOLDERS):
        url_problems.append(_("An XYZ URL template must contain {z}, {x} and {y}."))
    if (
        not url_problems
        and kind == "wmts"
        and not all(p in url for p in XYZ_PLACEHOLDERS)
        and not all(p in url for p in WMTS_PLACEHOLDERS)
    ):
        url_problems.append(
            _("A WMTS URL template must contain {TileMatrix}, {TileRow} and {TileCol} (or {z}, {x} and {y}).")
        )
    if not url_problems and kind == "wms":
        if "{" in url:
            url_problems.append(_("A WMS URL is the service's base address, not a template with {…} placeholders."))
        query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
        conflicting = sorted({k.upper() for k, _v in query if k.lower() in WMS_REQUEST_PARAMETERS})
        if conflicting:
            url_problems.append(
                _("Remove %(params)s from the WMS URL: the map sets them in each request.")
                % {"params": ", ".join(conflicting)}
            )
    if url_problems:
        problems["url"] = url_problems
    if kind == "wms" and _BLANK.match(wms_layers or ""):
        problems["wms_layers"] = [_("Name the WMS layers to show (comma-separated).")]
    if _BLANK.match(attribution or ""):
        problems["attribution"] = [_("Enter the attribution the licence holder requires; it is shown on the map.")]
    if min_zoom is not None and max_zoom is not None:
        if max_zoom > MAX_ZOOM:
            problems.setdefault("max_zoom", []).append(_("The maximum zoom is at most %(max)d.") % {"max": MAX_ZOOM})
        if min_zoom > max_zoom:
            problems.setdefault("min_zoom", []).append(_("The minimum zoom must not exceed the maximum zoom."))
    return problems


def leaflet_url_template(*, kind: str, url: str) -> str:
    """The URL as a Leaflet/OpenLayers XYZ template: WMTS {TileMatrix}/{TileRow}/{TileCol} become {z}/{y}/{x}.

    A WMS URL is returned unchanged (it is the base address of GetMap requests).
    """
    if kind != "wmts":
        return url
    for placeholder, xyz in _WMTS_TO_XYZ.items():
        url = url.replace(placeholder, xyz)
    return url
