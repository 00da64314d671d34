"""Properties stored as JSON text by PostgreSQL at write time (generated columns, geo.geojson.StoredProperties)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import GeneratedField

from gis_portal.geo.collections import Collection, _check, collections_all
from gis_portal.geo.geojson import StoredProperties, feature_page
from layers.models import District, Region
from parcels.models import InfrastructureLink, LocalCoordinateSystem, Parcel

pytestmark = pytest.mark.django_db

STORED = [c for c in collections_all() if c.stored_properties]


def _properties(page) -> dict[int, dict]:
    """Feature id → properties, numbers kept as the text PostgreSQL wrote (so 1.50 and 1.5 differ)."""
    features = json.loads(page.features, parse_float=str, parse_int=str)
    return {int(f["id"]): f["properties"] for f in features}


def _page(collection: Collection, *, stored: bool):
    return feature_page(
        collection.selector().order_by("pk"),
        geometry=collection.geometry,
        properties=collection.public_properties,
        limit=100_000,
        check_more=False,
        stored=collection.stored_geojson,
        stored_properties=collection.stored_properties if stored else None,
    )


def test_the_parcel_layers_store_their_own_columns():
    assert {c.id for c in STORED} == {"parcels", "infrastructure-links"}
    for collection in STORED:
        field = collection.selector().model._meta.get_field(collection.stored_properties.column)
        assert isinstance(field, GeneratedField) and field.db_persist, collection.id
        # Only the related rows' KATO codes are read at request time (the links' region; a parcel stores its own).
        read = set(collection.public_properties) - set(collection.stored_properties.members)
        assert {collection.public_properties[name] for name in read} <= {"region__kato", "district__kato"}


@pytest.mark.parametrize("collection", STORED, ids=lambda c: c.id)
def test_stored_properties_equal_the_properties_built_on_read(collection, parcels_and_links):
    stored = _page(collection, stored=True)
    built = _page(collection, stored=False)
    assert stored.returned == built.returned == collection.selector().count() > 0
    assert _properties(stored) == _properties(built)
    # Every declared property is there, the stored ones first, in their declared order.
    for properties in _properties(stored).values():
        names = list(properties)
        assert set(names) == set(collection.public_properties)
        assert names[: len(collection.stored_properties.members)] == list(collection.stored_properties.members)


def test_a_write_in_another_time_zone_stores_the_utc_time_the_api_prints(parcels_and_links):
    parcel = parcels_and_links[0]
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'Asia/Almaty'")
        try:
            cursor.execute(
                "UPDATE parcels_parcel SET updated_at = %s, act_number = %s, act_date = NULL WHERE id = %s",
                [dt.datetime(2026, 3, 1, 4, 5, 6, 789, tzinfo=dt.UTC), 'A-1 "north"\\', parcel.pk],
            )
        finally:
            cursor.execute("SET TIME ZONE 'UTC'")
        cursor.execute("SELECT properties_json FROM parcels_parcel WHERE id = %s", [parcel.pk])
        text = cursor.fetchone()[0]
    members = json.loads("{" + text + "}")
    assert members["updated_at"] == "2026-03-01T04:05:06.000789+00:00"
    assert members["act_number"] == 'A-1 "north"\\'
    assert members["act_date"] is None
    collection = next(c for c in STORED if c.id == "parcels")
    assert (
        _properties(_page(collection, stored=True))[parcel.pk]
        == _properties(_page(collection, stored=False))[parcel.pk]
    )


def test_every_stored_member_follows_a_change_of_its_column(parcels_and_links):
    parcel = parcels_and_links[0]
    Parcel.objects.filter(pk=parcel.pk).update(
        status="allocated",
        declared_area_ha=Decimal("2.5000"),
        act_date=dt.date(2026, 1, 31),
        is_demo=True,
        version=7,
        facility=None,
    )
    members = json.loads("{" + Parcel.objects.values_list("properties_json", flat=True).get(pk=parcel.pk) + "}")
    assert members["status"] == "allocated"
    assert members["declared_area_ha"] == 2.5
    assert members["act_date"] == "2026-01-31"
    assert members["is_demo"] is True
    assert members["version"] == 7
    assert members["facility"] is None
    link = InfrastructureLink.objects.filter(parcel=parcel).get()
    InfrastructureLink.objects.filter(pk=link.pk).update(status="design", route_length_m=None)
    text = InfrastructureLink.objects.values_list("properties_json", flat=True).get(pk=link.pk)
    members = json.loads("{" + text + "}")
    assert members["status"] == "design"
    assert members["route_length_m"] is None


def test_the_api_serves_the_stored_text_and_the_read_kato_codes(parcels_and_links, token_client, planner):
    client = token_client(planner)
    response = client.get("/api/v1/parcels/", {"limit": 10})
    assert response.status_code == 200
    features = {f["id"]: f["properties"] for f in response.json()["features"]}
    for parcel in parcels_and_links:
        properties = features[parcel.pk]
        assert properties["region"] == parcel.region.kato
        assert properties["cadastral_number"] == parcel.cadastral_number
        assert properties["facility"] == parcel.facility_id


def _stored(parcel: Parcel) -> dict:
    return json.loads("{" + Parcel.objects.values_list("properties_json", flat=True).get(pk=parcel.pk) + "}")


def test_a_parcel_stores_the_kato_codes_of_its_region_and_district_and_follows_them(parcels_and_links):
    """Parcel.region_kato and district_kato are written by PostgreSQL (trigger parcel_kato_codes, migration
    0012): on every write from the parcel's region and district, whatever the writer puts there, and again when
    a region's or district's code changes."""
    parcel, other = parcels_and_links
    parcel.refresh_from_db()
    assert parcel.district is not None
    assert (parcel.region_kato, parcel.district_kato) == (parcel.region.kato, parcel.district.kato)
    assert (_stored(parcel)["region"], _stored(parcel)["district"]) == (parcel.region.kato, parcel.district.kato)

    # What the ORM writes there is replaced by the codes of the parcel's region and district.
    Parcel.objects.filter(pk=parcel.pk).update(region_kato="999999999", district_kato="999999999")
    parcel.refresh_from_db()
    assert (parcel.region_kato, parcel.district_kato) == (parcel.region.kato, parcel.district.kato)
    # Another district, then none.
    Parcel.objects.filter(pk=parcel.pk).update(district=other.district)
    assert _stored(parcel)["district"] == other.district.kato
    Parcel.objects.filter(pk=parcel.pk).update(district=None)
    assert _stored(parcel)["district"] is None
    Parcel.objects.filter(pk=parcel.pk).update(district=parcel.district)

    # A region's or a district's new code goes to its parcels, and to their stored properties; others keep theirs.
    Region.objects.filter(pk=parcel.region_id).update(kato="719999999")
    assert (_stored(parcel)["region"], _stored(parcel)["district"]) == ("719999999", parcel.district.kato)
    District.objects.filter(pk=parcel.district_id).update(kato="719999991")
    assert (_stored(parcel)["region"], _stored(parcel)["district"]) == ("719999999", "719999991")
    assert (_stored(other)["region"], _stored(other)["district"]) == (other.region.kato, other.district.kato)
    # A change of a region's name only leaves the parcels as they are (no write, no history event).
    events = Parcel.pgh_event_model.objects.filter(pgh_obj_id=parcel.pk).count()
    Region.objects.filter(pk=parcel.region_id).update(name_en="Renamed")
    assert Parcel.pgh_event_model.objects.filter(pgh_obj_id=parcel.pk).count() == events


def test_registration_refuses_a_stored_member_the_layer_does_not_declare_alike():
    parcels = next(c for c in STORED if c.id == "parcels")
    renamed = StoredProperties(column="properties_json", members={"facility_ref": "facility_id"})
    with pytest.raises(ValueError, match="not all public"):
        _check(replace(parcels, stored_properties=renamed))
    # A float prints by the session's extra_float_digits: not a stable stored text.
    systems = Collection(
        id="x",
        title="x",
        description="",
        selector=LocalCoordinateSystem.objects.all,
        geometry=None,
        public_properties={"tolerance": "tolerance_m"},
        stored_properties=StoredProperties(column="properties_json", members={"tolerance": "tolerance_m"}),
    )
    with pytest.raises(ValueError, match="FloatField"):
        _check(systems)
