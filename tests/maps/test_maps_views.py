"""Map pages through Django's test client: permissions, input errors, public fields only, framing."""

import json
import re
from datetime import date

import pytest
from django.contrib.auth import get_user_model

from facilities.models import Facility
from maps import selectors as map_selectors
from maps.registry import register_analysis_layer, unregister_analysis_layer
from maps.selectors import facility_map_data, facility_queryset, region_metrics

# The public properties of the facilities layer (facilities/collections.py, tracking/collections.py):
# the map embeds the same names the API serves.
PUBLIC_PROPERTIES = {
    "name_kk",
    "name_ru",
    "name_en",
    "kind",
    "measure",
    "region",
    "places",
    "planned_year",
    "is_demo",
    "stage",
    "opened_on",
    # Finances: null unless recorded and published by the editor (none of the demo's are).
    "budget_kzt",
    "funding_source",
    "contractor_name",
    "contractor_bin",
}


def embedded_feature_collections(html: str) -> list[dict]:
    """Every GeoJSON FeatureCollection passed to PortalMaps in the page's script."""
    decoder = json.JSONDecoder()
    return [decoder.raw_decode(html, m.end())[0] for m in re.finditer(r"Object\.assign\(\{data: ", html)]


def test_public_map_serves_every_located_facility_with_public_fields_only(db, client):
    """The page embeds no facility data (it is cached per language and filter); its layer loads them
    from the public GeoJSON, which holds every located facility with the public fields only."""
    response = client.get("/en/maps/public/")
    assert response.status_code == 200
    html = response.content.decode()
    assert embedded_feature_collections(html) == [None]
    data_url = re.search(r'"dataUrl": "([^"]+)"', html).group(1)
    assert data_url == "/en/maps/public/facilities.geojson"
    features = client.get(data_url).json()["features"]
    assert len(features) == Facility.objects.filter(location__isnull=False).count() == 150
    for feature in features:
        assert set(feature["properties"]) == PUBLIC_PROPERTIES
        assert not any(feature["properties"][name] for name in ("budget_kzt", "contractor_name", "contractor_bin"))
    assert response["X-Frame-Options"] == "DENY"


def test_public_map_hides_parcels_documents_costs_and_draft_plans(db, client, wkt):
    """The public page never reads the parcels or plans: secrets created here do not appear."""
    from django.apps import apps

    secrets = []
    facility = Facility.objects.filter(region__kato="710000000").order_by("-pk").first()
    if apps.is_installed("parcels"):
        from decimal import Decimal

        from django.contrib.gis.geos import MultiPolygon

        from parcels.models import InfrastructureLink, Parcel, Utility

        parcel = Parcel.objects.create(
            facility=facility,
            region=facility.region,
            cadastral_number="71-555-555-5555",
            geom=MultiPolygon(facility.location.buffer(0.001), srid=4326),
            declared_area_ha=Decimal("1.0"),
            computed_area_ha=Decimal("1.0"),
            area_srid=32642,
            land_category="settlement",
            right_type="temporary_free",
            act_number="ACT-CLIENT-SECRET-1",
            act_date="2024-03-01",
            status="act_issued",
        )
        InfrastructureLink.objects.create(
            parcel=parcel,
            utility=Utility.objects.first(),
            region=facility.region,
            balance_act_number="BAL-CLIENT-SECRET-2",
            cost_kzt=Decimal("123456789.00"),
        )
        secrets += ["71-555-555-5555", "ACT-CLIENT-SECRET-1", "BAL-CLIENT-SECRET-2", "123456789"]
    if apps.is_installed("tracking"):
        from tracking.models import Plan

        Plan.objects.create(plan_measure_id=13, version=999, status="draft", note="DRAFT-CLIENT-SECRET-3")
        secrets.append("DRAFT-CLIENT-SECRET-3")
    for path in (
        "/en/maps/public/",
        f"/en/maps/public/?facility={facility.pk}",
        "/ru/maps/public/embed/",
        "/en/maps/public/facilities.geojson",
        f"/kk/maps/facility/{facility.pk}/",  # the facility page, as an anonymous visitor sees it
    ):
        html = client.get(path).content.decode()
        for secret in secrets:
            assert secret not in html, (path, secret)
        for key in ("cadastral_number", "act_number", "cost_kzt", "balance_act_number"):
            assert key not in html, (path, key)


def test_public_map_rejects_bad_input_with_a_clear_error(db, client):
    response = client.get("/en/maps/public/?facility=abc")
    assert response.status_code == 400
    assert "The facility must be given by its number." in response.content.decode()
    assert client.get("/en/maps/public/?facility=99999999").status_code == 404
    response = client.get("/en/maps/public/?kind=castle")
    assert response.status_code == 400
    assert "castle" in response.content.decode()


def test_embed_view_is_the_only_frameable_page(db, client):
    response = client.get("/en/maps/public/embed/")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert client.get("/en/maps/public/")["X-Frame-Options"] == "DENY"


def test_working_maps_need_a_role(db, client, planner, akimat_a, region_a, region_b):
    for path in ("/en/maps/", f"/en/maps/region/{region_a.kato}/", "/en/maps/analysis/"):
        response = client.get(path)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], path
    nobody = get_user_model().objects.create_user(username="no_role", password="x-12345-x!")
    client.force_login(nobody)
    assert client.get("/en/maps/").status_code == 403
    client.force_login(planner)
    assert client.get("/en/maps/").status_code == 200
    assert client.get(f"/en/maps/region/{region_b.kato}/").status_code == 200
    client.force_login(akimat_a)
    assert client.get(f"/en/maps/region/{region_a.kato}/").status_code == 200
    assert client.get(f"/en/maps/region/{region_b.kato}/").status_code == 403


def test_akimat_national_map_shows_only_its_region(db, client, akimat_a, region_a):
    client.force_login(akimat_a)
    html = client.get("/en/maps/").content.decode()
    facilities = [
        c for c in embedded_feature_collections(html) if c["features"] and "places" in c["features"][0]["properties"]
    ]
    kato = {f["properties"]["region"] for f in facilities[0]["features"]}
    assert kato == {region_a.kato}


def test_national_map_filters_and_date(db, client, planner):
    client.force_login(planner)
    total = len(embedded_feature_collections(client.get("/en/maps/").content.decode())[-1]["features"])
    assert total == 150
    html = client.get("/en/maps/?kind=art_school&measure=").content.decode()
    art = embedded_feature_collections(html)[-1]["features"]
    assert len(art) == Facility.objects.filter(kind_id="art_school").count() < total
    assert {f["properties"]["kind"] for f in art} == {"art_school"}
    html = client.get("/en/maps/?measure=14&region=710000000").content.decode()
    expected = Facility.objects.filter(measure_id=14, region__kato="710000000").count()
    assert len(embedded_feature_collections(html)[-1]["features"]) == expected
    response = client.get("/en/maps/?as_of=2020-01-01")
    assert response.status_code == 400
    assert "2023-12-13" in response.content.decode()
    assert client.get("/en/maps/?as_of=yesterday").status_code == 400
    assert client.get("/en/maps/?metric=beauty").status_code == 400


def test_status_filter_keeps_only_facilities_with_that_status(db, client, planner):

    as_of = date(2025, 7, 5)
    ids = list(Facility.objects.values_list("pk", flat=True))
    statuses = map_selectors.facility_statuses(as_of=as_of, facility_ids=ids)
    status, expected = max(((s, list(statuses.values()).count(s)) for s in set(statuses.values())), key=lambda x: x[1])
    client.force_login(planner)
    html = client.get(f"/en/maps/?as_of=2025-07-05&status={status}").content.decode()
    assert len(embedded_feature_collections(html)[-1]["features"]) == expected


def test_region_metrics_count_every_facility_once(db):

    metrics = region_metrics(queryset=facility_queryset(), as_of=date(2026, 1, 1))
    assert len(metrics) == 20
    assert sum(m["facilities"] for m in metrics.values()) == Facility.objects.count()
    for m in metrics.values():
        assert m["done"] <= m["facilities"]
        if m["progress"] is not None:
            assert 0 <= m["progress"] <= 100


def test_facility_map_data_uses_one_query_path(db, django_assert_max_num_queries):

    with django_assert_max_num_queries(8):
        data = facility_map_data(queryset=facility_queryset(), as_of=date(2025, 1, 1))
    assert data.count == 150
    assert len(json.loads(data.geojson)["features"]) == 150


def test_facility_page_public_fields_for_everyone_details_for_authorised(db, client, akimat_a, akimat_b, region_a):
    facility = Facility.objects.filter(region=region_a).first()
    html = client.get(f"/en/maps/facility/{facility.pk}/").content.decode()
    assert facility.name_en in html
    assert 'id="timeline"' not in html and 'id="documents"' not in html
    client.force_login(akimat_b)
    assert 'id="documents"' not in client.get(f"/en/maps/facility/{facility.pk}/").content.decode()
    client.force_login(akimat_a)
    html = client.get(f"/en/maps/facility/{facility.pk}/").content.decode()
    assert 'id="timeline"' in html and 'id="documents"' in html
    assert client.get("/en/maps/facility/99999999/").status_code == 404


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_map_pages_in_three_languages(db, client, planner, lang):
    client.force_login(planner)
    for path in ("maps/", "maps/public/", "maps/region/710000000/", "maps/analysis/"):
        response = client.get(f"/{lang}/{path}")
        assert response.status_code == 200, path
        assert f'<html lang="{lang}">' in response.content.decode()


def test_analysis_map_shows_registered_layers(db, client, planner):
    from layers.webmap.elements import FeatureLayer

    def build(*, map, request, options):
        FeatureLayer(
            data='{"type":"FeatureCollection","features":[]}', name="Catchments test", options={"key": "x"}
        ).add_to(map)
        return {"underserved": "#d7263d"}

    register_analysis_layer(key="test_catchments", label="Catchments test", build=build)
    try:
        client.force_login(planner)
        html = client.get("/en/maps/analysis/").content.decode()
        assert 'data-layer="test_catchments"' in html
        assert "Catchments test" in html and "underserved" in html
    finally:
        unregister_analysis_layer(key="test_catchments")
    with pytest.raises(ValueError):
        register_analysis_layer(key="bad key!", label="x", build=build)


def test_map_pages_run_under_a_strict_nonce_csp(db, client, planner):
    client.force_login(planner)
    for path in ("/en/maps/public/", "/en/maps/", "/en/maps/region/710000000/", "/en/maps/analysis/"):
        response = client.get(path)
        csp = response["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
        assert "script-src 'self' 'nonce-" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp
        html = response.content.decode()
        inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert inline and all(f'nonce="{nonce}"' in tag for tag in inline), (path, inline)
        assert "https://tile.openstreetmap.org" in csp  # the tile host may serve images
    embed = client.get("/en/maps/public/embed/")
    assert "frame-ancestors *" in embed["Content-Security-Policy"]
