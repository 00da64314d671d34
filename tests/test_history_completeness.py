"""Every write path leaves a history row (django-pghistory database triggers).

Parcels, infrastructure links, parcel documents, facilities, tracked facilities (the current
state of the stages) and stage records, written through: the web forms, the admin, the REST API,
QuerySet.update(), bulk_create / bulk_update / QuerySet.delete(), and the imports.
Paths already proven elsewhere are named, not repeated:
- parcel service writes and QuerySet.update(): tests/parcels/test_parcel_links_history.py
  ::test_history_records_service_writes_and_queryset_update
- link insert + QuerySet.update(), document insert + delete: same file ::test_link_and_document_history
"""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.gis.geos import GEOSGeometry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F

from parcels.io import RawFeature
from parcels.models import InfrastructureLink, Parcel, ParcelDocument, Utility
from parcels.services import SYSTEM, document_add, link_create, parcels_import
from tests.parcels.conftest import base_data, facility_in, square
from tracking.models import StageRecord, TrackedFacility

pytestmark = pytest.mark.django_db


def events(model, pk: int, label: str | None = None) -> list:
    qs = model.pgh_event_model.objects.filter(pgh_obj_id=pk).order_by("pgh_id")
    return list(qs.filter(pgh_label=label) if label else qs)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def parcel(admin_user_role, region_a):
    from parcels.services import parcel_create

    facility = facility_in(region_a)
    return parcel_create(
        user=admin_user_role,
        facility=facility,
        geom=square(facility.location, 200),
        data=base_data(cadastral_number="01-444-444-444"),
    ).obj


@pytest.fixture
def link(parcel, admin_user_role):
    return link_create(
        user=admin_user_role, parcel=parcel, utility=Utility.objects.get(code="water"), data={"status": "planned"}
    ).obj


@pytest.fixture
def document(parcel, admin_user_role):
    return document_add(
        user=admin_user_role,
        parcel=parcel,
        uploaded_file=SimpleUploadedFile("act.pdf", b"%PDF-1.4 history"),
        title="Act",
        kind="act",
        max_bytes=10_000,
    )


@pytest.fixture
def tracked(region_a):
    from tracking.demo import demo_plans_build_and_approve

    demo_plans_build_and_approve()
    # Not the facility the `parcel` fixture takes (facility_in(region_a)): where a parcel exists, the
    # parcel decides the parcel stage, and these tests record that stage by hand.
    return (
        TrackedFacility.objects.filter(facility__region=region_a)
        .exclude(facility=facility_in(region_a))
        .order_by("id")
        .first()
    )


def admin_post_data(client, url: str) -> dict:
    """The admin change form's current values, as the browser would post them back."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, GEOSGeometry):
            value = value.ewkt
        if value is None:
            value = ""
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = value
    for formset in response.context.get("inline_admin_formsets") or []:
        management = formset.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    return data


# ---------------------------------------------------------------------------
# Admin
# ---------------------------------------------------------------------------


def test_admin_save_of_a_parcel_is_in_history(client, admin_user_role, parcel):
    client.force_login(admin_user_role)
    url = f"/en/admin/parcels/parcel/{parcel.pk}/change/"
    data = admin_post_data(client, url) | {"notes": "changed in the admin"}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    updates = events(Parcel, parcel.pk, "update")
    assert [e.notes for e in updates] == ["changed in the admin"]


def test_admin_save_of_a_link_is_in_history(client, admin_user_role, link):
    client.force_login(admin_user_role)
    url = f"/en/admin/parcels/infrastructurelink/{link.pk}/change/"
    data = admin_post_data(client, url) | {"provider": "Astana Su (admin)"}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    assert [e.provider for e in events(InfrastructureLink, link.pk, "update")] == ["Astana Su (admin)"]


def test_admin_save_and_delete_of_a_document_are_in_history(client, admin_user_role, document):
    client.force_login(admin_user_role)
    url = f"/en/admin/parcels/parceldocument/{document.pk}/change/"
    data = admin_post_data(client, url) | {"title": "Act (renamed)"}
    assert client.post(url, data).status_code == 302
    assert [e.title for e in events(ParcelDocument, document.pk, "update")] == ["Act (renamed)"]
    response = client.post(f"/en/admin/parcels/parceldocument/{document.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert len(events(ParcelDocument, document.pk, "delete")) == 1


def test_admin_save_of_a_facility_is_in_history(client, admin_user_role, region_a):
    from facilities.models import Facility

    facility = facility_in(region_a, index=2)
    client.force_login(admin_user_role)
    url = f"/en/admin/facilities/facility/{facility.pk}/change/"
    data = admin_post_data(client, url) | {"places": facility.places + 1}
    before = len(events(Facility, facility.pk))
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    (saved,) = events(Facility, facility.pk)[before:]
    assert (saved.pgh_label, saved.places) == ("update", facility.places + 1)


# ---------------------------------------------------------------------------
# REST API
# ---------------------------------------------------------------------------


def test_api_writes_of_parcels_and_links_are_in_history(client, admin_user_role, parcel, link):
    client.force_login(admin_user_role)
    response = client.patch(
        f"/api/v1/parcels/{parcel.pk}/",
        {"version": parcel.version, "notes": "via the API"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert [e.notes for e in events(Parcel, parcel.pk, "update")] == ["via the API"]
    response = client.patch(
        f"/api/v1/parcels/{parcel.pk}/links/{link.pk}/",
        {"version": link.version, "status": "design", "provider": "via the API"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert [e.provider for e in events(InfrastructureLink, link.pk, "update")] == ["via the API"]
    response = client.delete(f"/api/v1/parcels/{parcel.pk}/links/{link.pk}/")
    assert response.status_code in (200, 204), response.content
    assert len(events(InfrastructureLink, link.pk, "delete")) == 1


def test_api_stage_record_is_in_history(client, akimat_a, tracked):
    client.force_login(akimat_a)
    response = client.post(
        f"/api/v1/tracking/facilities/{tracked.facility_id}/stages/",
        {"stage": "parcel", "actual_date": "2024-03-01", "doc_number": "API-1", "doc_date": "2024-03-01", "version": 1},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert len(events(StageRecord, response.json()["id"], "insert")) == 1
    assert [e.parcel_on for e in events(TrackedFacility, tracked.pk, "update")] == [date(2024, 3, 1)]


# ---------------------------------------------------------------------------
# Web forms
# ---------------------------------------------------------------------------


def test_web_form_stage_and_reason_are_in_history(client, akimat_a, tracked):
    client.force_login(akimat_a)
    url = f"/en/tracking/facility/{tracked.pk}/"
    response = client.post(
        url,
        {"stage": "parcel", "actual_date": "2024-03-01", "doc_number": "WEB-1", "doc_date": "2024-03-01", "version": 1},
    )
    assert response.status_code == 302, response.context["stage_form"].errors if response.context else response
    record = StageRecord.objects.get(tracked=tracked, doc_number="WEB-1")
    assert len(events(StageRecord, record.pk, "insert")) == 1
    # The reason for delay is written with QuerySet.update() by the service; the trigger still records it.
    response = client.post(url, {"reason": "contractor changed", "version": 2})
    assert response.status_code == 302
    assert [e.overdue_reason for e in events(TrackedFacility, tracked.pk, "update")] == ["", "contractor changed"]


def test_web_form_parcel_document_upload_is_in_history(client, akimat_a, parcel):
    client.force_login(akimat_a)
    response = client.post(
        f"/en/parcels/{parcel.pk}/documents/",
        {"file": SimpleUploadedFile("scan.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 32), "title": "Plan", "kind": "act"},
    )
    assert response.status_code == 302
    doc = ParcelDocument.objects.get(parcel=parcel, title="Plan")
    assert len(events(ParcelDocument, doc.pk, "insert")) == 1


# ---------------------------------------------------------------------------
# QuerySet.update(), bulk operations
# ---------------------------------------------------------------------------


def test_queryset_update_of_documents_stage_records_and_tracked_is_in_history(document, tracked, record_stage):
    ParcelDocument.objects.filter(pk=document.pk).update(title="bulk title")
    assert [e.title for e in events(ParcelDocument, document.pk, "update")] == ["bulk title"]
    record = record_stage(tracked)
    StageRecord.objects.filter(pk=record.pk).update(note="edited in a shell")
    assert [e.note for e in events(StageRecord, record.pk, "update")] == ["edited in a shell"]
    TrackedFacility.objects.filter(pk=tracked.pk).update(executor="bulk executor", version=F("version") + 1)
    assert events(TrackedFacility, tracked.pk, "update")[-1].executor == "bulk executor"


@pytest.fixture
def record_stage():
    from tracking.services import stage_record_add

    def make(tracked):
        return stage_record_add(
            tracked=tracked, stage="parcel", actual_date=date(2024, 3, 1), doc_number="S-1", doc_date=date(2024, 3, 1)
        )

    return make


def test_bulk_create_bulk_update_and_queryset_delete_are_in_history(parcel, region_a, tracked, record_stage):
    water, gas = Utility.objects.get(code="water"), Utility.objects.get(code="gas")
    links = InfrastructureLink.objects.bulk_create(
        [
            InfrastructureLink(parcel=parcel, utility=water, region=region_a, status="planned"),
            InfrastructureLink(parcel=parcel, utility=gas, region=region_a, status="planned"),
        ]
    )
    assert all(len(events(InfrastructureLink, link.pk, "insert")) == 1 for link in links)
    for link in links:
        link.provider = "bulk provider"
    InfrastructureLink.objects.bulk_update(links, ["provider"])
    assert all(
        [e.provider for e in events(InfrastructureLink, link.pk, "update")] == ["bulk provider"] for link in links
    )
    InfrastructureLink.objects.filter(pk__in=[link.pk for link in links]).delete()
    assert all(len(events(InfrastructureLink, link.pk, "delete")) == 1 for link in links)

    parcel.notes = "bulk_update"
    Parcel.objects.bulk_update([parcel], ["notes"])
    assert events(Parcel, parcel.pk, "update")[-1].notes == "bulk_update"

    record = record_stage(tracked)
    (copy,) = StageRecord.objects.bulk_create(
        [StageRecord(tracked=tracked, stage="design", planned_date=date(2025, 1, 1), note="bulk")]
    )
    assert len(events(StageRecord, copy.pk, "insert")) == 1
    record.note, copy.note = "bulk 1", "bulk 2"
    StageRecord.objects.bulk_update([record, copy], ["note"])
    assert events(StageRecord, record.pk, "update")[-1].note == "bulk 1"
    StageRecord.objects.filter(pk=copy.pk).delete()
    assert len(events(StageRecord, copy.pk, "delete")) == 1


# ---------------------------------------------------------------------------
# Imports
# ---------------------------------------------------------------------------


def test_parcel_import_is_in_history(region_a):
    facility = facility_in(region_a, index=3)
    feature = RawFeature(
        1,
        square(facility.location, 200, dy_m=-5000),
        {"facility_id": facility.pk, "cadastral_number": "01-333-333-333", "declared_area_ha": "4"},
    )
    outcome = parcels_import(user=SYSTEM, features=[feature], commit=True)
    assert outcome.committed, outcome.rows[0].problems
    assert len(events(Parcel, outcome.rows[0].parcel_id, "insert")) == 1


def test_parcel_import_command_is_in_history(region_a, tmp_path):
    import json

    from django.core.management import call_command

    facility = facility_in(region_a, index=4)
    geom = square(facility.location, 200, dy_m=-6000)
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"facility_id": facility.pk, "cadastral_number": "01-222-222-222", "declared_area_ha": 4},
                "geometry": json.loads(geom.json),
            }
        ],
    }
    path = tmp_path / "one.geojson"
    path.write_text(json.dumps(fc))
    call_command("import_parcels", str(path), stdout=open("/dev/null", "w"))
    created = Parcel.objects.get(cadastral_number="01-222-222-222")
    assert len(events(Parcel, created.pk, "insert")) == 1
