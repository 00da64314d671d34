"""Database and media backups with rotation (`manage.py backup`, run nightly by the scheduler).

The backup itself is scripts/backup (pg_dump in custom format, and a tar.gz of MEDIA_ROOT), the
same script an operator runs by hand and scripts/restore reverses. This module calls it for the
database the process is configured with and keeps the newest `keep` backups of each kind.
With STORAGE_BACKEND=s3 the uploaded files are in the object store, not in MEDIA_ROOT: protect
them with the store's own versioning or replication.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

SCRIPT = Path(settings.BASE_DIR) / "scripts" / "backup"
# Names written by scripts/backup: gis_portal-20250101T023000Z.dump / .media.tar.gz (UTC stamps sort by time).
BACKUP_NAME = re.compile(r"^gis_portal-(\d{8}T\d{6}Z)\.(dump|media\.tar\.gz)$")


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class BackupOutcome:
    written: list[Path]
    removed: list[Path]


def connection_url(settings_dict: dict) -> tuple[str, str | None]:
    """A postgresql:// URL of the configured database without its password, and the password (for PGPASSWORD)."""
    user = quote(settings_dict.get("USER") or "", safe="")
    host = settings_dict.get("HOST") or ""
    host = quote(host, safe="") if host.startswith("/") else host
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    auth = f"{user}@" if user else ""
    return f"postgresql://{auth}{host}{port}/{quote(settings_dict['NAME'], safe='')}", settings_dict.get("PASSWORD")


def backups_to_remove(names: list[str], *, keep: int) -> list[str]:
    """The backup file names beyond the newest `keep` of each kind (dump, media); other names are never touched."""
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for name in names:
        match = BACKUP_NAME.match(name)
        if match:
            by_kind.setdefault(match.group(2), []).append((match.group(1), name))
    doomed = []
    for entries in by_kind.values():
        entries.sort(reverse=True)
        doomed.extend(name for _stamp, name in entries[max(keep, 1) :])
    return sorted(doomed)


def backup_create(*, directory: Path, keep: int) -> BackupOutcome:
    """Write a new backup into `directory`, then remove the oldest beyond `keep` of each kind."""
    directory.mkdir(parents=True, exist_ok=True)
    url, password = connection_url(connection.settings_dict)
    env = {**os.environ, "DATABASE_URL": url, "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    if password:
        env["PGPASSWORD"] = password
    result = subprocess.run(  # noqa: S603 - our own script, arguments are paths
        ["bash", str(SCRIPT), str(directory)], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"scripts/backup failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    written = [Path(line) for line in result.stdout.splitlines() if line.strip()]
    removed = []
    for name in backups_to_remove([p.name for p in directory.iterdir() if p.is_file()], keep=keep):
        (directory / name).unlink()
        removed.append(directory / name)
    return BackupOutcome(written=written, removed=removed)
