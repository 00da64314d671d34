"""Files uploaded for a parcel import, between the upload and the confirmation.

An upload is stored in the default storage (shared by every node) with a ParcelImportUpload
row that binds it to its user; the preview and the confirmation find it by token. OGR reads
files by path, so `upload_local_path` gives a local path: the file itself on a file-system
storage, a temporary copy otherwise.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _

from parcels.models import LocalCoordinateSystem, ParcelImportUpload
from parcels.services.import_matching import editable_facilities
from parcels.services.imports import ImportOutcome, parcels_import

UPLOAD_DIR = "parcel_imports"


@transaction.atomic
def import_upload_store(
    *, user, uploaded_file, srid: int | None, local_crs: LocalCoordinateSystem | None = None
) -> ParcelImportUpload:
    """Keep `uploaded_file` for the preview with the chosen CRS (an EPSG code or a registered local system).

    The stored name keeps only the (short) extension.
    """
    token = secrets.token_hex(16)
    suffix = Path(uploaded_file.name).suffix.lower()[:8]
    upload = ParcelImportUpload(
        token=token,
        user=user,
        filename=Path(uploaded_file.name).name[:200],
        srid=srid,
        local_crs=local_crs,
        size_bytes=uploaded_file.size,
    )
    upload.file.save(f"{token}{suffix}", uploaded_file, save=False)
    upload.save()
    return upload


def import_upload_get(*, user, token: str) -> ParcelImportUpload | None:
    """The user's live upload with this token, or None (another user's token is not found either)."""
    if len(token) != 32 or not token.isalnum():
        return None
    return ParcelImportUpload.objects.filter(token=token, user=user).select_related("local_crs").first()


class ImportChoicesRefused(ValueError):
    """Choices that cannot be kept; `messages` name the row and the reason of each."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("; ".join(messages))


def import_choices_save(
    *, user, upload: ParcelImportUpload, features: list, choices: dict, mapping: dict[str, str] | None = None
) -> ImportOutcome:
    """Keep the preview's choices on the upload after checking them against the file; returns the new preview.

    `choices` is {"rows": {"<row number>": {"facility": id, "skip": bool, "repair": bool}}}. Every chosen
    facility must be one `user` may edit and one of its row's candidates (the preview is computed with
    these choices, since one row's choice takes that facility from the others). Raises ImportChoicesRefused.
    """
    rows = choices.get("rows", {})
    numbers = {str(f.number) for f in features}
    problems = [_("Row %(n)s is not in the file.") % {"n": n} for n in rows if n not in numbers]
    wanted = {n: a["facility"] for n, a in rows.items() if isinstance(a.get("facility"), int)}
    editable = set(editable_facilities(user=user).filter(pk__in=wanted.values()).values_list("pk", flat=True))
    problems += [
        _("Row %(n)s: there is no facility #%(id)s that you may edit.") % {"n": n, "id": pk}
        for n, pk in wanted.items()
        if pk not in editable
    ]
    outcome = parcels_import(user=user, features=features, commit=False, choices=choices, mapping=mapping)
    problems += [
        _("Row %(n)s: %(message)s") % {"n": row.number, "message": p["message"]}
        for row in outcome.rows
        for p in row.problems
        if p["code"] == "facility_choice" and wanted.get(str(row.number)) in editable
    ]
    if problems:
        raise ImportChoicesRefused(problems)
    upload.choices = choices
    upload.save(update_fields=["choices"])
    return outcome


@contextmanager
def upload_local_path(upload: ParcelImportUpload) -> Iterator[Path]:
    """A local path holding the upload's bytes, named like the original file (OGR picks the driver by it)."""
    storage = upload.file.storage
    try:
        yield Path(storage.path(upload.file.name))
        return
    except NotImplementedError:
        pass  # a remote storage (S3): copy to a temporary file
    with tempfile.TemporaryDirectory(prefix="parcel-upload-") as tmp:
        target = Path(tmp) / f"upload{Path(upload.filename).suffix.lower()[:8]}"
        with upload.file.open("rb") as src, target.open("wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                out.write(chunk)
        yield target


@transaction.atomic
def import_upload_discard(*, upload: ParcelImportUpload) -> None:
    name = upload.file.name
    upload.delete()
    transaction.on_commit(lambda: default_storage.delete(name))


@dataclass(frozen=True)
class CleanupResult:
    expired: int  # uploads older than the limit, removed with their files
    orphans: int  # files under parcel_imports/ that no upload referred to


def import_uploads_cleanup(*, older_than: datetime) -> CleanupResult:
    """Remove uploads created before `older_than` and every file of the upload area without a live upload.

    Idempotent: a second run finds nothing. An upload made while this runs is safe: its row is
    written after its file (import_upload_store), and files newer than `older_than` are kept.
    """
    expired = 0
    for upload in ParcelImportUpload.objects.filter(created_at__lt=older_than):
        import_upload_discard(upload=upload)
        expired += 1
    live = set(ParcelImportUpload.objects.values_list("file", flat=True))
    orphans = 0
    for name in _files_under(UPLOAD_DIR):
        if name in live:
            continue
        # A file whose row is not committed yet is younger than the limit; leave it alone.
        if default_storage.get_modified_time(name) >= older_than:
            continue
        default_storage.delete(name)
        orphans += 1
    _empty_folders_remove(UPLOAD_DIR)
    return CleanupResult(expired=expired, orphans=orphans)


def _files_under(folder: str) -> Iterator[str]:
    """Every file name below `folder` of the default storage (recursively), as the storage names it."""
    if not default_storage.exists(folder):
        return
    dirs, files = default_storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}"
    for sub in dirs:
        yield from _files_under(f"{folder}/{sub}")


def _empty_folders_remove(folder: str) -> None:
    # Folders exist on a file system only (an object store has none); uploads of earlier versions
    # were kept in one folder each.
    if not default_storage.exists(folder):
        return
    for sub in default_storage.listdir(folder)[0]:
        path = f"{folder}/{sub}"
        _empty_folders_remove(path)
        if default_storage.listdir(path) == ([], []):
            default_storage.delete(path)


def stale_before(*, now: datetime, max_age_hours: float) -> datetime:
    return now - timedelta(hours=max_age_hours)
