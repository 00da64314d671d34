"""Base layers configured by an administrator (issue 15, point 5): validation, maps, CSP, cache, admin."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from layers.base_layer_selectors import base_layers_offered
from layers.models import BaseLayer
from layers.services import BaseLayerInvalid, base_layer_delete, base_layer_save
from tests.layers.conftest import CADASTRE_HOST, IMAGERY_HOST, INACTIVE_HOST, PUBLIC_HOST, layer

GOOD = {
    "name_kk": "Ғарыштық түсірілім",
    "name_ru": "Космоснимки",
    "name_en": "Imagery",
    "kind": "xyz",
    "url": "https://imagery.example.kz/{z}/{x}/{y}.jpg",
    "attribution": "© Imagery licensor",
}


def img_src(response) -> list[str]:
    policy = response["Content-Security-Policy"]
    directive = next(d.strip() for d in policy.split(";") if d.strip().startswith("img-src"))
    return directive.split()[1:]


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"url": "http://imagery.example.kz/{z}/{x}/{y}.jpg"}, "url", "https://"),
        ({"url": "ftp://imagery.example.kz/{z}/{x}/{y}.jpg"}, "url", "https://"),
        ({"url": "https://user:secret@imagery.example.kz/{z}/{x}/{y}.jpg"}, "url", "user name or password"),
        ({"url": "https://imagery.example.kz/{z}/{x}.jpg"}, "url", "{z}, {x} and {y}"),
        ({"kind": "wmts", "url": "https://w.example.kz/wmts/{TileMatrix}/{TileRow}.png"}, "url", "{TileCol}"),
        (
            {"kind": "wms", "url": "https://w.example.kz/wms?SERVICE=WMS&request=GetMap", "wms_layers": "a"},
            "url",
            "Remove REQUEST, SERVICE",
        ),
        ({"kind": "wms", "url": "https://w.example.kz/wms", "wms_layers": " "}, "wms_layers", "WMS layers"),
        ({"attribution": "  "}, "attribution", "attribution"),
        ({"min_zoom": 12, "max_zoom": 10}, "min_zoom", "minimum zoom"),
        ({"max_zoom": 30}, "max_zoom", "at most 24"),
    ],
)
def test_invalid_definitions_are_refused_naming_the_field(db, changes, field, text):
    with pytest.raises(BaseLayerInvalid) as caught:
        base_layer_save(layer=BaseLayer(**(GOOD | changes)))
    assert field in caught.value.message_dict, caught.value.message_dict
    assert any(text in message for message in caught.value.message_dict[field]), caught.value.message_dict
    assert not BaseLayer.objects.exists()


def test_valid_definitions_are_saved_and_wmts_becomes_a_tile_template(db):
    base_layer_save(layer=BaseLayer(**GOOD))
    wms = base_layer_save(
        layer=BaseLayer(
            **(GOOD | {"kind": "wms", "url": "https://w.example.kz/geoserver/wms?map=cadastre", "wms_layers": "kn"})
        )
    )
    wmts_url = "https://w.example.kz/wmts?layer=topo&TileMatrix={TileMatrix}&TileRow={TileRow}&TileCol={TileCol}"
    base_layer_save(layer=BaseLayer(**(GOOD | {"kind": "wmts", "url": wmts_url})))
    specs = {spec.kind: spec for spec in base_layers_offered(editors=True).layers}
    assert specs["wmts"].url == "https://w.example.kz/wmts?layer=topo&TileMatrix={z}&TileRow={y}&TileCol={x}"
    assert specs["wms"].url == wms.url and specs["wms"].wms_layers == "kn"


def test_http_is_accepted_for_localhost_only_in_debug(db, settings):
    local = GOOD | {"url": "http://127.0.0.1:8080/{z}/{x}/{y}.png"}
    settings.DEBUG = False
    with pytest.raises(BaseLayerInvalid):
        base_layer_save(layer=BaseLayer(**local))
    settings.DEBUG = True
    assert base_layer_save(layer=BaseLayer(**local)).pk
    with pytest.raises(BaseLayerInvalid):
        base_layer_save(layer=BaseLayer(**(GOOD | {"url": "http://imagery.example.kz/{z}/{x}/{y}.png"})))


def test_the_database_refuses_a_layer_without_attribution(db):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        BaseLayer.objects.create(**(GOOD | {"attribution": ""}))


def test_parcel_editor_offers_the_active_layers_with_attribution(client, akimat_a, parcel_a, configured):
    client.force_login(akimat_a)
    page = client.get(reverse("parcels:edit", args=[parcel_a.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    # The WMS overlay and the XYZ imagery (editors only), the WMTS as a tile template, each with its attribution.
    assert "L.tileLayer.wms(" in html and f"https://{CADASTRE_HOST}/geoserver/cadastre/wms" in html
    assert '"layers": "cadastre:parcels"' in html
    assert f"https://{IMAGERY_HOST}/tiles/{{z}}/{{x}}/{{y}}.jpg?key=portal" in html
    assert f"https://{PUBLIC_HOST}/wmts/topo/default/GoogleMapsCompatible/{{z}}/{{y}}/{{x}}.png" in html
    for text in ("© Land cadastre of Kazakhstan", "© Imagery licensor, 2025", "© Public topographic service"):
        assert json.dumps(text)[1:-1] in html or text in html, text  # JSON inside the map's script
    for name in ("National cadastral map", "Satellite imagery 2025", "Public topographic map", "Base map"):
        assert f'"{name}"' in html, name
    assert "L.control.layers(" in html  # the switcher
    assert "Retired imagery" not in html and INACTIVE_HOST not in html
    # The editor's CSP admits exactly the configured hosts, not the inactive one.
    sources = img_src(page)
    for host in (CADASTRE_HOST, IMAGERY_HOST, PUBLIC_HOST):
        assert f"https://{host}" in sources, sources
    assert f"https://{INACTIVE_HOST}" not in sources


def test_parcel_detail_and_list_maps_offer_them_too(client, akimat_a, parcel_a, configured):
    client.force_login(akimat_a)
    for url in (reverse("parcels:detail", args=[parcel_a.pk]), reverse("parcels:list")):
        page = client.get(url)
        assert page.status_code == 200
        assert "Satellite imagery 2025" in page.content.decode()
        assert f"https://{IMAGERY_HOST}" in img_src(page)


def test_public_map_gets_only_every_map_layers(client, configured):
    page = client.get(reverse("maps:public"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Public topographic map" in html
    assert "National cadastral map" not in html and "Satellite imagery 2025" not in html
    sources = img_src(page)
    assert f"https://{PUBLIC_HOST}" in sources
    assert f"https://{IMAGERY_HOST}" not in sources and f"https://{CADASTRE_HOST}" not in sources
    assert f"https://{INACTIVE_HOST}" not in sources


def test_pages_without_maps_do_not_widen_the_policy(client, configured):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    sources = img_src(page)
    assert not {f"https://{h}" for h in (PUBLIC_HOST, IMAGERY_HOST, CADASTRE_HOST)} & set(sources)


def test_the_offer_is_cached_and_refreshed_by_save_and_delete(db, configured, django_assert_num_queries):
    base_layers_offered(editors=True)
    with django_assert_num_queries(0):
        offer = base_layers_offered(editors=True)
    assert f"https://{IMAGERY_HOST}" in offer.img_sources
    imagery = configured["xyz"]
    imagery.is_active = False
    base_layer_save(layer=imagery)
    offer = base_layers_offered(editors=True)
    assert f"https://{IMAGERY_HOST}" not in offer.img_sources
    assert [spec.name for spec in offer.layers] == ["National cadastral map", "Public topographic map"]
    base_layer_delete(layer_ids=[configured["wms"].pk])
    assert [spec.name for spec in base_layers_offered(editors=True).layers] == ["Public topographic map"]
    assert base_layers_offered(editors=False).img_sources == (f"https://{PUBLIC_HOST}",)


def test_layer_names_follow_the_language(client, akimat_a, parcel_a, db):
    layer(
        name_kk="Кадастрлық карта",
        name_ru="Кадастровая карта",
        name_en="Cadastral map",
        kind="xyz",
        url="https://k.example.kz/{z}/{x}/{y}.png",
        attribution="© Cadastre",
    )
    client.force_login(akimat_a)
    page = client.get(reverse("parcels:edit", args=[parcel_a.pk]).replace("/en/", "/ru/"))
    assert json.dumps("Кадастровая карта")[1:-1] in page.content.decode()


def test_a_failing_layer_has_its_own_notice(client, akimat_a, parcel_a, configured):
    client.force_login(akimat_a)
    html = client.get(reverse("parcels:edit", args=[parcel_a.pk])).content.decode()
    for notice in (
        "The base map cannot be loaded; outlines are shown instead.",
        "The base layer “Satellite imagery 2025” cannot be loaded; outlines are shown instead.",
        "The layer “National cadastral map” cannot be loaded.",
    ):
        assert json.dumps(notice)[1:-1] in html, notice


# --- admin ---------------------------------------------------------------------------------------


def test_admin_page_is_for_administrators_only(client, admin_user_role, akimat_a, planner, configured):
    url = reverse("admin:layers_baselayer_changelist")
    for user in (akimat_a, planner):
        client.force_login(user)
        assert client.get(url).status_code in (302, 403)
        assert client.get(reverse("admin:layers_baselayer_add")).status_code in (302, 403)
    client.force_login(admin_user_role)
    page = client.get(reverse("admin:layers_baselayer_add"))
    assert page.status_code == 200
    assert "national cadastral map" in page.content.decode()  # the help text's example


def test_admin_form_names_problems_and_saves_through_the_service(client, admin_user_role, db):
    client.force_login(admin_user_role)
    data = {
        **GOOD,
        "url": "http://user:pw@imagery.example.kz/{z}/{x}.jpg",
        "wms_format": "image/png",
        "wms_version": "1.1.1",
        "min_zoom": 0,
        "max_zoom": 19,
        "order": 0,
        "offered_on": "editors",
        "is_active": "on",
        "attribution": "",
    }
    refused = client.post(reverse("admin:layers_baselayer_add"), data)
    assert refused.status_code == 200
    text = refused.content.decode()
    assert "https://" in text and "This field is required." in text  # url and attribution
    assert not BaseLayer.objects.exists()
    base_layers_offered(editors=True)  # cached (empty) before the save
    data |= {"url": GOOD["url"], "attribution": "© Imagery licensor"}
    saved = client.post(reverse("admin:layers_baselayer_add"), data)
    assert saved.status_code == 302, saved.content.decode()[-2000:]
    assert [spec.name for spec in base_layers_offered(editors=True).layers] == ["Imagery"]


def test_facility_admin_widget_offers_the_layers_and_admits_their_hosts(
    client, admin_user_role, facility_a, configured
):
    client.force_login(admin_user_role)
    page = client.get(reverse("admin:facilities_facility_change", args=[facility_a.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "layers/ol-base-layers.js" in html and "PortalBaseLayers.group(" in html
    assert '"LAYERS": "cadastre:parcels"' in html and "Satellite imagery 2025" in html
    assert "Retired imagery" not in html
    sources = img_src(page)
    assert f"https://{IMAGERY_HOST}" in sources and f"https://{CADASTRE_HOST}" in sources
    assert f"https://{INACTIVE_HOST}" not in sources
