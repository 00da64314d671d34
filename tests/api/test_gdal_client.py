"""GDAL's own OGC API – Features client reads every public collection from a real server process.

The server (gunicorn) runs against the test database, where tests/conftest.py
committed the boundaries and demo facilities; counts and one geometry per
collection are compared with the database.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from django.contrib.gis.gdal import DataSource
from django.contrib.gis.geos import GEOSGeometry

from gis_portal.geo.collections import collections_all
from tests.live_server import gunicorn_server

PORTS = range(8111, 8120)
pytestmark = [
    # The marker makes pytest-django create the test database (session fixture) for this module.
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="gdal-bin (ogrinfo/ogr2ogr) not installed"),
]


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    with gunicorn_server(
        name="api-gdal",
        ports=PORTS,
        ready_path="/ogc/conformance",
        django_db_blocker=django_db_blocker,
        extra_env={"API_ANON_THROTTLE_RATE": "100000/min"},
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
