"""GDAL's own OGC API – Features client reads every public collection from a real server process.

The server (gunicorn) runs against the test database, where tests/conftest.py
committed the boundaries and demo facilities; counts and one geometry per
collection are compared with the database. Its access log shows which requests GDAL
made: `-where` and `-spat` must be sent to the server, not evaluated on every page.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.gis.gdal import DataSource
from django.contrib.gis.geos import GEOSGeometry, Polygon

from accounts import layer_access
from gis_portal.geo.collections import collection_get, collections_all
from tests.live_server import ROOT, gunicorn_server

PORTS = range(8111, 8120)
pytestmark = [
    # The marker makes pytest-django create the test database (session fixture) for this module.
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin (ogrinfo/ogr2ogr) not installed"),
]


ACCESS_LOG = ROOT / "test-artifacts" / "api-gdal-access.log"
PAGE_SIZE = 10  # GDAL's OAPIF default page size (its PAGE_SIZE open option)


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    ACCESS_LOG.parent.mkdir(parents=True, exist_ok=True)
    ACCESS_LOG.unlink(missing_ok=True)
    with gunicorn_server(
        name="api-gdal",
        ports=PORTS,
        ready_path="/ogc/conformance",
        django_db_blocker=django_db_blocker,
        extra_env={"API_ANON_THROTTLE_RATE": "100000/min"},
        access_log=ACCESS_LOG,
    ) as base:
        yield base


def _public_collections():
    return [c for c in collections_all() if c.ogc and c.geometry and c.public]


def _run(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, env={**os.environ, "CPL_DEBUG": "OFF"})  # noqa: S603
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_ogrinfo_lists_every_public_collection_and_no_other(server):
    out = _run("ogrinfo", "-ro", "-q", f"OAPIF:{server}/ogc")
    layers = {line.split(":", 1)[1].strip().split(" ")[0] for line in out.splitlines() if ":" in line}
    assert layers == {c.id for c in _public_collections()}


@pytest.mark.parametrize("collection_id", [c.id for c in _public_collections()])
def test_gdal_reads_collection_like_the_database(server, tmp_path, collection_id):
    collection = next(c for c in collections_all() if c.id == collection_id)
    queryset = collection.selector().filter(**{f"{collection.geometry}__isnull": False}).order_by("pk")
    expected = queryset.count()
    first = queryset.first()
    db_geom = getattr(first, collection.geometry)

    info = _run("ogrinfo", "-ro", "-so", f"OAPIF:{server}/ogc", collection_id)
    assert f"Feature Count: {expected}" in info

    target = tmp_path / f"{collection_id}.gpkg"
    _run("ogr2ogr", "-f", "GPKG", "-preserve_fid", str(target), f"OAPIF:{server}/ogc", collection_id)
    layer = DataSource(str(target))[0]
    assert len(layer) == expected
    by_id = {feature.get("id") if "id" in layer.fields else feature.fid: feature for feature in layer}
    feature = by_id.get(first.pk)
    assert feature is not None, f"feature {first.pk} missing from the GeoPackage"
    got = GEOSGeometry(feature.geom.wkt, srid=4326)
    # Same shape within the published precision: coordinates snapped to a 1e-6 degree grid.
    assert got.geom_type.replace("Multi", "") == db_geom.geom_type.replace("Multi", "")
    if db_geom.dims == 0:
        assert got.distance(db_geom) < 1e-6
    else:
        assert got.sym_difference(db_geom).area < 1e-5 * db_geom.area
        assert got.num_coords > 0.9 * db_geom.num_coords  # not simplified


_REQUEST = re.compile(r'"GET (\S+) HTTP/1\.[01]" (\d{3}) ')


def _ogrinfo_facilities(server: str, *args: str, layer: str = "facilities") -> tuple[int, list[str]]:
    """Run `ogrinfo` on a layer (facilities unless said); (features it printed, the items URLs it fetched)."""
    start = ACCESS_LOG.stat().st_size
    out = _run("ogrinfo", "-ro", "-q", f"OAPIF:{server}/ogc", layer, *args)
    time.sleep(0.5)  # gunicorn writes a request's line after sending the response
    lines = ACCESS_LOG.read_bytes()[start:].decode().splitlines()
    requests = [m.groups() for m in map(_REQUEST.search, lines) if m]
    assert len(requests) == len(lines) and all(status < "400" for _u, status in requests), lines
    urls = [url for url, _status in requests]
    printed = sum(1 for line in out.splitlines() if line.startswith(f"OGRFeature({layer}):"))
    return printed, [u for u in urls if u.startswith(f"/ogc/collections/{layer}/items")]


def _returned(server: str, url: str) -> int:
    """Features the server sent for `url` (asked again: the data do not change during the test)."""
    with urllib.request.urlopen(server + url, timeout=60) as response:  # noqa: S310 - local server
        return json.loads(response.read())["numberReturned"]


def _public_facilities():
    return layer_access.collection_queryset(collection_get("facilities"), user=AnonymousUser())


def _assert_server_side(server: str, urls: list[str], *, params: tuple[str, ...], expected: int) -> None:
    """GDAL sent `params` with every items request but its first (the one page that establishes the
    layer's fields), followed the filtered pages only, and downloaded no more than the matching
    features plus that first page. Client-side filtering would page through all the features."""
    filtered = [u for u in urls if all(p in u for p in params)]
    assert len(urls) - len(filtered) <= 1, urls
    assert 1 <= len(filtered) <= expected // PAGE_SIZE + 1, urls
    assert sum(_returned(server, u) for u in filtered) == expected
    assert sum(_returned(server, u) for u in urls) <= expected + PAGE_SIZE


def test_ogrinfo_where_equality_is_sent_to_the_server(server):
    """GDAL 3.6.2 turns `field = constant` (and AND of them) into `?field=value` when the OpenAPI
    document (/ogc/api, paths relative to /ogc) lists `field` as a query parameter of
    /collections/{id}/items, and the document is served as application/vnd.oai.openapi+json;version=3.0."""
    facilities = _public_facilities()
    total = facilities.count()
    expected = facilities.filter(region__kato="710000000").count()
    assert 0 < expected < total - PAGE_SIZE
    printed, urls = _ogrinfo_facilities(server, "-where", "region='710000000'")
    assert printed == expected
    _assert_server_side(server, urls, params=("region=710000000",), expected=expected)

    measure = facilities.filter(region__kato="710000000").values_list("measure_id", flat=True).first()
    expected = facilities.filter(region__kato="710000000", measure_id=measure, is_demo=True).count()
    where = f"region='710000000' AND measure={measure} AND is_demo=1"
    printed, urls = _ogrinfo_facilities(server, "-where", where)
    assert printed == expected > 0
    params = ("region=710000000", f"measure={measure}", "is_demo=1")
    _assert_server_side(server, urls, params=params, expected=expected)


def test_ogrinfo_spat_is_sent_to_the_server_as_bbox(server):
    facilities = _public_facilities()
    xmin, ymin, xmax, ymax = facilities.filter(region__kato="710000000").values_list("location", flat=True)[0].extent
    box = (xmin - 0.2, ymin - 0.2, xmax + 0.2, ymax + 0.2)  # lon/lat degrees around one Astana facility
    expected = facilities.filter(location__intersects=Polygon.from_bbox(box)).count()
    assert 0 < expected < facilities.count() - PAGE_SIZE
    printed, urls = _ogrinfo_facilities(server, "-spat", *(repr(v) for v in box))
    assert printed == expected
    _assert_server_side(server, urls, params=("bbox=",), expected=expected)


@pytest.mark.parametrize(("layer", "kato"), [("regions", "710000000"), ("districts", "101000000")])
def test_ogrinfo_where_on_the_kato_property_is_sent_to_the_server(server, layer, kato):
    """Boundaries are filtered by their own `kato` property too (a filter named like it), not only by
    `region`/`district`: GDAL can only send a condition on a field the features have."""
    printed, urls = _ogrinfo_facilities(server, "-where", f"kato='{kato}'", layer=layer)
    assert printed == 1
    assert urls and all(f"kato={kato}" in u for u in urls[1:]), urls
    assert sum(_returned(server, u) for u in urls[1:]) == 1
