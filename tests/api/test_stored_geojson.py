"""The GeoJSON geometry stored by PostgreSQL at write time (generated columns, geo.geojson.stored_geojson)."""

from __future__ import annotations

import json

import pytest
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import connection
from django.db.models import GeneratedField

from facilities.models import Facility
from gis_portal.geo.collections import collections_all
from gis_portal.geo.geojson import feature_collection, feature_page
from parcels.models import InfrastructureLink, Parcel
from tests.parcels.conftest import base_data, facility_in

pytestmark = pytest.mark.django_db

STORED = [c for c in collections_all() if c.stored_geojson]


def _ring_orientation_ccw(ring: list) -> bool:
    """Shoelace sign in lon/lat: positive area = counter-clockwise."""
    area = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False))
    return area > 0


def test_every_served_layer_with_a_geometry_has_its_stored_column():
    served = {c.id for c in collections_all() if c.geometry}
    assert {"regions", "districts", "facilities", "parcels", "infrastructure-links"} <= {c.id for c in STORED}
    for collection in STORED:
        model = collection.selector().model
        field = model._meta.get_field(collection.stored_geojson)
        assert isinstance(field, GeneratedField) and field.db_persist, collection.id
    assert {c.id for c in STORED} <= served


@pytest.mark.parametrize("collection", STORED, ids=lambda c: c.id)
def test_stored_text_equals_the_text_built_on_read(collection, parcels_and_links):
    """The stored column is exactly what geometry_sql builds on each read for the default output."""
    queryset = collection.selector().order_by("pk")
    assert queryset.exists(), collection.id
    common = {
        "geometry": collection.geometry,
        "properties": {},
        "limit": 100_000,
        "multi": collection.geometry_type.startswith("Multi"),
        "check_more": False,
    }
    stored = feature_page(queryset, stored=collection.stored_geojson, **common)
    built = feature_page(queryset, stored=None, **common)
    assert stored.returned == built.returned == queryset.count()
    assert stored.features == built.features


def test_stored_geometry_is_snapped_and_counter_clockwise(admin_user_role, region_a):
    facility = facility_in(region_a)
    x, y = facility.location.x, facility.location.y
    # Clockwise exterior ring with coordinates finer than the 10^-6 degree output grid.
    clockwise = GEOSGeometry(
        f"SRID=4326;MULTIPOLYGON((({x} {y}, {x} {y + 0.0021234567}, {x + 0.0031234567} {y + 0.0021234567}, "
        f"{x + 0.0031234567} {y}, {x} {y})))"
    )
    parcel = Parcel.objects.create(
        facility=facility, region=region_a, geom=clockwise, area_srid=32642, computed_area_ha=1, **base_data()
    )
    text = Parcel.objects.values_list("geom_geojson", flat=True).get(pk=parcel.pk)
    geometry = json.loads(text)
    assert geometry["type"] == "MultiPolygon"
    ring = geometry["coordinates"][0][0]
    assert _ring_orientation_ccw(ring)
    assert all(len(repr(v).split(".")[1]) <= 6 for point in ring for v in point)
    # The stored geometry itself is unchanged (areas are measured on what was drawn).
    assert Parcel.objects.get(pk=parcel.pk).geom.equals_exact(clockwise, 1e-12)


def test_a_geometry_the_snap_would_break_stays_valid(admin_user_role, region_a):
    """A ring whose vertices collapse on the grid (a sliver 10^-7 degrees wide) falls back to ST_ReducePrecision."""
    facility = facility_in(region_a)
    x, y = round(facility.location.x, 3), round(facility.location.y, 3)
    # A square with a spike whose two sides snap onto each other: ST_SnapToGrid makes it self-touching.
    wkt = (
        f"SRID=4326;MULTIPOLYGON((({x} {y}, {x + 0.002} {y}, {x + 0.002} {y + 0.001}, {x + 0.0040004} {y + 0.0010001},"
        f" {x + 0.002} {y + 0.0010002}, {x + 0.002} {y + 0.002}, {x} {y + 0.002}, {x} {y})))"
    )
    geom = GEOSGeometry(wkt)
    assert geom.valid
    with connection.cursor() as cursor:
        cursor.execute("SELECT ST_IsValid(ST_SnapToGrid(ST_GeomFromEWKT(%s), 1e-6))", [wkt])
        assert cursor.fetchone()[0] is False  # the case the fallback exists for
    parcel = Parcel.objects.create(
        facility=facility, region=region_a, geom=geom, area_srid=32642, computed_area_ha=1, **base_data()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_IsValid(ST_GeomFromGeoJSON(geom_geojson)) FROM parcels_parcel WHERE id = %s", [parcel.pk]
        )
        assert cursor.fetchone()[0] is True


def test_bulk_update_rewrites_the_stored_text(parcels_and_links):
    """QuerySet.update() bypasses every Python path; PostgreSQL still rewrites the generated column."""
    parcel = parcels_and_links[0]
    before = Parcel.objects.values_list("geom_geojson", flat=True).get(pk=parcel.pk)
    bigger = MultiPolygon(GEOSGeometry(parcel.geom.buffer(0.001).envelope.wkt, srid=4326), srid=4326)
    Parcel.objects.filter(pk=parcel.pk).update(geom=bigger)
    after = json.loads(Parcel.objects.values_list("geom_geojson", flat=True).get(pk=parcel.pk))
    assert json.loads(before) != after and after["type"] == "MultiPolygon"
    assert GEOSGeometry(json.dumps(after), srid=4326).equals_exact(bigger, 1e-6)
    link = InfrastructureLink.objects.filter(parcel=parcel).get()
    InfrastructureLink.objects.filter(pk=link.pk).update(route=None)
    assert InfrastructureLink.objects.values_list("route_geojson", flat=True).get(pk=link.pk) is None


def test_a_facility_without_location_has_no_stored_text():
    facility = Facility.objects.filter(location__isnull=False).first()
    Facility.objects.filter(pk=facility.pk).update(location=None)
    assert Facility.objects.values_list("location_geojson", flat=True).get(pk=facility.pk) is None


@pytest.mark.parametrize(
    ("model", "geometry", "stored", "properties"),
    [
        (Facility, "location", "location_geojson", ["name_en", "region__kato"]),
        (Parcel, "geom", "geom_geojson", ["status", "region__kato"]),
        (InfrastructureLink, "route", "route_geojson", ["utility_id", "status"]),
    ],
    ids=["facilities", "parcels", "links"],
)
def test_page_layers_read_the_stored_text_too(model, geometry, stored, properties, parcels_and_links):
    """feature_collection (map pages, parcel API items) gives the same document from the stored column."""
    queryset = model.objects.order_by("pk")
    built = feature_collection(queryset, geometry=geometry, properties=properties)
    read = feature_collection(queryset, geometry=geometry, properties=properties, stored=stored)
    assert json.loads(read) == json.loads(built)
    assert len(json.loads(read)["features"]) == queryset.count()
    coarse = feature_collection(queryset, geometry=geometry, properties=properties, stored=stored, precision=3)
    assert coarse != read  # other precisions are still computed on read
