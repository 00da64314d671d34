"""The maps' only contact points with the tracking (issue 4) and parcels (issue 3) apps.

Each function imports the other app's selector when it is installed and returns
a neutral answer otherwise (every facility "planned", no parcels), so the maps
work before and after those apps land. Keep this module small: one function
per foreign selector.
"""

from __future__ import annotations

import importlib
from datetime import date
from types import ModuleType

from django.apps import apps
from django.urls import NoReverseMatch, reverse

PLANNED = "planned"


def _selectors(app: str) -> ModuleType | None:
    if not apps.is_installed(app):
        return None
    try:
        return importlib.import_module(f"{app}.selectors")
    except ModuleNotFoundError:
        return None


def tracking_available() -> bool:
    module = _selectors("tracking")
    return module is not None and hasattr(module, "facility_statuses_as_of")


def parcels_available() -> bool:
    module = _selectors("parcels")
    return module is not None and hasattr(module, "parcel_geojson")


def facility_statuses(*, as_of: date, facility_ids: list[int]) -> dict[int, str]:
    """{facility id: status code as of `as_of`}; "planned" for every facility without tracking."""
    module = _selectors("tracking")
    found: dict[int, str] = {}
    if module is not None and hasattr(module, "facility_statuses_as_of"):
        found = module.facility_statuses_as_of(as_of=as_of, facility_ids=facility_ids)
    return {pk: found.get(pk) or PLANNED for pk in facility_ids}


def facility_status_styles() -> tuple[dict[str, str], dict[str, str]]:
    """(labels, colours) of the tracking app's status codes, or two empty dicts without it."""
    module = _selectors("tracking")
    if module is None:
        return {}, {}
    labels = {str(k): str(v) for k, v in getattr(module, "STATUS_LABELS", {}).items()}
    colours = {str(k): str(v) for k, v in getattr(module, "STATUS_COLOURS", {}).items()}
    return labels, colours


def facility_done_statuses() -> set[str]:
    module = _selectors("tracking")
    return {str(s) for s in getattr(module, "DONE_STATUSES", ())} if module is not None else set()


def facility_states(*, as_of: date, facility_ids: list[int]) -> dict:
    """tracking's {facility id: FacilityState} (stages reached/planned with dates), or {} without it."""
    module = _selectors("tracking")
    if module is None or not hasattr(module, "facility_states_as_of"):
        return {}
    return module.facility_states_as_of(as_of=as_of, facility_ids=facility_ids)


def facility_opened_on(*, as_of: date, facility_ids: list[int]) -> dict[int, date]:
    """{facility id: date its "opened" stage was reached, on or before `as_of`}; empty without tracking."""
    result: dict[int, date] = {}
    for pk, state in facility_states(as_of=as_of, facility_ids=facility_ids).items():
        opened = getattr(state, "reached", {}).get("opened")
        if isinstance(opened, date) and opened <= as_of:
            result[pk] = opened
    return result


def region_kpi_coverage(*, as_of: date) -> dict[str, dict[str, float | None]] | None:
    """{region KATO: {KPI code: percentage points added by open facilities}} from tracking's
    kpi_as_of (one method for dashboard and map), or None without it."""
    module = _selectors("tracking")
    if module is None or not hasattr(module, "kpi_as_of"):
        return None
    result: dict[str, dict[str, float | None]] = {}
    for row in module.kpi_as_of(as_of=as_of):
        if row.region is not None:
            result.setdefault(row.region.kato, {})[row.code] = row.added_pp
    return result


def parcels_geojson(*, queryset) -> str | None:
    """The parcels app's GeoJSON of a (scoped) parcel queryset, or None without the app."""
    module = _selectors("parcels")
    if module is None or not hasattr(module, "parcel_geojson"):
        return None
    return module.parcel_geojson(queryset=queryset)


def links_geojson(*, queryset) -> str | None:
    module = _selectors("parcels")
    if module is None or not hasattr(module, "link_geojson"):
        return None
    return module.link_geojson(queryset=queryset)


def tile_url_template(layer: str) -> str | None:
    """Leaflet URL template ('/tiles/<layer>/{z}/{x}/{y}.pbf', under any script prefix) of the api
    app's vector tiles of `layer`, or None when that app, its route or tiles of that layer are absent."""
    if not apps.is_installed("api"):
        return None
    from api.registry import collection_get

    collection = collection_get(layer)
    if collection is None or not collection.tiles:
        return None
    try:
        # Distinct placeholder numbers, so only the tile address is replaced (never part of a prefix).
        url = reverse("tiles", kwargs={"layer": layer, "z": 9901, "x": 9902, "y": 9903})
    except NoReverseMatch:
        return None
    return url.replace("/9901/9902/9903.pbf", "/{z}/{x}/{y}.pbf")


def object_url(name: str, pk: int) -> str | None:
    """URL of another app's object page by URL name, or None when that page does not exist (yet)."""
    try:
        return reverse(name, kwargs={"pk": pk})
    except NoReverseMatch:
        return None
