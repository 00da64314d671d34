"""Generate the hostile input corpus into a folder (nothing large is committed).

Run by the test fixture into a temporary folder, or by hand:

    .venv/bin/python tests/corpus/make_corpus.py /tmp/corpus

Each case is one file; `CASES` says which upload paths it targets:
"vector" (parcel import: GeoJSON, zipped Shapefile, KML/KMZ, CSV), "settlement"
(accessibility settlement import: CSV/GeoJSON points) and "image" (parcel scans,
tracking stage documents and progress photos: PDF/JPEG/PNG).
Coordinates are EPSG:4326 longitude/latitude unless the case says otherwise.
"""

from __future__ import annotations

import io
import json
import stat
import struct
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

# A 200 m square in Astana (lon/lat, EPSG:4326), used where a case needs one valid-looking shape.
ASTANA_SQUARE = [[71.4300, 51.1280], [71.4329, 51.1280], [71.4329, 51.1298], [71.4300, 51.1298], [71.4300, 51.1280]]


@dataclass(frozen=True)
class Case:
    name: str  # file name inside the corpus folder
    targets: frozenset[str]  # "vector", "settlement", "image"
    why: str


CASES: list[Case] = []


def case(name: str, targets: str, why: str):
    CASES.append(Case(name, frozenset(targets.split()), why))


# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------


def _fc(features: list[dict]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def _feature(geometry, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _polygon(ring) -> dict:
    return {"type": "Polygon", "coordinates": [ring]}


def zip_bomb(path: Path, *, uncompressed_bytes: int) -> None:
    """One member of `uncompressed_bytes` zeros (deflates ~1000:1), written in 1 MiB chunks."""
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, z.open("parcels.shp", "w", force_zip64=True) as out:
        for _ in range(uncompressed_bytes // len(chunk) + 1):
            out.write(chunk)


def zip_many(path: Path, *, count: int) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for i in range(count):
            z.writestr(f"f{i}.txt", b"")


def _shp_files(*, ring, field_bytes: bytes) -> dict[str, bytes]:
    """A minimal one-polygon Shapefile (.shp/.shx/.dbf) written by hand (type 5, one text field NAME)."""
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    bbox = (min(xs), min(ys), max(xs), max(ys))
    content = struct.pack("<i4d2i", 5, *bbox, 1, len(ring)) + struct.pack("<i", 0)
    content += b"".join(struct.pack("<2d", x, y) for x, y in ring)
    record = struct.pack(">2i", 1, len(content) // 2) + content

    def header(total_len_bytes: int) -> bytes:
        return struct.pack(">7i", 9994, 0, 0, 0, 0, 0, total_len_bytes // 2) + struct.pack(
            "<2i8d", 1000, 5, *bbox, 0, 0, 0, 0
        )

    shp = header(100 + len(record)) + record
    shx = header(100 + 8) + struct.pack(">2i", 50, len(content) // 2)
    width = 40
    value = field_bytes[:width].ljust(width, b" ")
    field = b"NAME".ljust(11, b"\0") + b"C" + b"\0" * 4 + bytes([width, 0]) + b"\0" * 14
    header_len = 32 + 32 + 1
    dbf = struct.pack("<B3BIHH20x", 3, 124, 1, 1, 1, header_len, 1 + width) + field + b"\r" + b" " + value + b"\x1a"
    return {"parcels.shp": shp, "parcels.shx": shx, "parcels.dbf": dbf}


def _zip(path: Path, members: dict[str, bytes], *, symlinks: dict[str, str] | None = None) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, target)


def _prj(epsg: int) -> bytes:
    import pyproj

    return pyproj.CRS.from_epsg(epsg).to_wkt("WKT1_ESRI").encode()


XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&xxe;</name><Polygon><outerBoundaryIs><LinearRing>
<coordinates>71.43,51.128 71.4329,51.128 71.4329,51.1298 71.43,51.1298 71.43,51.128</coordinates>
</LinearRing></outerBoundaryIs></Polygon></Placemark></kml>"""
XXE_HTTP = XXE_FILE.replace(b"file:///etc/passwd", b"http://169.254.169.254/latest/meta-data/")
XXE_PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY % remote SYSTEM "http://169.254.169.254/evil.dtd"> %remote;]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>x</name></Placemark></kml>"""
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
    + b"]>\n<kml><Placemark><name>&lol9;</name></Placemark></kml>"
)


def million_vertices(path: Path, *, vertices: int = 1_000_000) -> None:
    """One polygon ring with `vertices` points (a circle of radius 0.01° around Astana), streamed to disk."""
    import math

    with path.open("w") as out:
        out.write('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},')
        out.write('"geometry":{"type":"Polygon","coordinates":[[')
        for i in range(vertices):
            a = 2 * math.pi * i / vertices
            out.write(f"[{71.43 + 0.01 * math.cos(a):.7f},{51.13 + 0.01 * math.sin(a):.7f}],")
        out.write("[71.44,51.13]]]}}]}")


def oversized(path: Path, *, size: int, head: bytes) -> None:
    """`head` followed by spaces up to `size` bytes (sparse-free, but cheap to write)."""
    with path.open("wb") as out:
        out.write(head)
        remaining = size - len(head)
        block = b" " * (1 << 20)
        while remaining > 0:
            out.write(block[: min(remaining, len(block))])
            remaining -= len(block)


# ---------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------

case("zip_bomb.zip", "vector", "one member of 256 MiB zeros in a ~260 kB archive (> PARCEL_ZIP_MAX_UNCOMPRESSED)")
case("zip_many_files.zip", "vector", "10 000 members (> PARCEL_ZIP_MAX_FILES)")
case("zip_slip.zip", "vector", "member ../../evil.shp (path traversal)")
case("zip_symlink.zip", "vector", "a Shapefile whose .dbf is a symlink to /etc/passwd")
case("xxe_file.kml", "vector", "external entity file:///etc/passwd")
case("xxe_http.kml", "vector", "external entity http://169.254.169.254/ (cloud metadata, SSRF)")
case("xxe_parameter.kml", "vector", "external parameter entity loading a remote DTD")
case("xxe.kmz", "vector", "the XXE KML zipped as KMZ")
case("billion_laughs.kml", "vector", "nested entities expanding to 10^9 'lol'")
case("nan.geojson", "vector settlement", "NaN coordinates")
case("infinity.geojson", "vector settlement", "Infinity coordinates")
case("huge_1e300.geojson", "vector settlement", "1e300 coordinates")
case("swapped_latlon.geojson", "vector settlement", "latitude first (51, 71 → the Arctic Ocean / outside)")
case("empty_geometry.geojson", "vector settlement", "empty Polygon and null geometry")
case("mixed_types.geojson", "vector settlement", "Point, LineString and Polygon mixed in one file")
case("million_vertices.geojson", "vector", "one polygon of 1 000 000 vertices (> PARCEL_IMPORT_MAX_VERTICES)")
case("dbf_cp1251_no_cpg.zip", "vector", "DBF text in Windows-1251 without a .cpg (read as UTF-8)")
case("missing_prj.zip", "vector", "Shapefile without a .prj")
case("unsupported_crs_2154.zip", "vector", "Shapefile in EPSG:2154 (Lambert-93, France), not an allowed CRS")
case("oversized.geojson", "vector settlement", "larger than the configured maximum size")
case("not_utf8.csv", "vector settlement", "CSV in UTF-16 with a BOM")
case("fake.jpg", "image", "a PHP script named .jpg")
case("fake.png", "image", "HTML with a script named .png")
case("fake.pdf", "image", "a Windows executable header named .pdf")
case("svg_as.png", "image", "SVG (XML with script) named .png")
case("oversized.pdf", "image", "a PDF larger than the configured maximum size")


def build(dest: Path, *, max_bytes: int = 1_000_000) -> dict[str, Path]:
    """Write every case into `dest`; `max_bytes` is the size limit the oversized cases exceed by one byte."""
    dest.mkdir(parents=True, exist_ok=True)
    w = {c.name: dest / c.name for c in CASES}

    zip_bomb(w["zip_bomb.zip"], uncompressed_bytes=256 << 20)
    zip_many(w["zip_many_files.zip"], count=10_000)
    _zip(w["zip_slip.zip"], {"../../evil.shp": b"x", "parcels.shx": b"x", "parcels.dbf": b"x"})
    good = _shp_files(ring=ASTANA_SQUARE, field_bytes=b"ok")
    _zip(
        w["zip_symlink.zip"],
        {"parcels.shp": good["parcels.shp"], "parcels.shx": good["parcels.shx"], "parcels.prj": _prj(4326)},
        symlinks={"parcels.dbf": "/etc/passwd"},
    )
    w["xxe_file.kml"].write_bytes(XXE_FILE)
    w["xxe_http.kml"].write_bytes(XXE_HTTP)
    w["xxe_parameter.kml"].write_bytes(XXE_PARAMETER)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("doc.kml", XXE_HTTP)
    w["xxe.kmz"].write_bytes(buf.getvalue())
    w["billion_laughs.kml"].write_bytes(BILLION_LAUGHS)

    point = {"type": "Point", "coordinates": [71.43, 51.13]}
    nan_ring = [[float("nan"), 51.128]] + ASTANA_SQUARE[1:-1] + [[float("nan"), 51.128]]
    # json.dumps writes NaN / Infinity literals (not valid JSON, but what broken exporters produce).
    w["nan.geojson"].write_bytes(
        _fc([_feature(_polygon(nan_ring)), _feature({"type": "Point", "coordinates": [float("nan"), 51.1]})])
    )
    inf_ring = [[float("inf"), 51.128]] + ASTANA_SQUARE[1:-1] + [[float("inf"), 51.128]]
    w["infinity.geojson"].write_bytes(
        _fc([_feature(_polygon(inf_ring)), _feature({"type": "Point", "coordinates": [float("-inf"), 51.1]})])
    )
    huge_ring = [[1e300, 51.128]] + ASTANA_SQUARE[1:-1] + [[1e300, 51.128]]
    w["huge_1e300.geojson"].write_bytes(
        _fc([_feature(_polygon(huge_ring)), _feature({"type": "Point", "coordinates": [1e300, 1e300]})])
    )
    swapped = [[lat, lon] for lon, lat in ASTANA_SQUARE]
    w["swapped_latlon.geojson"].write_bytes(
        _fc([_feature(_polygon(swapped)), _feature({"type": "Point", "coordinates": [51.13, 71.43]}, name="S")])
    )
    w["empty_geometry.geojson"].write_bytes(
        _fc(
            [
                _feature({"type": "Polygon", "coordinates": []}),
                _feature(None),
                _feature({"type": "Point", "coordinates": []}),
            ]
        )
    )
    w["mixed_types.geojson"].write_bytes(
        _fc(
            [
                _feature(_polygon(ASTANA_SQUARE), name="ok"),
                _feature(point, name="p"),
                _feature({"type": "LineString", "coordinates": ASTANA_SQUARE}, name="l"),
            ]
        )
    )
    million_vertices(w["million_vertices.geojson"])
    cp1251 = _shp_files(ring=ASTANA_SQUARE, field_bytes="Участок".encode("cp1251"))
    _zip(w["dbf_cp1251_no_cpg.zip"], cp1251 | {"parcels.prj": _prj(4326)})
    _zip(w["missing_prj.zip"], good)
    lambert = [[652000.0, 6862000.0], [652200.0, 6862000.0], [652200.0, 6862200.0], [652000.0, 6862200.0]]
    _zip(
        w["unsupported_crs_2154.zip"],
        _shp_files(ring=lambert + [lambert[0]], field_bytes=b"paris") | {"parcels.prj": _prj(2154)},
    )
    oversized(w["oversized.geojson"], size=max_bytes + 1, head=_fc([_feature(_polygon(ASTANA_SQUARE))]))
    w["not_utf8.csv"].write_bytes("name,lon,lat,population,wkt\nАул,71.43,51.13,100,POINT(71 51)\n".encode("utf-16"))

    w["fake.jpg"].write_bytes(b"<?php system($_GET['c']); ?>\n")
    w["fake.png"].write_bytes(b"<html><script>alert(document.cookie)</script></html>")
    w["fake.pdf"].write_bytes(b"MZ\x90\x00\x03\x00\x00\x00" + b"\0" * 200)
    w["svg_as.png"].write_bytes(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    oversized(w["oversized.pdf"], size=max_bytes + 1, head=b"%PDF-1.4\n")
    return w


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "corpus-out")
    for name, path in build(target).items():
        print(f"{path.stat().st_size:>12}  {name}")
