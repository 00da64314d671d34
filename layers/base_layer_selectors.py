"""Reads of the administrator's base layers for the maps, cached in the default cache.

What a map needs (names, Leaflet URL template, WMS parameters, attribution, zooms) and the
Content-Security-Policy sources of their hosts are computed once from the active layers and
kept in the default cache (shared by every worker with the db:// or redis:// cache) until
layers.services.base_layer_save / base_layer_delete clear it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.utils.html import escape

from gis_portal.csp import source_of
from gis_portal.i18n import current_language
from layers.base_layer_checks import leaflet_url_template
from layers.models import BaseLayer

CACHE_KEYS = {False: "layers:base-layers:v1:all-maps", True: "layers:base-layers:v1:editors"}
CACHE_SECONDS = 24 * 3600  # cleared on every change; the timeout only bounds a lost invalidation


@dataclass(frozen=True)
class BaseLayerSpec:
    """One active base layer as the maps draw it (tiles in EPSG:3857, zoom levels 0–24)."""

    pk: int
    names: dict[str, str]  # kk/ru/en
    kind: str  # BaseLayer.Kind value
    url: str  # XYZ template for xyz/wmts, base address for wms
    attribution: str  # HTML-escaped: Leaflet and OpenLayers insert attributions as HTML
    min_zoom: int
    max_zoom: int
    overlay: bool
    wms_layers: str = ""
    wms_format: str = ""
    wms_transparent: bool = True
    wms_version: str = ""

    @property
    def name(self) -> str:
        return self.names.get(current_language()) or self.names["kk"]


@dataclass(frozen=True)
class BaseLayerOffer:
    """The layers a map offers, in order, and the CSP img-src sources of their hosts."""

    layers: tuple[BaseLayerSpec, ...]
    img_sources: tuple[str, ...]


def _spec(layer: BaseLayer) -> BaseLayerSpec:
    return BaseLayerSpec(
        pk=layer.pk,
        names={"kk": layer.name_kk, "ru": layer.name_ru or layer.name_kk, "en": layer.name_en or layer.name_kk},
        kind=layer.kind,
        url=leaflet_url_template(kind=layer.kind, url=layer.url.strip()),
        attribution=escape(layer.attribution.strip()),
        min_zoom=layer.min_zoom,
        max_zoom=layer.max_zoom,
        overlay=layer.is_overlay,
        wms_layers=layer.wms_layers.strip() if layer.kind == BaseLayer.Kind.WMS else "",
        wms_format=layer.wms_format if layer.kind == BaseLayer.Kind.WMS else "",
        wms_transparent=layer.wms_transparent,
        wms_version=layer.wms_version if layer.kind == BaseLayer.Kind.WMS else "",
    )


def base_layers_offered(*, editors: bool) -> BaseLayerOffer:
    """The active base layers of a map: every-map layers, plus the editors-only ones when `editors`.

    Editor maps are the parcel pages (editor, detail, list, import preview) and the admin's
    facility and parcel geometry widgets; every other map (public map, dashboards) gets
    only the layers offered on every map.
    """
    key = CACHE_KEYS[editors]
    offer = cache.get(key)
    if offer is None:
        rows = BaseLayer.objects.filter(is_active=True)
        if not editors:
            rows = rows.filter(offered_on=BaseLayer.Offer.ALL_MAPS)
        layers = tuple(_spec(layer) for layer in rows.order_by("order", "id"))
        sources = tuple(dict.fromkeys(filter(None, (source_of(spec.url) for spec in layers))))
        offer = BaseLayerOffer(layers=layers, img_sources=sources)
        cache.set(key, offer, CACHE_SECONDS)
    return offer


def base_layers_cache_clear() -> None:
    """Forget the cached offers (after a layer was saved or deleted)."""
    cache.delete_many(list(CACHE_KEYS.values()))
