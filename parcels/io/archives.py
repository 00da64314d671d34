"""Zip archives of uploaded parcel files, checked before anything is written (count, size, paths, links)."""

from __future__ import annotations

import re
import stat
import zipfile
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from gis_portal.units import size_label
from parcels.io.common import FileRejected

# ---------------------------------------------------------------------------
# Zip safety
# ---------------------------------------------------------------------------


def _safe_member_name(name: str) -> str:
    """The member name if it is a plain relative path; FileRejected otherwise (zip slip)."""
    if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
        raise FileRejected(_("The archive contains an unsafe path: %(n)s") % {"n": name[:200]})
    parts = PurePosixPath(name).parts
    if any(p in ("..", "") for p in parts):
        raise FileRejected(_("The archive contains an unsafe path: %(n)s") % {"n": name[:200]})
    return name


def zip_members_check(archive: zipfile.ZipFile, *, max_files: int, max_total: int) -> list[zipfile.ZipInfo]:
    """Check every member before unpacking: count, declared total size, paths, symlinks."""
    infos = archive.infolist()
    if len(infos) > max_files:
        raise FileRejected(
            ngettext(
                "The archive holds %(n)d file; at most %(m)d are accepted.",
                "The archive holds %(n)d files; at most %(m)d are accepted.",
                len(infos),
            )
            % {"n": len(infos), "m": max_files}
        )
    total = 0
    for info in infos:
        _safe_member_name(info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise FileRejected(
                _("The archive contains a symbolic link (%(n)s); links are not accepted.") % {"n": info.filename}
            )
        total += info.file_size
        if total > max_total:
            raise FileRejected(
                _("The archive would unpack to more than %(limit)s; it is refused.") % {"limit": size_label(max_total)}
            )
    return infos


def zip_extract_safe(
    path: Path, dest: Path, *, max_files: int | None = None, max_total: int | None = None
) -> list[Path]:
    """Extract a checked archive into `dest`, streaming with a byte cap (headers can lie about sizes)."""
    max_files = max_files or settings.PARCEL_ZIP_MAX_FILES
    max_total = max_total or settings.PARCEL_ZIP_MAX_UNCOMPRESSED
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FileRejected(_("The file is not a readable zip archive.")) from exc
    written: list[Path] = []
    budget = max_total
    with archive:
        for info in zip_members_check(archive, max_files=max_files, max_total=max_total):
            if info.is_dir():
                continue
            target = dest / PurePosixPath(info.filename).name  # flattened: directories inside are not needed
            if target.exists():
                raise FileRejected(_("The archive contains two files named %(n)s.") % {"n": target.name})
            try:
                with archive.open(info) as src, open(target, "wb") as out:
                    remaining = info.file_size
                    while chunk := src.read(min(1 << 20, remaining + 1) or 1):
                        remaining -= len(chunk)
                        budget -= len(chunk)
                        if remaining < 0 or budget < 0:
                            raise FileRejected(
                                _("An archive member is larger than it declares; the archive is refused.")
                            )
                        out.write(chunk)
            except (zipfile.BadZipFile, RuntimeError, OSError, EOFError) as exc:
                raise FileRejected(_("The archive is damaged (%(n)s).") % {"n": info.filename}) from exc
            written.append(target)
    return written
