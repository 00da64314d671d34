"""Base layers an administrator configured: the national cadastral WMS (editors only), a licensed
imagery XYZ service (editors only), a WMTS offered on every map and an inactive one.

The maps' cache of base layers lives in the default cache (process memory in tests), which a
rolled-back test transaction does not reset: it is cleared around every test here.
"""

from __future__ import annotations

import pytest

from layers.base_layer_selectors import base_layers_cache_clear
from layers.models import BaseLayer
from layers.services import base_layer_save
from tests.parcels.conftest import facility_a, parcel_a  # noqa: F401 - fixtures used by the page tests

CADASTRE_HOST = "wms.cadastre.example.kz"
IMAGERY_HOST = "imagery.example.kz"
PUBLIC_HOST = "tiles.public.example.kz"
INACTIVE_HOST = "old.example.kz"


@pytest.fixture(autouse=True)
def fresh_base_layer_cache():
    base_layers_cache_clear()
    yield
    base_layers_cache_clear()


@pytest.fixture(autouse=True)
def english():
    from django.utils import translation

    with translation.override("en"):
        yield


def layer(**fields) -> BaseLayer:
    defaults = {
        "name_kk": fields.get("name_en", "Қабат"),
        "name_ru": fields.get("name_en", "Слой"),
        "offered_on": BaseLayer.Offer.EDITORS,
    }
    return base_layer_save(layer=BaseLayer(**(defaults | fields)))


@pytest.fixture
def cadastre_wms(db):
    return layer(
        name_en="National cadastral map",
        kind=BaseLayer.Kind.WMS,
        url=f"https://{CADASTRE_HOST}/geoserver/cadastre/wms",
        wms_layers="cadastre:parcels",
        attribution="© Land cadastre of Kazakhstan",
        is_overlay=True,
        order=2,
    )


@pytest.fixture
def imagery_xyz(db):
    return layer(
        name_en="Satellite imagery 2025",
        kind=BaseLayer.Kind.XYZ,
        url=f"https://{IMAGERY_HOST}/tiles/{{z}}/{{x}}/{{y}}.jpg?key=portal",
        attribution="© Imagery licensor, 2025",
        max_zoom=20,
        order=1,
    )


@pytest.fixture
def public_wmts(db):
    return layer(
        name_en="Public topographic map",
        kind=BaseLayer.Kind.WMTS,
        url=f"https://{PUBLIC_HOST}/wmts/topo/default/GoogleMapsCompatible/{{TileMatrix}}/{{TileRow}}/{{TileCol}}.png",
        attribution="© Public topographic service",
        offered_on=BaseLayer.Offer.ALL_MAPS,
        order=3,
    )


@pytest.fixture
def inactive_xyz(db):
    return layer(
        name_en="Retired imagery",
        kind=BaseLayer.Kind.XYZ,
        url=f"https://{INACTIVE_HOST}/{{z}}/{{x}}/{{y}}.png",
        attribution="© Retired",
        offered_on=BaseLayer.Offer.ALL_MAPS,
        is_active=False,
    )


@pytest.fixture
def configured(cadastre_wms, imagery_xyz, public_wmts, inactive_xyz):
    return {"wms": cadastre_wms, "xyz": imagery_xyz, "wmts": public_wmts, "inactive": inactive_xyz}
