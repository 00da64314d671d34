"""Writes of the scanned documents of a parcel (land acts and the like), stored under MEDIA_ROOT."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from gis_portal.units import size_label
from parcels.checks import Problem
from parcels.models import Parcel, ParcelDocument
from parcels.services.common import ParcelValidationError, region_edit_require

ALLOWED_DOCUMENT_TYPES = {
    b"%PDF-": ("application/pdf", ".pdf"),
    b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
    b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
}


def document_type_sniff(*, head: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the file's magic bytes, or None if it is not PDF/JPEG/PNG."""
    for magic, kind in ALLOWED_DOCUMENT_TYPES.items():
        if head.startswith(magic):
            return kind
    return None


@transaction.atomic
def document_add(*, user, parcel: Parcel, uploaded_file, title: str, kind: str, max_bytes: int) -> ParcelDocument:
    """Attach a scan (PDF/JPEG/PNG by magic bytes, at most `max_bytes`) to a parcel, under MEDIA_ROOT."""
    region_edit_require(user=user, region_id=parcel.region_id)
    if uploaded_file.size > max_bytes:
        raise ParcelValidationError(
            [
                Problem(
                    "file_size",
                    _("The file is %(size)s; at most %(limit)s is accepted.")
                    % {"size": size_label(uploaded_file.size, like=max_bytes), "limit": size_label(max_bytes)},
                    field="file",
                )
            ]
        )
    content = uploaded_file.read(max_bytes + 1)
    kind_found = document_type_sniff(head=content[:16])
    if kind_found is None:
        raise ParcelValidationError(
            [
                Problem(
                    "file_type", _("Only PDF, JPEG or PNG scans are accepted; this file is none of them."), field="file"
                )
            ]
        )
    content_type, ext = kind_found
    digest = hashlib.sha256(content).hexdigest()
    document = ParcelDocument(
        parcel=parcel,
        region_id=parcel.region_id,
        kind=kind,
        title=(title or "").strip() or _("scan"),
        content_type=content_type,
        size_bytes=len(content),
        sha256=digest,
        uploaded_by=user if getattr(user, "is_authenticated", False) else None,
    )
    # The stored name is ours (hash + checked extension), never the uploaded one.
    document.file.save(f"{digest[:32]}{ext}", ContentFile(content), save=False)
    document.save()
    return document


@transaction.atomic
def document_restore(*, user, parcel: Parcel, event_id: int) -> ParcelDocument:
    """Re-attach a deleted document from its history event.

    Deleting a document removes its row, not its stored file, so the scan can be
    brought back exactly as it was (same file, type, size and checksum).
    """
    region_edit_require(user=user, region_id=parcel.region_id)
    event = ParcelDocument.pgh_event_model.objects.filter(pgh_id=event_id, parcel_id=parcel.pk).first()
    if event is None:
        raise ParcelValidationError([Problem("history", _("No such history entry for this parcel."))])
    if ParcelDocument.objects.filter(pk=event.pgh_obj_id).exists():
        raise ParcelValidationError([Problem("history", _("This document is still attached; nothing to restore."))])
    stored_name = event.file.name if hasattr(event.file, "name") else str(event.file or "")
    if not stored_name or not ParcelDocument._meta.get_field("file").storage.exists(stored_name):
        raise ParcelValidationError(
            [Problem("history", _("The stored file of this document no longer exists; it cannot be restored."))]
        )
    return ParcelDocument.objects.create(
        pk=event.pgh_obj_id,
        parcel=parcel,
        region_id=parcel.region_id,
        kind=event.kind,
        title=event.title,
        file=stored_name,
        content_type=event.content_type,
        size_bytes=event.size_bytes,
        sha256=event.sha256,
        uploaded_by=user if getattr(user, "is_authenticated", False) else None,
    )


@transaction.atomic
def document_delete(*, user, document_id: int) -> None:
    document = ParcelDocument.objects.get(pk=document_id)
    region_edit_require(user=user, region_id=document.region_id)
    document.delete()
