"""The periodic jobs as the scheduler runs them: digest, upload cleanup, backup rotation, the schedule itself."""

from __future__ import annotations

import io
import json
import os
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Membership
from accounts.services import user_with_role_ensure
from gis_portal.backups import backups_to_remove
from gis_portal.scheduler import JOBS, scheduled_jobs
from parcels.models import ParcelImportUpload
from parcels.uploads import import_upload_store
from tracking.demo import demo_plans_build_and_approve
from tracking.models import DigestDelivery

pytestmark = pytest.mark.django_db
GEOJSON = json.dumps({"type": "FeatureCollection", "features": []}).encode()


def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


# --- deadline digest ----------------------------------------------------------------------------


@pytest.fixture
def digest_users(db):
    """Three users with an e-mail address, each with another language, and one without an address."""
    specs = [
        ("dg_kk", Membership.Role.AKIMAT, "710000000", "kk"),
        ("dg_ru", Membership.Role.PLANNER, None, "ru"),
        ("dg_en", Membership.Role.ADMIN, None, "en"),
        ("dg_nomail", Membership.Role.PLANNER, None, "en"),
    ]
    users = {}
    for username, role, kato, language in specs:
        user_with_role_ensure(username=username, role=role, region_kato=kato, password="pw-dg-12345!")
        user = get_user_model().objects.get(username=username)
        user.email = "" if username == "dg_nomail" else f"{username}@example.kz"
        user.save()
        Membership.objects.filter(user=user).update(language=language)
        users[username] = user
    return users


def _mail_to(address: str):
    return next(m for m in mail.outbox if m.to == [address])


def test_digest_is_written_in_each_users_language(digest_users):
    demo_plans_build_and_approve()
    output = run("send_deadline_digest", "--today=2025-06-20", "--days=30")
    assert "digests sent: 3" in output
    assert sorted(m.to[0] for m in mail.outbox) == ["dg_en@example.kz", "dg_kk@example.kz", "dg_ru@example.kz"]
    # The ministry's consolidated report (due 20 July) in English and in Russian; the subject in Kazakh.
    assert "consolidated report to the Government is due" in _mail_to("dg_en@example.kz").body
    assert "срок сводного отчёта в Правительство" in _mail_to("dg_ru@example.kz").body
    assert "дейін" in _mail_to("dg_kk@example.kz").subject
    # The akimat's digest holds its own region's items only, never the ministry's report.
    assert "2025-07-20" not in _mail_to("dg_kk@example.kz").body
    rows = DigestDelivery.objects.filter(day=date(2025, 6, 20))
    assert {(r.user.username, r.language) for r in rows} == {("dg_kk", "kk"), ("dg_ru", "ru"), ("dg_en", "en")}


def test_digest_runs_once_per_day_and_again_the_next_day(digest_users):
    demo_plans_build_and_approve()
    run("send_deadline_digest", "--today=2025-06-20")
    assert len(mail.outbox) == 3
    again = run("send_deadline_digest", "--today=2025-06-20")
    assert len(mail.outbox) == 3 and "digests sent: 0; already sent today: 3" in again
    run("send_deadline_digest", "--today=2025-06-21")
    assert len(mail.outbox) == 6


def test_a_failed_send_is_retried_by_the_next_run(digest_users, settings):
    demo_plans_build_and_approve()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2  # nothing listens there
    with pytest.raises(OSError):
        run("send_deadline_digest", "--today=2025-06-20")
    assert not DigestDelivery.objects.exists(), "a digest that was not sent must not be recorded as sent"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert "digests sent: 3" in run("send_deadline_digest", "--today=2025-06-20")


# --- stale upload cleanup -----------------------------------------------------------------------


def _age(upload: ParcelImportUpload, hours: float) -> None:
    ParcelImportUpload.objects.filter(pk=upload.pk).update(created_at=timezone.now() - timedelta(hours=hours))


def _touch_old(name: str, hours: float) -> None:
    path = Path(default_storage.path(name))
    stamp = time.time() - hours * 3600
    os.utime(path, (stamp, stamp))


def test_cleanup_removes_expired_previews_and_orphans_and_keeps_live_ones(
    media, akimat_a, settings, django_capture_on_commit_callbacks
):
    settings.PARCEL_IMPORT_PREVIEW_MAX_AGE_HOURS = 24
    live = import_upload_store(user=akimat_a, uploaded_file=SimpleUploadedFile("live.geojson", GEOJSON), srid=None)
    expired = import_upload_store(user=akimat_a, uploaded_file=SimpleUploadedFile("old.geojson", GEOJSON), srid=None)
    _age(expired, 30)
    # Files no preview refers to: one old (a preview of an earlier version, in its own folder), one brand new
    # (an upload whose row is being written right now).
    orphan = default_storage.save("parcel_imports/0123456789abcdef/upload.zip", ContentFile(b"PK\x03\x04old"))
    _touch_old(orphan, 48)
    fresh = default_storage.save("parcel_imports/fresh.geojson", ContentFile(GEOJSON))
    with django_capture_on_commit_callbacks(execute=True):  # files go once the rows' deletion is committed
        output = run("cleanup_uploads")
    assert "expired previews removed: 1; orphan files removed: 1" in output
    assert list(ParcelImportUpload.objects.values_list("pk", flat=True)) == [live.pk]
    assert default_storage.exists(live.file.name) and default_storage.exists(fresh)
    assert not default_storage.exists(expired.file.name) and not default_storage.exists(orphan)
    assert not (Path(media) / "parcel_imports" / "0123456789abcdef").exists(), "emptied folders are removed"
    # Idempotent: nothing more to remove.
    assert "expired previews removed: 0; orphan files removed: 0" in run("cleanup_uploads")


def test_cleanup_age_is_configurable(media, akimat_a):
    upload = import_upload_store(user=akimat_a, uploaded_file=SimpleUploadedFile("a.geojson", GEOJSON), srid=None)
    _age(upload, 3)
    assert "expired previews removed: 0" in run("cleanup_uploads", "--max-age-hours=4")
    assert "expired previews removed: 1" in run("cleanup_uploads", "--max-age-hours=2")


def test_an_upload_survives_between_preview_and_confirm_and_is_gone_after(media, client, akimat_a):
    client.force_login(akimat_a)
    response = client.post("/en/parcels/import/", {"file": SimpleUploadedFile("p.geojson", GEOJSON), "srid": ""})
    assert response.status_code == 302
    upload = ParcelImportUpload.objects.get(user=akimat_a)
    assert default_storage.exists(upload.file.name)
    # Another user cannot open the preview by its token.
    other = get_user_model().objects.create_user("intruder", password="pw-i-12345!")
    client.force_login(other)
    assert client.get(response["Location"]).status_code in (403, 404)


# --- backups ------------------------------------------------------------------------------------


def test_rotation_keeps_the_newest_of_each_kind_and_nothing_else():
    names = [f"gis_portal-2025010{d}T023000Z.dump" for d in range(1, 6)]
    names += [f"gis_portal-2025010{d}T023000Z.media.tar.gz" for d in range(1, 6)]
    names += ["notes.txt", "gis_portal-manual.dump"]
    doomed = backups_to_remove(names, keep=2)
    assert doomed == sorted(
        [f"gis_portal-2025010{d}T023000Z.dump" for d in (1, 2, 3)]
        + [f"gis_portal-2025010{d}T023000Z.media.tar.gz" for d in (1, 2, 3)]
    )


def test_backup_command_writes_a_restorable_dump_and_rotates(media, tmp_path, settings):
    backups = tmp_path / "backups"
    backups.mkdir()
    # Two older backups as scripts/backup names them.
    for stamp in ("20240101T000000Z", "20240102T000000Z"):
        (backups / f"gis_portal-{stamp}.dump").write_bytes(b"old")
        (backups / f"gis_portal-{stamp}.media.tar.gz").write_bytes(b"old")
    (backups / "keep-me.txt").write_text("not a backup")
    output = run("backup", f"--dir={backups}", "--keep=2")
    written = [Path(line.split(": ", 1)[1]) for line in output.splitlines() if line.startswith("written: ")]
    assert len(written) == 2 and all(p.exists() and p.stat().st_size > 0 for p in written)
    assert written[0].read_bytes()[:5] == b"PGDMP", "pg_dump custom format"
    names = sorted(p.name for p in backups.iterdir())
    assert names == sorted(
        ["keep-me.txt", "gis_portal-20240102T000000Z.dump", "gis_portal-20240102T000000Z.media.tar.gz"]
        + [p.name for p in written]
    )


def test_backup_refuses_keep_below_one(tmp_path):
    with pytest.raises(CommandError, match="--keep"):
        run("backup", f"--dir={tmp_path}", "--keep=0")


# --- the schedule -------------------------------------------------------------------------------


def test_every_job_is_scheduled_and_listed():
    assert {job.name for job, _trigger in scheduled_jobs()} == {job.name for job in JOBS}
    output = run("run_scheduler", "--list")
    for job in JOBS:
        assert job.name in output
    assert "next " in output


def test_a_job_can_be_switched_off_and_a_bad_line_is_named(settings):
    settings.SCHEDULE = {**settings.SCHEDULE, "backup": ""}
    assert "backup" not in {job.name for job, _trigger in scheduled_jobs()}
    settings.SCHEDULE = {**settings.SCHEDULE, "deadline_digest": "every morning"}
    with pytest.raises(CommandError, match="deadline_digest"):
        run("run_scheduler", "--list")


def test_run_now_runs_the_jobs_command(media, akimat_a):
    upload = import_upload_store(user=akimat_a, uploaded_file=SimpleUploadedFile("a.geojson", GEOJSON), srid=None)
    _age(upload, 100)
    run("run_scheduler", "--run-now", "cleanup_uploads")
    assert not ParcelImportUpload.objects.exists()
