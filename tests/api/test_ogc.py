"""OGC API – Features Part 1 (core, GeoJSON, HTML, OpenAPI 3.0) and Part 2 (CRS) at /ogc/."""

from __future__ import annotations

import json

import pytest
from django.contrib.gis.gdal import DataSource

from facilities.models import Facility
from layers.models import Region
from tests.clients import problem_fields


def rels(doc) -> dict:
    return {(link["rel"], link.get("type")): link["href"] for link in doc["links"]}


def test_landing_page_links(api):
    response = api.get("/ogc/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    links = rels(response.json())
    for rel in ("self", "service-desc", "service-doc", "conformance", "data"):
        assert any(r == rel for r, _t in links), rel
    assert api.get(links[("service-desc", "application/vnd.oai.openapi+json;version=3.0")]).status_code == 200


def test_conformance(api):
    classes = api.get("/ogc/conformance").json()["conformsTo"]
    for suffix in ("core", "geojson", "html", "oas30"):
        assert f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{suffix}" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes


def test_collections_for_anonymous_are_the_public_ones(api):
    doc = api.get("/ogc/collections").json()
    ids = {c["id"] for c in doc["collections"]}
    assert {"regions", "districts", "facilities"} <= ids
    facilities = next(c for c in doc["collections"] if c["id"] == "facilities")
    assert facilities["itemType"] == "feature"
    assert len(facilities["extent"]["spatial"]["bbox"][0]) == 4
    assert "http://www.opengis.net/def/crs/EPSG/0/32642" in facilities["crs"]
    assert any(link["rel"] == "items" and link["type"] == "application/geo+json" for link in facilities["links"])


def test_items_paging_by_next_links(api):
    seen, url, pages = [], "/ogc/collections/facilities/items?limit=50", 0
    while url:
        response = api.get(url)
        assert response["Content-Type"] == "application/geo+json"
        doc = json.loads(response.content)
        assert doc["numberMatched"] == Facility.objects.count()
        assert doc["numberReturned"] == len(doc["features"])
        seen += [f["id"] for f in doc["features"]]
        url = rels(doc).get(("next", "application/geo+json"))
        pages += 1
    assert pages == 3 and sorted(seen) == sorted(Facility.objects.values_list("pk", flat=True))


def test_items_default_limit_and_property_filters(api):
    doc = json.loads(api.get("/ogc/collections/facilities/items").content)
    assert doc["numberReturned"] == 10
    doc = json.loads(api.get("/ogc/collections/facilities/items?measure=18&limit=1000").content)
    assert doc["numberMatched"] == Facility.objects.filter(measure_id=18).count()
    assert {f["properties"]["measure"] for f in doc["features"]} == {18}


def test_item_and_its_links(api):
    facility = Facility.objects.first()
    response = api.get(f"/ogc/collections/facilities/items/{facility.pk}")
    assert response["Content-Type"] == "application/geo+json"
    feature = json.loads(response.content)
    assert feature["type"] == "Feature" and feature["id"] == facility.pk
    assert {link["rel"] for link in feature["links"]} >= {"self", "collection", "alternate"}
    assert api.get("/ogc/collections/facilities/items/987654321").status_code == 404
    assert api.get("/ogc/collections/nothing/items").status_code == 404
    assert api.get("/ogc/collections/nothing").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/ogc/?f=html",
        "/ogc/conformance?f=html",
        "/ogc/collections?f=html",
        "/ogc/collections/facilities?f=html",
        "/ogc/collections/facilities/items?f=html",
        "/ogc/collections/regions/items?f=html&limit=3",
    ],
)
def test_html_encoding(api, url):
    response = api.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert "<table" in response.content.decode() or "<ul" in response.content.decode()


def test_html_by_accept_header_and_item_page(api):
    facility = Facility.objects.first()
    response = api.get("/ogc/collections", HTTP_ACCEPT="text/html,application/xhtml+xml")
    assert response["Content-Type"].startswith("text/html")
    page = api.get(f"/ogc/collections/facilities/items/{facility.pk}?f=html").content.decode()
    assert facility.name_en in page
    assert api.get("/ogc/collections?f=xml").status_code == 400


def test_crs_part2_utm_and_epsg4326_axis_order(api):
    facility = Facility.objects.filter(region__kato="710000000").first()
    utm = facility.location.transform(32642, clone=True)
    url = f"/ogc/collections/facilities/items/{facility.pk}?crs=http://www.opengis.net/def/crs/EPSG/0/32642"
    response = api.get(url)
    assert response["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/32642>"
    x, y = json.loads(response.content)["geometry"]["coordinates"]
    assert abs(x - utm.x) < 0.01 and abs(y - utm.y) < 0.01
    latlon = json.loads(api.get(f"/ogc/collections/facilities/items/{facility.pk}?crs=EPSG:4326").content)
    assert latlon["geometry"]["coordinates"] == [round(facility.location.y, 6), round(facility.location.x, 6)]
    # bbox in EPSG:4326 is latitude first.
    lat, lon = facility.location.y, facility.location.x
    doc = json.loads(
        api.get(
            "/ogc/collections/facilities/items",
            {
                "bbox": f"{lat - 0.001},{lon - 0.001},{lat + 0.001},{lon + 0.001}",
                "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4326",
            },
        ).content
    )
    assert facility.pk in {f["id"] for f in doc["features"]}


def test_regions_items(api):
    doc = json.loads(api.get("/ogc/collections/regions/items?limit=100&simplify=2000").content)
    assert doc["numberMatched"] == Region.objects.count()
    assert {f["geometry"]["type"] for f in doc["features"]} == {"MultiPolygon"}


def test_ogc_rejects_bad_parameters(api):
    for query in ("bbox=a,b,c,d", "limit=-1", "region=1;", "sortby=secret", "foo=bar"):
        response = api.get(f"/ogc/collections/facilities/items?{query}")
        assert response.status_code == 400, query
        assert problem_fields(response), query


@pytest.mark.parametrize(("lang", "word"), [("ru", "Коллекции"), ("kk", "Жинақтар"), ("en", "Collections")])
def test_html_pages_are_translated(api, lang, word):
    html = api.get("/ogc/collections?f=html", HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert word in html


def test_every_link_resolves(api):
    """Links of the landing page, collections, an items page and an item (and the REST page) all answer 200."""
    facility = Facility.objects.first()
    docs = [
        api.get("/ogc/").json(),
        api.get("/ogc/collections").json(),
        json.loads(api.get("/ogc/collections/facilities/items?limit=5").content),
        json.loads(api.get(f"/ogc/collections/facilities/items/{facility.pk}").content),
        json.loads(api.get("/api/v1/facilities/?limit=5").content),
    ]
    hrefs = {link["href"] for doc in docs for link in doc.get("links", [])}
    hrefs |= {link["href"] for c in docs[1]["collections"] for link in c["links"]}
    assert len(hrefs) > 15
    for href in hrefs:
        path = href.removeprefix("http://testserver")
        assert api.get(path).status_code == 200, href


def test_responses_vary_on_accept_and_credentials(api):
    for url in ("/ogc/", "/ogc/collections", "/ogc/collections/facilities/items", "/api/v1/measures/"):
        vary = api.get(url)["Vary"]
        assert {"Accept", "Authorization", "Cookie"} <= {v.strip() for v in vary.split(",")}, url


def test_portal_pages_link_to_the_open_data_api(api):
    html = api.get("/ru/").content.decode()
    assert 'href="/ogc/?f=html"' in html and "Открытые данные (API)" in html


UTM = "http://www.opengis.net/def/crs/EPSG/0/32642"


def _geometries(doc: dict) -> list[dict]:
    return [f["geometry"] for f in doc.get("features", [doc] if doc.get("type") == "Feature" else [])]


@pytest.mark.parametrize("collection_id", ["facilities", "regions"])
def test_projected_output_names_its_crs_once_not_in_every_geometry(api, tmp_path, collection_id):
    """?crs=EPSG:32642: Content-Crs on items, item and downloads; no per-geometry `crs` member
    (ST_AsGeoJSON options 0); the FeatureCollection's own `crs` member is kept so that GDAL reads
    a saved file in the right CRS (api.common.crs_member); none of it for CRS84."""
    base = f"/ogc/collections/{collection_id}/items"
    items = api.get(f"{base}?limit=3&simplify=1000&crs={UTM}")
    assert items["Content-Crs"] == f"<{UTM}>"
    doc = json.loads(items.content)
    assert doc["crs"] == {"type": "name", "properties": {"name": UTM}}
    item = api.get(f"{base}/{doc['features'][0]['id']}?simplify=1000&crs={UTM}")
    assert item["Content-Crs"] == f"<{UTM}>"
    download = api.get(f"/api/v1/{collection_id}/?format=geojson&simplify=1000&crs={UTM}")
    assert download["Content-Crs"] == f"<{UTM}>"
    saved = json.loads(download.content)
    assert saved["crs"]["properties"]["name"] == UTM
    for body in (doc, json.loads(item.content), saved):
        assert all(g and "crs" not in g for g in _geometries(body)), collection_id
    target = tmp_path / "saved.geojson"
    target.write_bytes(download.content)
    assert DataSource(str(target))[0].srs.srid == 32642
    plain = json.loads(api.get(f"{base}?limit=3").content)  # the stored GeoJSON column where there is one
    assert "crs" not in plain and all("crs" not in g for g in _geometries(plain))
    assert api.get(f"{base}?limit=3")["Content-Crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
