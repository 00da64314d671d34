"""Analysis results as API collections: OGC API – Features and REST items read like the database.

Three finished runs over Astana (region a) and Turkistan region (region b): coverage, best
sites and underserved areas. Signed-in roles read them (akimat users: their own region's
rows only); anonymous clients do not see the collections at all.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.gis.geos import GEOSGeometry
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.http import http_date
from pyproj import Geod

from accessibility.models import AreaResult, PointResult, SiteResult, ZoneResult
from layers.models import Region
from tests.clients import problem_fields
from tests.clients import token_client as _client

GEOD = Geod(ellps="WGS84")
IDS = (
    "accessibility-zones",
    "accessibility-regions",
    "accessibility-sites",
    "accessibility-areas",
    "accessibility-settlements",
)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counts and cached item pages live in the cache; each test starts from none."""
    cache.clear()
    yield
    cache.clear()


def _items(client, collection_id: str, **params) -> dict:
    response = client.get(f"/ogc/collections/{collection_id}/items", {"limit": 1000, **params})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("application/geo+json")
    return json.loads(response.content)


def _area_region_ids(run) -> dict[int, int | None]:
    """Region of each hexagon of `run`: the region containing its centroid, computed here by GEOS."""
    regions = [(r.pk, r.geom) for r in Region.objects.filter(geom__isnull=False)]
    return {
        a.pk: next((pk for pk, geom in regions if geom.intersects(a.geom.centroid)), None)
        for a in AreaResult.objects.filter(run=run)
    }


# (collection, run key, rows of the run, their geometry, their region id) — the database side.
CASES = {
    "accessibility-zones": (
        "coverage",
        lambda run: ZoneResult.objects.filter(run=run, district__isnull=False).select_related("district"),
        lambda row: row.district.geom,
        lambda row: row.region_id,
    ),
    "accessibility-regions": (
        "coverage",
        lambda run: ZoneResult.objects.filter(run=run, region__isnull=False, district__isnull=True).select_related(
            "region"
        ),
        lambda row: row.region.geom,
        lambda row: row.region_id,
    ),
    "accessibility-sites": (
        "sites",
        lambda run: SiteResult.objects.filter(run=run),
        lambda row: row.location,
        lambda row: row.region_id,
    ),
    "accessibility-areas": (
        "underserved",
        lambda run: AreaResult.objects.filter(run=run),
        lambda row: row.geom,
        None,  # from the centroid: _area_region_ids
    ),
    "accessibility-settlements": (
        "coverage",
        lambda run: PointResult.objects.filter(run=run).select_related("settlement"),
        lambda row: row.settlement.location,
        lambda row: row.settlement.region_id,
    ),
}


def _same_geometry(feature: dict, db_geom) -> None:
    got = GEOSGeometry(json.dumps(feature["geometry"]), srid=4326)
    assert got.geom_type.replace("Multi", "") == db_geom.geom_type.replace("Multi", "")
    if db_geom.dims == 0:
        assert got.distance(db_geom) < 1e-6
    else:
        # Snapped to the published 1e-6 degree grid: each vertex moves by under 1e-6 degree, so the
        # area that differs is at most a 1e-6 degree band along the boundary.
        assert got.sym_difference(db_geom).area < 1e-6 * db_geom.length
        assert got.num_coords > 0.9 * db_geom.num_coords  # not simplified


def test_the_url_configuration_serves_every_analysis_collection():
    for collection_id in IDS:
        assert reverse(f"ogc-{collection_id}-items") == f"/ogc/collections/{collection_id}/items"
        assert reverse(f"api-{collection_id}-list") == f"/api/v1/{collection_id}/"


@pytest.mark.parametrize("collection_id", IDS)
def test_planner_reads_each_collection_like_the_database(planner, runs, collection_id):
    run_key, rows_of, geometry_of, _region_of = CASES[collection_id]
    run = runs[run_key]
    rows = {row.pk: row for row in rows_of(run)}
    doc = _items(_client(planner), collection_id, run=run.pk)
    assert doc["numberMatched"] == doc["numberReturned"] == len(rows) > 0
    assert {f["id"] for f in doc["features"]} == set(rows)
    for feature in doc["features"][:25]:
        assert feature["properties"]["run"] == run.pk
        assert feature["properties"]["run_kind"] == run.kind
        _same_geometry(feature, geometry_of(rows[feature["id"]]))
    # One feature by id, REST and OGC alike.
    first = doc["features"][0]
    for url in (f"/ogc/collections/{collection_id}/items/{first['id']}", f"/api/v1/{collection_id}/{first['id']}/"):
        response = _client(planner).get(url)
        assert response.status_code == 200, url
        assert json.loads(response.content)["properties"] == first["properties"]
    # Rows of another run are not mixed in.
    other = next(r for key, r in runs.items() if key != run_key)
    assert _items(_client(planner), collection_id, run=other.pk)["numberMatched"] == rows_of(other).count()


def test_zone_properties_are_the_rows_figures(planner, runs, region_a):
    run = runs["coverage"]
    doc = _items(_client(planner), "accessibility-zones", run=run.pk, region=region_a.kato)
    rows = {z.pk: z for z in ZoneResult.objects.filter(run=run, district__isnull=False, region=region_a)}
    assert doc["numberMatched"] == len(rows) > 0
    for feature in doc["features"]:
        row, props = rows[feature["id"]], feature["properties"]
        assert props["region"] == region_a.kato and props["district"] == row.district.kato
        assert props["name_en"] == row.district.name_en and props["scenario"] == "current"
        assert props["children"] == pytest.approx(row.children)
        assert props["covered"] == pytest.approx(row.covered)
        assert props["uncovered"] == pytest.approx(row.uncovered)
        assert props["covered_pct"] == (None if row.covered_pct is None else pytest.approx(row.covered_pct))
        assert props["is_demo"] == run.is_demo
    assert any(f["properties"]["children"] > 0 for f in doc["features"])


def test_site_and_area_properties(planner, runs, region_a):
    sites = _items(_client(planner), "accessibility-sites", run=runs["sites"].pk, ordering="rank")
    db_sites = list(SiteResult.objects.filter(run=runs["sites"]).order_by("rank"))
    assert [f["properties"]["rank"] for f in sites["features"]] == [s.rank for s in db_sites]
    assert [f["properties"]["label"] for f in sites["features"]] == [s.label for s in db_sites]
    assert [f["properties"]["selected_order"] for f in sites["features"]] == [s.selected_order for s in db_sites]
    areas = _items(_client(planner), "accessibility-areas", run=runs["underserved"].pk, ordering="-uncovered")
    uncovered = [f["properties"]["uncovered"] for f in areas["features"]]
    assert uncovered == sorted(uncovered, reverse=True)
    regions = _area_region_ids(runs["underserved"])
    katos = dict(Region.objects.values_list("pk", "kato"))
    assert {f["id"]: f["properties"]["region"] for f in areas["features"]} == {
        pk: katos.get(rid) for pk, rid in regions.items()
    }
    assert region_a.pk in regions.values()


@pytest.mark.parametrize("collection_id", IDS)
def test_akimat_reads_only_its_own_regions_rows(akimat_a, akimat_b, runs, region_a, region_b, collection_id):
    run_key, rows_of, _geometry_of, region_of = CASES[collection_id]
    run = runs[run_key]
    rows = list(rows_of(run))
    if region_of is None:
        regions = _area_region_ids(run)
        region_of = lambda row: regions[row.pk]  # noqa: E731 - the test's own lookup
    own = {row.pk for row in rows if region_of(row) == region_a.pk}
    other = [row.pk for row in rows if region_of(row) != region_a.pk]
    assert own, "the runs have rows in Astana"
    doc = _items(_client(akimat_a), collection_id, run=run.pk)
    assert doc["numberMatched"] == len(own)
    assert {f["id"] for f in doc["features"]} == own
    assert {f["properties"]["region"] for f in doc["features"]} == {region_a.kato}
    # Filtering to the other region does not reach its rows.
    assert _items(_client(akimat_a), collection_id, run=run.pk, region=region_b.kato)["numberMatched"] == 0
    # Another region's row, one at a time: 404, as if it did not exist.
    some_own = next(iter(own))
    assert _client(akimat_b).get(f"/ogc/collections/{collection_id}/items/{some_own}").status_code == 404
    assert _client(akimat_b).get(f"/api/v1/{collection_id}/{some_own}/").status_code == 404
    if other:
        assert _client(akimat_a).get(f"/ogc/collections/{collection_id}/items/{other[0]}").status_code == 404


def test_anonymous_clients_see_no_analysis_collection(planner, akimat_a, runs):
    api = _client()
    listed = {c["id"] for c in api.get("/ogc/collections").json()["collections"]}
    assert listed.isdisjoint(IDS)
    assert set(IDS) <= {c["id"] for c in _client(planner).get("/ogc/collections").json()["collections"]}
    assert set(IDS) <= {c["id"] for c in _client(akimat_a).get("/ogc/collections").json()["collections"]}
    assert set(IDS).isdisjoint(api.get("/api/v1/").json())
    row = ZoneResult.objects.filter(run=runs["coverage"], district__isnull=False).first()
    for url in (
        "/ogc/collections/accessibility-zones",
        "/ogc/collections/accessibility-zones/items",
        f"/ogc/collections/accessibility-zones/items/{row.pk}",
        "/api/v1/accessibility-zones/",
        f"/api/v1/accessibility-zones/{row.pk}/",
    ):
        response = api.get(url)
        assert response.status_code == 401, url
        assert str(row.children).encode() not in response.content


def test_filters(planner, runs, region_b):
    client = _client(planner)
    coverage, sites = runs["coverage"], runs["sites"]
    zones = ZoneResult.objects.filter(district__isnull=False)
    assert _items(client, "accessibility-zones", run=coverage.pk, scenario="before")["numberMatched"] == 0
    assert (
        _items(client, "accessibility-zones", kind="sites")["numberMatched"]
        == zones.filter(run__kind="sites").count()
        > 0
    )
    assert (
        _items(client, "accessibility-zones", run=coverage.pk, region=region_b.kato)["numberMatched"]
        == zones.filter(run=coverage, region=region_b).count()
        > 0
    )
    district = zones.filter(run=coverage, region=region_b).first().district
    assert _items(client, "accessibility-zones", run=coverage.pk, district=district.kato)["numberMatched"] == 1
    chosen = SiteResult.objects.filter(run=sites, selected_order__isnull=False).count()
    assert _items(client, "accessibility-sites", run=sites.pk, selected="true")["numberMatched"] == chosen > 0
    assert (
        _items(client, "accessibility-sites", run=sites.pk, selected="false")["numberMatched"]
        == SiteResult.objects.filter(run=sites).count() - chosen
    )
    covered = PointResult.objects.filter(run=coverage, covered=True).count()
    assert _items(client, "accessibility-settlements", run=coverage.pk, covered="true")["numberMatched"] == covered > 0
    assert _items(client, "accessibility-areas", run=runs["underserved"].pk, is_demo="false")["numberMatched"] == (
        0 if runs["underserved"].is_demo else AreaResult.objects.filter(run=runs["underserved"]).count()
    )
    # The time filter is the run's finish.
    assert _items(client, "accessibility-zones", datetime="../2001-01-01T00:00:00Z")["numberMatched"] == 0
    since = coverage.finished_at.isoformat()
    assert (
        _items(client, "accessibility-regions", updated_since=since)["numberMatched"]
        == ZoneResult.objects.filter(region__isnull=False, district__isnull=True, run__finished_at__gte=since).count()
    )
    ordered = _items(client, "accessibility-zones", run=coverage.pk, ordering="-children")["features"]
    children = [f["properties"]["children"] for f in ordered]
    assert children == sorted(children, reverse=True)
    # Unknown values are a 400 naming the parameter, in JSON.
    for params, name in (
        ({"scenario": "someday"}, "scenario"),
        ({"kind": "magic"}, "kind"),
        ({"run": "x"}, "run"),
        ({"ordering": "covered"}, "ordering"),
    ):
        response = client.get("/ogc/collections/accessibility-zones/items", params)
        assert response.status_code == 400 and name in problem_fields(response), params


def test_last_modified_is_the_runs_finish_and_csv_download(planner, runs):
    client = _client(planner)
    run = runs["sites"]
    response = client.get("/api/v1/accessibility-sites/", {"run": run.pk})
    assert response.status_code == 200
    assert response["Last-Modified"] == http_date(run.finished_at.timestamp())
    assert (
        client.get("/api/v1/accessibility-sites/", {"run": run.pk}, HTTP_IF_NONE_MATCH=response["ETag"]).status_code
        == 304
    )
    download = client.get("/api/v1/accessibility-sites/", {"run": run.pk, "format": "csv"})
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert len(rows) == SiteResult.objects.filter(run=run).count()
    assert {r["label"] for r in rows} == set(SiteResult.objects.filter(run=run).values_list("label", flat=True))


@pytest.mark.usefixtures("no_token_cache")
def test_query_count_does_not_grow_with_the_page(planner, runs):
    client = _client(planner)
    counts = []
    for limit in (1, 1000):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(
                "/ogc/collections/accessibility-areas/items", {"limit": limit, "run": runs["underserved"].pk}
            )
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_html_pages_of_a_collection(planner, runs):
    client = _client(planner)
    page = client.get("/ogc/collections/accessibility-sites/items", {"f": "html", "run": runs["sites"].pk})
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert SiteResult.objects.filter(run=runs["sites"]).first().label.encode() in page.content
    doc = client.get("/ogc/collections/accessibility-zones").json()
    assert doc["id"] == "accessibility-zones" and len(doc["extent"]["spatial"]["bbox"][0]) == 4


def test_run_endpoints_scope_sites_and_hexagons_like_the_collections(akimat_a, planner, runs, region_a):
    """/api/v1/accessibility/runs/<id>/sites/ and /areas/ follow the same rule as the collections."""
    for key, path, collection_id in (
        ("sites", "sites", "accessibility-sites"),
        ("underserved", "areas", "accessibility-areas"),
    ):
        run = runs[key]
        everything = json.loads(_client(planner).get(f"/api/v1/accessibility/runs/{run.pk}/{path}/").content)
        own = json.loads(_client(akimat_a).get(f"/api/v1/accessibility/runs/{run.pk}/{path}/").content)
        collection = _items(_client(akimat_a), collection_id, run=run.pk, limit=10000)
        assert {f["id"] for f in own["features"]} == {f["id"] for f in collection["features"]}
        assert 0 < len(own["features"]) < len(everything["features"]), key


def test_selected_flag_of_the_sites_endpoint_is_checked(planner, runs):
    client = _client(planner)
    run = runs["sites"]
    chosen = json.loads(client.get(f"/api/v1/accessibility/runs/{run.pk}/sites/", {"selected": "1"}).content)
    every = json.loads(client.get(f"/api/v1/accessibility/runs/{run.pk}/sites/", {"selected": "false"}).content)
    assert 0 < len(chosen["features"]) <= len(every["features"])
    bad = client.get(f"/api/v1/accessibility/runs/{run.pk}/sites/", {"selected": "yes"})
    assert bad.status_code == 400 and "selected" in problem_fields(bad)
