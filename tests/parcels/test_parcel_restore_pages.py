"""Restore from the parcel page: an earlier version of a link, and a deleted document."""

from django.core.files.uploadedfile import SimpleUploadedFile

from parcels.models import InfrastructureLink, ParcelDocument, Utility
from parcels.services import document_add, document_delete, link_create, link_update


def test_link_restore_button_brings_back_the_earlier_version(client, parcel_a, akimat_a, akimat_b):
    link = link_create(
        user=akimat_a, parcel=parcel_a, utility=Utility.objects.get(code="water"), data={"status": "planned"}
    ).obj
    link_update(user=akimat_a, link_id=link.pk, expected_version=1, data={"status": "design", "provider": "Su"})
    first = link.events.order_by("pgh_id").first()
    url = f"/en/parcels/{parcel_a.pk}/links/{link.pk}/restore/"
    client.force_login(akimat_a)
    page = client.get(f"/en/parcels/{parcel_a.pk}/").content.decode()
    assert url in page  # the button is offered for the earlier state
    # Another region's akimat cannot restore it.
    client.force_login(akimat_b)
    assert client.post(url, {"event": first.pgh_id, "version": 2}).status_code in (403, 404)
    assert InfrastructureLink.objects.get(pk=link.pk).status == "design"
    client.force_login(akimat_a)
    response = client.post(url, {"event": first.pgh_id, "version": 2})
    assert response.status_code == 302
    link.refresh_from_db()
    assert (link.status, link.provider, link.version) == ("planned", "", 3)
    # A stale version is refused, not applied.
    client.post(url, {"event": first.pgh_id, "version": 1})
    link.refresh_from_db()
    assert link.version == 3


def test_deleted_document_is_restored_with_its_file(client, parcel_a, akimat_a):
    doc = document_add(
        user=akimat_a,
        parcel=parcel_a,
        uploaded_file=SimpleUploadedFile("act.pdf", b"%PDF-1.4 act scan"),
        title="Act 17",
        kind="act",
        max_bytes=1000,
    )
    doc_id, sha = doc.pk, doc.sha256
    document_delete(user=akimat_a, document_id=doc_id)
    assert not ParcelDocument.objects.filter(pk=doc_id).exists()
    event = ParcelDocument.pgh_event_model.objects.get(pgh_obj_id=doc_id, pgh_label="delete")
    client.force_login(akimat_a)
    assert f"/en/parcels/{parcel_a.pk}/documents/restore/" in client.get(f"/en/parcels/{parcel_a.pk}/").content.decode()
    response = client.post(f"/en/parcels/{parcel_a.pk}/documents/restore/", {"event": event.pgh_id})
    assert response.status_code == 302
    restored = ParcelDocument.objects.get(pk=doc_id)
    assert (restored.title, restored.sha256) == ("Act 17", sha)
    assert b"".join(client.get(f"/en/parcels/documents/{doc_id}/").streaming_content) == b"%PDF-1.4 act scan"
    # Restoring twice is refused with a message, not a second row.
    client.post(f"/en/parcels/{parcel_a.pk}/documents/restore/", {"event": event.pgh_id})
    assert ParcelDocument.objects.filter(pk=doc_id).count() == 1
