"""What an uploaded file really is, from its first bytes, and plain words for why it cannot be read.

Pure functions (no Django models; only path_kind_sniff opens the file, to read its head and
a zip's member names): parcels.io asks here before any reader runs, so that a PDF renamed
`.geojson` is refused as "a PDF document" rather than with a decoder's message.
Text that is not UTF-8 and JSON syntax errors are described here too (never Python's own
exception text, which names codecs and byte values).

Kinds (the keys of KIND_LABELS): pdf, zip, xlsx, docx, pptx, ods, odt, odf, ole (legacy Office),
png, jpeg, gif, tiff, webp, bmp, gzip, rar, 7z, gpkg, sqlite, shp, kml, html, xml, json, utf16,
binary, text.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

HEAD_BYTES = 4096

KIND_LABELS = {
    "pdf": _("a PDF document"),
    "zip": _("a ZIP archive"),
    "xlsx": _("an Excel workbook"),
    "docx": _("a Word document"),
    "pptx": _("a PowerPoint presentation"),
    "ods": _("an OpenDocument spreadsheet"),
    "odt": _("an OpenDocument text document"),
    "odf": _("an OpenDocument file (LibreOffice)"),
    "ole": _("a Microsoft Office document of the old format (.doc, .xls)"),
    "png": _("a PNG image"),
    "jpeg": _("a JPEG image"),
    "gif": _("a GIF image"),
    "tiff": _("a TIFF image"),
    "webp": _("a WebP image"),
    "bmp": _("a BMP image"),
    "gzip": _("a GZIP archive"),
    "rar": _("a RAR archive"),
    "7z": _("a 7-Zip archive"),
    "gpkg": _("a GeoPackage"),
    "sqlite": _("an SQLite database"),
    "kml": _("a KML document"),
    "html": _("a web page (HTML)"),
    "xml": _("an XML document"),
    "json": _("a JSON document"),
    "utf16": _("text in UTF-16 (save it as UTF-8)"),
    "shp": _("the .shp part of a Shapefile alone (zip it with its .shx, .dbf and .prj files)"),
    "binary": _("binary data, not text"),
    "text": _("plain text"),
}

# Magic numbers at offset 0 (longest first where one is the prefix of another).
_MAGIC = (
    (b"%PDF-", "pdf"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty archive
    (b"PK\x07\x08", "zip"),  # a spanned archive
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),  # BigTIFF
    (b"MM\x00+", "tiff"),
    (b"\x1f\x8b", "gzip"),
    (b"Rar!\x1a\x07", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"SQLite format 3\x00", "sqlite"),
    (b"\x00\x00\x27\x0a", "shp"),  # the main file of a Shapefile, on its own
    (b"\xff\xfe", "utf16"),
    (b"\xfe\xff", "utf16"),
)
# GeoPackage: the SQLite header's application_id (offset 68): "GPKG" (1.2+) or "GP10"/"GP11" (older).
_GPKG_APPLICATION_IDS = (b"GPKG", b"GP10", b"GP11")
# Bytes no text file holds: NUL and the C0 controls except tab, line feed, form feed, carriage return, escape.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")


def zip_kind_sniff(names: list[str]) -> str:
    """The kind of a ZIP archive from its member names: an Office/OpenDocument file or a plain "zip"."""
    members = set(names)
    if "[Content_Types].xml" in members:
        for prefix, kind in (("xl/", "xlsx"), ("word/", "docx"), ("ppt/", "pptx")):
            if any(n.startswith(prefix) for n in names):
                return kind
    if "mimetype" in members and "META-INF/manifest.xml" in members:
        return "odf"  # spreadsheet and text share their member names; the head (_zip_head_kind) tells them apart
    return "zip"


def _zip_head_kind(head: bytes) -> str:
    """Refine "zip" from what the head shows of its first local headers (without the central directory)."""
    if head[30:38] == b"mimetype" and b"opendocument.spreadsheet" in head[38:120]:
        return "ods"
    if head[30:38] == b"mimetype" and b"opendocument.text" in head[38:120]:
        return "odt"
    if b"[Content_Types].xml" in head or b"_rels/.rels" in head:
        for marker, kind in ((b"xl/", "xlsx"), (b"word/", "docx"), (b"ppt/", "pptx")):
            if marker in head:
                return kind
    return "zip"


def file_kind_sniff(head: bytes) -> str | None:
    """The kind of a file from its first bytes (HEAD_BYTES are enough), or None for an empty file.

    Binary formats are known by their magic number; text is told apart by its first
    character (after a UTF-8 byte order mark and blanks): "<" XML (KML, HTML), "{" or
    "[" JSON, anything else "text". NUL or other control bytes make it "binary".
    """
    if not head:
        return None
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            if kind == "zip":
                return _zip_head_kind(head)
            if kind == "sqlite":
                return "gpkg" if head[68:72] in _GPKG_APPLICATION_IDS else "sqlite"
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and len(head) > 14 and head[6:10] == b"\x00\x00\x00\x00":
        return "bmp"
    if _CONTROL.search(head):
        return "binary"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        lowered = text[:HEAD_BYTES].lower()
        if b"<kml" in lowered:
            return "kml"
        if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered[:512]:
            return "html"
        return "xml"
    if text.startswith((b"{", b"[")):
        return "json"
    return "text"


# Kinds each import format accepts; any other kind is refused with "it looks like …". "text" goes
# to the reader of a text format, whose own message is more precise (a JSON syntax error, say).
ACCEPTED_KINDS = {
    "geojson": {"json", "text"},
    "kml": {"kml", "xml", "text"},
    "csv": {"text"},
    "shapefile": {"zip"},
    "kmz": {"zip"},
    "gpkg": {"gpkg", "sqlite"},
}


def kind_refused(*, fmt: str, kind: str | None) -> bool:
    """Is a file of `kind` certainly not of the import format `fmt`? (None, an empty file, is left to the reader.)"""
    return kind is not None and kind not in ACCEPTED_KINDS[fmt]


def path_kind_sniff(path: Path) -> str | None:
    """file_kind_sniff of the file at `path`; a zip archive is told apart by its member names (an Excel
    workbook is a zip). Only the central directory is read, nothing is unpacked."""
    with path.open("rb") as handle:
        kind = file_kind_sniff(handle.read(HEAD_BYTES))
    if kind == "zip":
        try:
            with zipfile.ZipFile(path) as archive:
                kind = zip_kind_sniff(archive.namelist())
        except (zipfile.BadZipFile, OSError):
            pass  # the archive reader says it is unreadable
    return kind


def wrong_kind_message(*, kind: str | None, fmt: str, format_label: str) -> str | None:
    """ "This file is not GeoJSON: it looks like a PDF document." when `kind` cannot be of `fmt`; else None."""
    if not kind_refused(fmt=fmt, kind=kind):
        return None
    return gettext("This file is not %(format)s: it looks like %(kind)s.") % {
        "format": format_label,
        "kind": KIND_LABELS[kind],
    }


# json.JSONDecodeError.msg (CPython's wording, stable since 3.5) in plain words.
_JSON_PROBLEMS = (
    ("Expecting value", _("a value is missing or is not valid (text must be in double quotes)")),
    ("Expecting ',' delimiter", _("a comma is missing between two items")),
    ("Expecting ':' delimiter", _("a colon is missing after a name")),
    ("Expecting property name", _("a name is not in double quotes, or a comma is left before a closing brace")),
    ("Unterminated string", _("a text value is not closed with a double quote")),
    ("Invalid control character", _("a text value contains a line break or another control character")),
    ("Extra data", _("more text follows the end of the JSON document")),
    ("Invalid \\escape", _("a backslash escape is not valid")),
    ("Invalid \\u", _("a backslash escape is not valid")),
)


def json_error_message(*, exc: json.JSONDecodeError, format_label: str) -> str:
    """ "The GeoJSON is not valid JSON: a comma is missing between two items (line 3, column 7)." """
    problem = next((text for prefix, text in _JSON_PROBLEMS if exc.msg.startswith(prefix)), None)
    if problem is None:
        problem = _("the text is not valid JSON")
    return gettext("The %(format)s is not valid JSON: %(problem)s (line %(line)s, column %(column)s).") % {
        "format": format_label,
        "problem": problem,
        "line": exc.lineno,
        "column": exc.colno,
    }


def not_utf8_message(*, data: bytes, exc: UnicodeDecodeError, format_label: str) -> str:
    """Why a text file that should be UTF-8 is not, in words: Windows-1251 (Cyrillic) or unknown bytes."""
    line = data[: exc.start].count(b"\n") + 1
    try:
        data.decode("cp1251")
    except UnicodeDecodeError:
        looks_cp1251 = False
    else:
        # Cyrillic letters are 0xC0–0xFF in Windows-1251; a text in it is mostly those among its high bytes.
        high = [b for b in data[:65536] if b >= 0x80]
        looks_cp1251 = bool(high) and sum(b >= 0xC0 for b in high) >= 0.6 * len(high)
    if looks_cp1251:
        return gettext(
            "The %(format)s is not UTF-8 text: it looks like Windows-1251 (Cyrillic) text, from line %(line)s. "
            "Save it as UTF-8 and upload it again."
        ) % {"format": format_label, "line": line}
    return gettext(
        "The %(format)s is not UTF-8 text: line %(line)s holds bytes that are not UTF-8 characters. "
        "Save it as UTF-8 and upload it again."
    ) % {"format": format_label, "line": line}


_XML_ENCODING = re.compile(rb"\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)")


def xml_not_utf8_message(*, data: bytes, format_label: str) -> str | None:
    """not_utf8_message for an XML text that declares no other encoding than UTF-8 and is not UTF-8; else None."""
    declared = _XML_ENCODING.match(data.removeprefix(b"\xef\xbb\xbf"))
    if declared and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        return None  # the parser decodes the declared encoding itself
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return not_utf8_message(data=data, exc=exc, format_label=format_label)
    return None


@dataclass(frozen=True)
class CsvText:
    text: str
    encoding: str  # "UTF-8" or "Windows-1251", as the pages name it
    delimiter: str


def csv_text_decode(data: bytes) -> CsvText | None:
    """A CSV as Excel or a script saves it: UTF-8 (with or without a BOM), else Windows-1251 (Excel on a
    Russian or Kazakh Windows); None when it is neither. UTF-8 is tried first because Cyrillic in
    Windows-1251 is almost never valid UTF-8. Separator: the one of ";", tab and "," most frequent in the
    header line outside quotes (Excel writes ";" where the decimal sign is a comma; the header has no WKT,
    whose commas would mislead a sniffer), ";" first on a tie."""
    for encoding, name in (("utf-8-sig", "UTF-8"), ("cp1251", "Windows-1251")):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        header = re.sub(r'"[^"]*"', "", text.split("\n", 1)[0])
        delimiter = max((";", "\t", ","), key=lambda d: (header.count(d), d == ";", d == "\t"))
        return CsvText(text=text, encoding=name, delimiter=delimiter)
    return None
