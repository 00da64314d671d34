#!/usr/bin/env python
"""Benchmark of the parcel checks and imports (issue 3). Prints one figure a line; asserts nothing.

(a) all geometry checks of one parcel (validity, Kazakhstan, region/district, overlap, area), per parcel;
(b) reading + checking + creating N synthetic parcels from a GeoJSON file in one transaction,
    rolled back at the end (the import preview), per feature;
(c) the same features WITHOUT facility ids (issue 15): each row finds its facility by location, per feature;
(d) export of the parcels of the database as GeoJSON, GeoPackage, zipped Shapefile and CSV, and the
    GeoJSON export read back (every row found by its cadastral number: unchanged), per feature.

Run against a database with the reference data and demo facilities (scripts/run's database,
or your own DATABASE_URL): .venv/bin/python scripts/bench/parcels.py [--features 300]
Nothing is saved: (b) runs as a preview (rolled back).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gis_portal.settings.dev")

import django  # noqa: E402

django.setup()

from django.contrib.gis.geos import MultiPolygon, Polygon  # noqa: E402

from facilities.models import Facility  # noqa: E402
from parcels.checks import parcel_geometry_check  # noqa: E402
from parcels.geometry import utm_srid_for_lon  # noqa: E402
from parcels.io import read_parcel_file  # noqa: E402
from parcels.models import Parcel  # noqa: E402
from parcels.selectors import parcel_export  # noqa: E402
from parcels.services import SYSTEM, parcels_import  # noqa: E402


def square(point, side_m: float, dx: float = 0.0) -> MultiPolygon:
    srid = utm_srid_for_lon(point.x)
    c = point.transform(srid, clone=True)
    x, y, h = c.x + dx, c.y, side_m / 2
    poly = Polygon(((x - h, y - h), (x + h, y - h), (x + h, y + h), (x - h, y + h), (x - h, y - h)), srid=srid)
    poly.transform(4326)
    return MultiPolygon(poly, srid=4326)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--features", type=int, default=300)
    args = parser.parse_args()
    facilities = list(
        Facility.objects.filter(location__isnull=False, parcels__isnull=True).select_related("region", "district")
    )
    print(f"parcels in the database: {Parcel.objects.count()}, facilities without a parcel: {len(facilities)}")

    runs = facilities[:100]
    start = time.perf_counter()
    for f in runs:
        parcel_geometry_check(geom=square(f.location, 150), facility=f, declared_area_ha=2.25)
    per = (time.perf_counter() - start) / len(runs) * 1000
    print(f"geometry checks per parcel: {per:.1f} ms (mean of {len(runs)})")

    # One feature per facility without a parcel, repeated (each repeat shifted 1 km east) up to --features;
    # repeats of a facility fail "facility already has a parcel", which is checked too.
    features = []
    for i in range(args.features):
        f = facilities[i % len(facilities)]
        geom = square(f.location, 150, dx=1000.0 * (i // len(facilities)))
        features.append(
            {
                "type": "Feature",
                "geometry": json.loads(geom.json),
                "properties": {"facility_id": f.pk, "declared_area_ha": 2.25},
            }
        )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
        start = time.perf_counter()
        read = read_parcel_file(path=path, filename=path.name, chosen_srid=None)
        read_s = time.perf_counter() - start
        outcome = parcels_import(user=SYSTEM, features=read.features, commit=False)
        total = time.perf_counter() - start
    saved_in_preview = sum(1 for r in outcome.rows if r.parcel_id)
    print(f"import preview of {len(features)} features: {total:.2f} s ({total / len(features) * 1000:.1f} ms/feature;"
          f" reading {read_s:.2f} s; {saved_in_preview} valid, rolled back)")  # fmt: skip

    for feature in features:
        del feature["properties"]["facility_id"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
        start = time.perf_counter()
        read = read_parcel_file(path=path, filename=path.name, chosen_srid=None)
        outcome = parcels_import(user=SYSTEM, features=read.features, commit=False)
        matched_s = time.perf_counter() - start
    print(f"import preview of {len(features)} features without facility ids: {matched_s:.2f} s"
          f" ({matched_s / len(features) * 1000:.1f} ms/feature; {outcome.created} matched and valid,"
          f" {len(outcome.pending)} waiting for a choice; ratio to the run with ids:"
          f" {matched_s / total:.2f})")  # fmt: skip

    qs = Parcel.objects.all()
    for fmt in ("geojson", "gpkg", "shp", "csv"):
        start = time.perf_counter()
        content, _, _ = parcel_export(queryset=qs, fmt=fmt)
        print(f"export {fmt}: {(time.perf_counter() - start) * 1000:.0f} ms, {len(content) / 1024:.0f} KiB")
        if fmt == "geojson":
            exported = content
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "export.geojson"
        path.write_bytes(exported)
        start = time.perf_counter()
        read = read_parcel_file(path=path, filename=path.name, chosen_srid=None)
        outcome = parcels_import(user=SYSTEM, features=read.features, commit=False)
        back_s = time.perf_counter() - start
    if read.features:
        print(f"export read back: {len(read.features)} features in {back_s:.2f} s"
              f" ({back_s / len(read.features) * 1000:.1f} ms/feature; {outcome.unchanged} unchanged,"
              f" {outcome.updated} updated, {outcome.created} created)")  # fmt: skip


if __name__ == "__main__":
    main()
