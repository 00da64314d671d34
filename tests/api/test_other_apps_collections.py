"""Collections of other apps: parcels and infrastructure links are read-only, signed-in, region-scoped."""

from __future__ import annotations

import json

import pytest
from django.apps import apps

pytestmark = pytest.mark.skipif(not apps.is_installed("parcels"), reason="parcels app not installed")


@pytest.fixture
def demo_parcels(db, region_a, region_b):
    from parcels.demo import demo_parcels_create

    demo_parcels_create(region_katos=[region_a.kato, region_b.kato], per_region=4)
    from parcels.models import Parcel

    assert Parcel.objects.filter(region=region_a).exists() and Parcel.objects.filter(region=region_b).exists()
    return Parcel.objects.all()


def test_anonymous_clients_do_not_see_parcels(api, demo_parcels):
    assert "parcels" not in {c["id"] for c in api.get("/ogc/collections").json()["collections"]}
    assert api.get("/ogc/collections/parcels/items").status_code in (401, 403)
    assert api.get(f"/ogc/collections/parcels/items/{demo_parcels.first().pk}").status_code in (401, 403)
    assert api.get("/ogc/collections/infrastructure-links/items").status_code in (401, 403)
    assert api.get("/tiles/parcels/0/0/0.pbf").status_code in (401, 403)


def test_akimat_reads_only_its_region(token_client, akimat_a, region_a, demo_parcels):
    client = token_client(akimat_a)
    assert "parcels" in {c["id"] for c in client.get("/ogc/collections").json()["collections"]}
    doc = json.loads(client.get("/ogc/collections/parcels/items?limit=1000").content)
    expected = demo_parcels.filter(region=region_a)
    assert doc["numberMatched"] == expected.count() > 0
    assert {f["properties"]["region"] for f in doc["features"]} == {region_a.kato}
    other = demo_parcels.exclude(region=region_a).first()
    assert client.get(f"/ogc/collections/parcels/items/{other.pk}").status_code == 404


def test_planner_reads_every_parcel_with_filters(token_client, planner, demo_parcels, region_b):
    client = token_client(planner)
    doc = json.loads(client.get("/ogc/collections/parcels/items?limit=1000").content)
    assert doc["numberMatched"] == demo_parcels.count()
    feature = doc["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert "cadastral_number" in feature["properties"]
    doc = json.loads(client.get(f"/ogc/collections/parcels/items?region={region_b.kato}&status=act_issued").content)
    assert doc["numberMatched"] == demo_parcels.filter(region=region_b, status="act_issued").count()
    assert client.get("/ogc/collections/infrastructure-links/items").status_code == 200
    assert client.get("/tiles/parcels/0/0/0.pbf").status_code == 200


@pytest.fixture
def opened_facility(db):
    if not apps.is_installed("tracking"):
        pytest.skip("tracking app not installed")
    import datetime as dt

    from facilities.models import Facility
    from tracking.models import TrackedFacility

    facility = Facility.objects.order_by("pk").first()
    day = dt.date(2025, 1, 10)
    TrackedFacility.objects.filter(facility=facility).delete()
    TrackedFacility.objects.create(
        facility=facility,
        parcel_on=day,
        design_on=day,
        expertise_on=day,
        construction_started_on=day,
        accepted_on=dt.date(2025, 9, 1),
        opened_on=dt.date(2025, 9, 15),
    )
    return facility


def test_facility_stage_and_opening_are_public_and_filterable(api, opened_facility):
    feature = json.loads(api.get(f"/api/v1/facilities/{opened_facility.pk}/").content)
    assert feature["properties"]["stage"] == "opened"
    assert feature["properties"]["opened_on"] == "2025-09-15"
    doc = json.loads(api.get("/api/v1/facilities/?stage=opened&limit=1000").content)
    from tracking.models import TrackedFacility

    assert opened_facility.pk in {f["id"] for f in doc["features"]}
    assert doc["numberMatched"] == TrackedFacility.objects.filter(opened_on__isnull=False).count()
    assert api.get("/api/v1/facilities/?stage=flying").status_code == 400


def test_a_stage_change_changes_the_etag(api, opened_facility):
    from tracking.models import TrackedFacility

    url = "/api/v1/facilities/?limit=5"
    etag = api.get(url)["ETag"]
    tracked = TrackedFacility.objects.get(facility=opened_facility)
    tracked.places_in_use = 10
    tracked.save()
    assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 200
