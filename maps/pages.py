"""The folium maps of each page, assembled from maps.selectors data and layers.webmap.elements layers."""

from __future__ import annotations

from datetime import date

import folium
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from facilities.models import Facility
from layers.models import Region
from layers.webmap.builders import KAZAKHSTAN_BOUNDS, base_map
from layers.webmap.elements import ChoroplethLayer, FacilityLayer, FacilityTileLayer, FeatureLayer, VectorTileLayer
from maps import selectors
from maps.forms import METRICS
from maps.registry import analysis_layers
from parcels.models import LinkStatus, ParcelStatus, Utility

# Colours of the parcels app's status codes (parcels.models.ParcelStatus / LinkStatus).
PARCEL_STATUS_COLORS = {
    "candidate": "#f0a202",
    "allocated": "#2b7bb9",
    "act_issued": "#1b998b",
    "revoked": "#d7263d",
}
LINK_STATUS_COLORS = {
    "not_required": "#c7ccd1",
    "planned": "#9aa5b1",
    "design": "#f0a202",
    "under_construction": "#2b7bb9",
    "connected": "#1b998b",
}


def parcel_legend() -> list[tuple[str, str]]:
    """(label, colour) of each parcel status, in the parcels app's words."""
    return [(str(label), PARCEL_STATUS_COLORS.get(code, "#777")) for code, label in ParcelStatus.choices]


def link_legend() -> list[tuple[str, str]]:
    return [(str(label), LINK_STATUS_COLORS.get(code, "#777")) for code, label in LinkStatus.choices]


def _lang() -> str:
    return (get_language() or "kk")[:2]


def _template_url(name: str, **kwargs) -> str:
    """A URL with the placeholder __id__ where the object's key goes (filled in by portal-maps.js)."""
    key, dummy = next(iter(kwargs.items()))
    return reverse(name, kwargs={key: dummy}).replace(f"/{dummy}/", "/__id__/")


def _links(*specs: tuple[str, str | None, str]) -> list[list]:
    """Popup links [template, id property, label] of the object pages named by URL name."""
    return [[_template_url(name, pk=0), prop, str(label)] for name, prop, label in specs]


def facility_labels() -> dict:
    return {
        "kinds": selectors.kind_labels(),
        "regions": selectors.region_labels(),
        "statuses": selectors.status_labels(),
        "fields": {
            "kind": _("Kind"),
            "region": _("Region"),
            "status": _("Status"),
            "planned": _("Planned opening (year)"),
            "opened": _("Opened"),
            "not_opened": _("not yet"),
            "places": _("Places"),
            "details": _("Facility page"),
            "share": _("Link to this facility"),
            "demo": _("demo data"),
        },
    }


def _facility_layer(
    data: selectors.FacilityMapData,
    *,
    cluster: bool,
    detail_url: str | None,
    share_url: str | None,
    focus: int | None = None,
    data_url: str | None = None,
) -> FacilityLayer | FacilityTileLayer:
    options = {
        "lang": _lang(),
        "opened": data.opened,
        "labels": facility_labels(),
        "statusColors": selectors.status_colors(),
        "kindColors": selectors.KIND_COLORS,
        "detailUrl": detail_url,
        "shareUrl": share_url,
    }
    if data.tiles_url:
        # Ids grouped by status: a few bytes per facility instead of its GeoJSON feature.
        by_status: dict[str, list[int]] = {}
        for pk, status in data.statuses.items():
            by_status.setdefault(status, []).append(pk)
        return FacilityTileLayer(
            url=data.tiles_url,
            name=_("Facilities"),
            options={**options, "layer": "facilities", "statusIds": by_status},
        )
    return FacilityLayer(
        data=data.geojson,
        name=_("Facilities"),
        cluster=cluster,
        # With `dataUrl` the browser fetches the collection and its statuses and opening dates.
        options={**options, "statuses": data.statuses, "focus": focus, "dataUrl": data_url},
    )


def public_map_data(*, filters: dict) -> selectors.FacilityMapData:
    """The public's facilities (approved plans, public fields) as of today, filtered by kind, region, status."""
    qs = selectors.facility_queryset(kind=filters.get("kind"), region_kato=filters.get("region"))
    return selectors.facility_map_data(queryset=qs, as_of=timezone.localdate(), status=filters.get("status"))


def public_map(*, filters: dict, focus: int | None, embed: bool, data_url: str) -> tuple[folium.Map, int]:
    """The public map's shell: the facilities are not embedded, the browser loads them from `data_url`
    (maps.public_views.public_facilities_geojson, cacheable); returns the map and their number."""
    qs = selectors.facility_queryset(kind=filters.get("kind"), region_kato=filters.get("region"))
    count = selectors.facility_count(queryset=qs, as_of=timezone.localdate(), status=filters.get("status"))
    m = base_map(height="100vh" if embed else "70vh", aria_label=_("Map of the facilities"))
    share = reverse("maps:public") + "?facility=__id__"
    # Inside an iframe the facility page (which may not be framed) would not open: no link there.
    detail = None if embed else _template_url("maps:facility", pk=0)
    empty = selectors.FacilityMapData(geojson="null", statuses={}, opened={}, count=count)
    layer = _facility_layer(empty, cluster=True, detail_url=detail, share_url=share, focus=focus, data_url=data_url)
    layer.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m, count


def national_map(*, user, filters: dict, as_of: date, metric: str) -> tuple[folium.Map, int, dict]:
    """Regions choropleth (progress / coverage) and clustered facilities, scoped to `user`."""
    qs = selectors.facility_queryset(
        user=user, measure=filters.get("measure"), kind=filters.get("kind"), region_kato=filters.get("region")
    )
    data = selectors.facility_map_data(queryset=qs, as_of=as_of, status=filters.get("status"), tiles=True)
    metrics = selectors.region_metrics(queryset=qs, as_of=as_of)
    m = base_map(aria_label=_("National map of the facilities"))
    ChoroplethLayer(
        data=selectors.regions_geojson(),
        name=_("Regions"),
        options={
            "lang": _lang(),
            "metrics": metrics,
            "metric": metric,
            "breaks": selectors.METRIC_BREAKS,
            "colors": selectors.CHOROPLETH_COLORS,
            "noDataColor": selectors.NO_DATA_COLOR,
            "regionUrl": _template_url("maps:region", kato="000000000"),
            "metricLabels": {key: str(label) for key, label in METRICS},
            "labels": {"no_data": _("no data"), "region_map": _("Region map"), "facilities": _("Facilities")},
        },
    ).add_to(m)
    _facility_layer(data, cluster=True, detail_url=_template_url("maps:facility", pk=0), share_url=None).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m, data.count, metrics


def region_map(*, user, region: Region, as_of: date) -> tuple[folium.Map, int, bool]:
    """One region: outline, districts, parcels and routes (if the parcels app is there), facilities."""
    extent = region.geom.extent if region.geom else None
    bounds = [[extent[1], extent[0]], [extent[3], extent[2]]] if extent else KAZAKHSTAN_BOUNDS
    m = base_map(bounds=bounds, outlines=False, aria_label=_("Map of the region"))
    FeatureLayer(
        data=selectors.districts_geojson(region=region),
        name=_("Districts"),
        options={
            "lang": _lang(),
            "key": "districts",
            "className": "district-popup",
            "title": "name",
            "style": {"color": "#56606b", "weight": 1, "fillOpacity": 0.05, "dashArray": "4"},
        },
    ).add_to(m)
    FeatureLayer(
        data=selectors.regions_geojson(
            simplify_m=selectors.REGION_SIMPLIFY_M, queryset=Region.objects.filter(pk=region.pk)
        ),
        name=_("Region outline"),
        options={"key": "region", "style": {"color": "#222", "weight": 3, "fill": False, "interactive": False}},
    ).add_to(m)
    layers = selectors.region_parcel_layers(user=user, region=region, tiles=True)
    if layers is not None:
        _parcel_layers(m, layers, region_kato=region.kato)
    qs = selectors.facility_queryset(user=user, region_kato=region.kato)
    data = selectors.facility_map_data(queryset=qs, as_of=as_of, tiles=True)
    _facility_layer(data, cluster=False, detail_url=_template_url("maps:facility", pk=0), share_url=None).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m, data.count, layers is not None


def _parcel_layers(m: folium.Map, layers: selectors.ParcelLayers, *, region_kato: str | None = None) -> None:
    options = {
        "key": "parcels",
        "className": "parcel-popup",
        "colorBy": "status",
        "colors": PARCEL_STATUS_COLORS,
        "style": {"weight": 2, "fillOpacity": 0.35},
        "popupFields": [
            ["cadastral_number", _("Cadastral number")],
            ["status", _("Status"), selectors.choice_labels(ParcelStatus.choices)],
            ["declared_area_ha", _("Declared area, ha")],
            ["act_number", _("Act number")],
            ["act_date", _("Act date")],
        ],
    }
    if layers.parcels_tiles_url:
        # The tiles hold every parcel the user may view; this map shows its own region's.
        VectorTileLayer(
            url=layers.parcels_tiles_url,
            name=_("Land parcels"),
            options={
                **options,
                "layer": "parcels",
                "filter": {"region": region_kato} if region_kato else {},
                "links": _links(
                    ("parcels:detail", None, _("Parcel page")), ("maps:facility", "facility", _("Facility page"))
                ),
            },
        ).add_to(m)
    elif layers.parcels:
        FeatureLayer(
            data=layers.parcels,
            name=_("Land parcels"),
            options={
                **options,
                "links": _links(
                    ("parcels:detail", None, _("Parcel page")), ("maps:facility", "facility", _("Facility page"))
                ),
            },
        ).add_to(m)
    if layers.links:
        FeatureLayer(
            data=layers.links,
            name=_("Infrastructure routes"),
            options={
                "key": "routes",
                "className": "route-popup",
                "colorBy": "status",
                "colors": LINK_STATUS_COLORS,
                "style": {"weight": 4, "opacity": 0.9},
                "popupFields": [
                    ["utility", _("Utility"), {u.code: u.name for u in Utility.objects.all()}],
                    ["status", _("Status"), selectors.choice_labels(LinkStatus.choices)],
                    ["route_length_m", _("Length, m")],
                ],
                "links": _links(("parcels:detail", "parcel", _("Parcel page"))),
            },
        ).add_to(m)


def facility_map(*, user, facility: Facility, as_of: date, with_parcels: bool) -> folium.Map:
    """The facility's point, its parcel(s) and infrastructure routes (authorised users only)."""
    location = (facility.location.y, facility.location.x) if facility.location else None
    m = base_map(location=location, zoom_start=14 if location else None, aria_label=_("Map of the facility"))
    if with_parcels:
        layers = selectors.facility_parcel_layers(user=user, facility=facility)
        if layers is not None:
            _parcel_layers(m, layers)
            bounds = selectors.facility_parcel_bounds(user=user, facility=facility)
            if bounds:
                m.fit_bounds(bounds, max_zoom=17)
    data = selectors.facility_map_data(queryset=Facility.objects.filter(pk=facility.pk), as_of=as_of)
    _facility_layer(data, cluster=False, detail_url=None, share_url=None).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def analysis_map(*, user, request, as_of: date) -> tuple[folium.Map, list[tuple[str, dict]]]:
    """Facilities plus every layer registered in maps.registry (their legends are returned)."""
    m = base_map(aria_label=_("Analysis map"))
    data = selectors.facility_map_data(queryset=selectors.facility_queryset(user=user), as_of=as_of, tiles=True)
    _facility_layer(data, cluster=True, detail_url=_template_url("maps:facility", pk=0), share_url=None).add_to(m)
    legends = []
    for layer in analysis_layers():
        legend = layer.build(map=m, request=request, options=request.GET)
        if legend:
            legends.append((str(layer.label), legend))
    folium.LayerControl(collapsed=True).add_to(m)
    return m, legends
