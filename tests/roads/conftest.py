"""Fixtures of the road-network tests: a small network built by hand near Astana, written as files.

The hand network (EPSG:4326 lon/lat; classes and speeds of roads/data/default_speeds.yaml):

    F(71.405,51.105) ---- L5 residential, gravel ---- D(71.41,51.11) --- L3 secondary, maxspeed 50 --- C
        |                                              ^                                              |
        L4 tertiary, dirt (a bridge over L1)           L2 residential, one-way B → D                   |
        |                                              |                                              |
    A(71.40,51.10) -------- L1 primary (crossed by L4, no shared vertex) ---- B(71.41,51.10) -------- C(71.42,51.10)
        |
    E(71.405,51.095) is L4's south end (L4 runs E → F, crossing L1 between A and B).

    Island: L6 unclassified (71.50,51.20)–(71.51,51.20), not connected to anything.
    Dropped: a zero-length line, a one-point line, a feature without geometry, a point, a `bridleway`
    (no speed in the table).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from pyproj import Geod

GEOD = Geod(ellps="WGS84")

A = (71.40, 51.10)
B = (71.41, 51.10)
C = (71.42, 51.10)
D = (71.41, 51.11)
E = (71.405, 51.095)
F = (71.405, 51.105)
ISLAND = [(71.50, 51.20), (71.51, 51.20)]


def line(coords, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "LineString", "coordinates": coords}}


def hand_features() -> list[dict]:
    return [
        line([A, B, C], highway="primary", oneway="no"),
        line([B, D], highway="residential", oneway="yes"),
        line([D, C], highway="secondary", maxspeed="50"),
        line([E, F], highway="tertiary", surface="dirt"),
        line([F, D], highway="residential", surface="gravel"),
        line(ISLAND, highway="unclassified"),
        line([(71.43, 51.10), (71.43, 51.10)], highway="primary"),  # zero length
        line([(71.44, 51.10)], highway="primary"),  # one point: invalid
        {"type": "Feature", "properties": {"highway": "primary"}, "geometry": None},
        {"type": "Feature", "properties": {"highway": "primary"}, "geometry": {"type": "Point", "coordinates": A}},
        line([(71.45, 51.10), (71.46, 51.10)], highway="bridleway"),
    ]


def geojson_write(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def length_m(*points) -> float:
    """Geodesic length on the WGS 84 spheroid (pyproj), metres: the test's own measure, not PostGIS's."""
    lons, lats = zip(*points, strict=True)
    return GEOD.line_length(lons, lats)


def seconds(metres: float, kmh: float) -> float:
    return metres / (kmh / 3.6)


@pytest.fixture
def hand_geojson(tmp_path) -> Path:
    return geojson_write(tmp_path / "hand.geojson", hand_features())


@pytest.fixture
def hand_utm_gpkg(tmp_path, hand_geojson) -> Path:
    """The hand network in WGS 84 / UTM zone 42N (EPSG:32642), as a GeoPackage written by ogr2ogr."""
    out = tmp_path / "hand_utm.gpkg"
    subprocess.run(  # noqa: S603
        ["ogr2ogr", "-q", "-f", "GPKG", "-t_srs", "EPSG:32642", str(out), str(hand_geojson), "-nln", "roads"],  # noqa: S607
        check=True,
    )
    return out


# Barriers near the hand network (EPSG:4326 lon/lat), for tests/roads/test_barrier_load.py.
LAKE = [(71.40, 51.12), (71.41, 51.12), (71.41, 51.13), (71.40, 51.13), (71.40, 51.12)]
ISLETS = [
    [(71.44, 51.12), (71.45, 51.12), (71.45, 51.13), (71.44, 51.12)],
    [(71.46, 51.12), (71.47, 51.12), (71.47, 51.13), (71.46, 51.12)],
]
# A self-crossing ring (a bow tie): invalid; ST_MakeValid makes it the two triangles, half the square's area.
BOWTIE = [(71.42, 51.12), (71.43, 51.13), (71.43, 51.12), (71.42, 51.13), (71.42, 51.12)]
RIVER = [(71.39, 51.09), (71.425, 51.115), (71.43, 51.14)]


def feature(geometry: dict | None, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def barrier_features() -> list[dict]:
    """A lake, two islets (one MultiPolygon), a bow tie (repaired), a river; a point and two empties dropped."""
    return [
        feature({"type": "Polygon", "coordinates": [LAKE]}, name="lake"),
        feature({"type": "MultiPolygon", "coordinates": [[ring] for ring in ISLETS]}, name="islets"),
        feature({"type": "Polygon", "coordinates": [BOWTIE]}, name="bowtie"),
        feature({"type": "LineString", "coordinates": RIVER}, name="river"),
        feature({"type": "Point", "coordinates": A}, name="well"),
        feature(None, name="nothing"),
        feature({"type": "GeometryCollection", "geometries": []}, name="empty"),
    ]


@pytest.fixture
def barriers_utm_gpkg(tmp_path) -> Path:
    """barrier_features() in WGS 84 / UTM zone 42N (EPSG:32642), as a GeoPackage written by ogr2ogr."""
    src = geojson_write(tmp_path / "barriers.geojson", barrier_features())
    out = tmp_path / "barriers_utm.gpkg"
    subprocess.run(  # noqa: S603
        ["ogr2ogr", "-q", "-f", "GPKG", "-t_srs", "EPSG:32642", str(out), str(src), "-nln", "water"],  # noqa: S607
        check=True,
    )
    return out
