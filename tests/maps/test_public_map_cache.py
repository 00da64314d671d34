"""The public map under load: page shell and facilities GeoJSON from the shared cache, conditional GET,
invalidation when the public data change, per-response CSP nonce and CSRF token on a cached page."""

from __future__ import annotations

import gzip
import json
import re

from django.contrib.gis.geos import Point

from facilities.models import Facility

GEOJSON = "/en/maps/public/facilities.geojson"


def _nonce(response) -> str:
    return re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)


def test_geojson_answers_304_to_a_current_etag_and_last_modified(db, client):
    first = client.get(GEOJSON)
    assert first.status_code == 200
    assert first["Content-Type"] == "application/geo+json"
    etag, modified = first["ETag"], first["Last-Modified"]
    assert client.get(GEOJSON, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(GEOJSON, HTTP_IF_MODIFIED_SINCE=modified).status_code == 304
    # Another filter is another document: its own ETag, so the first one does not match it.
    other = client.get(GEOJSON + "?kind=art_school", HTTP_IF_NONE_MATCH=etag)
    assert other.status_code == 200 and other["ETag"] != etag
    assert {f["properties"]["kind"] for f in other.json()["features"]} == {"art_school"}


def test_geojson_is_served_compressed_to_clients_that_accept_gzip(db, client):
    plain = client.get(GEOJSON)
    packed = client.get(GEOJSON, HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert packed["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed["Vary"]
    assert json.loads(gzip.decompress(packed.content)) == plain.json()
    assert len(packed.content) < len(plain.content) / 3


def test_geojson_rejects_a_bad_filter_with_json(db, client):
    response = client.get(GEOJSON + "?kind=castle")
    assert response.status_code == 400
    body = response.json()
    assert "kind" in body["fields"] and "castle" in body["fields"]["kind"][0]


def test_a_facility_change_shows_at_once_on_the_cached_page_and_geojson(db, client):
    facility = Facility.objects.filter(location__isnull=False).order_by("pk").first()
    first = client.get(GEOJSON)
    page = client.get("/en/maps/public/").content.decode()
    count = Facility.objects.filter(location__isnull=False).count()
    assert f'data-count="{count}"' in page
    # Moved and renamed (the database's history trigger records it; nothing else is told).
    Facility.objects.filter(pk=facility.pk).update(location=Point(71.5, 51.25, srid=4326), name_en="Moved centre")
    second = client.get(GEOJSON, HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200 and second["ETag"] != first["ETag"]
    feature = next(f for f in second.json()["features"] if f["id"] == facility.pk)
    assert feature["geometry"]["coordinates"] == [71.5, 51.25]
    assert feature["properties"]["name_en"] == "Moved centre"
    # Taken off the map: the cached page's count follows.
    Facility.objects.filter(pk=facility.pk).update(location=None)
    page = client.get("/en/maps/public/").content.decode()
    assert f'data-count="{count - 1}"' in page
    assert facility.pk not in {f["id"] for f in client.get(GEOJSON).json()["features"]}


def test_cached_page_costs_a_constant_small_number_of_queries(db, client, django_assert_max_num_queries):
    for path in ("/en/maps/public/", "/ru/maps/public/?kind=art_school", "/en/maps/public/embed/", GEOJSON):
        assert client.get(path).status_code == 200  # fills the cache
        # The data version and, with a database cache, the cached body: nothing is rebuilt.
        with django_assert_max_num_queries(2):
            response = client.get(path)
        assert response.status_code == 200


def test_cached_page_gets_its_own_nonce_and_csrf_token(db, client):
    first = client.get("/en/maps/public/")  # rendered and cached
    second = client.get("/en/maps/public/")  # from the cache
    other = client.get("/en/maps/public/embed/")  # rendered: never the cached copy's placeholder
    assert len({_nonce(first), _nonce(second), _nonce(other)}) == 3
    for response in (first, second, other):
        html = response.content.decode()
        inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert inline and all(f'nonce="{_nonce(response)}"' in tag for tag in inline)
        if response is other:
            continue  # the embed has no form
        tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html))
        assert len(tokens) == 1 and len(next(iter(tokens))) == 64
    # The language switch (a POST form with the token) still works from a cached page.
    client.cookies.clear()
    html = client.get("/en/maps/public/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    client_csrf = client.__class__(enforce_csrf_checks=True)
    client_csrf.cookies = client.cookies
    form = {"language": "ru", "next": "/maps/public/", "csrfmiddlewaretoken": token}
    response = client_csrf.post("/i18n/setlang/", form)
    assert response.status_code == 302


def test_page_keeps_its_errors_and_focus_checks(db, client):
    assert client.get("/en/maps/public/?facility=99999999").status_code == 404
    assert client.get("/en/maps/public/?facility=abc").status_code == 400
    assert client.get("/en/maps/public/?status=nonsense").status_code == 400
    facility = Facility.objects.filter(location__isnull=False).order_by("pk").first()
    html = client.get(f"/en/maps/public/?facility={facility.pk}").content.decode()
    assert f'"focus": {facility.pk}' in html
    Facility.objects.filter(pk=facility.pk).update(location=None)
    assert client.get(f"/en/maps/public/?facility={facility.pk}").status_code == 404
