"""layers.geojson: output stays valid on the coordinate grid, rings are counter-clockwise."""

from __future__ import annotations

from django.db import connection

from layers.geojson import geometry_sql

# A square whose notch reaches to 4e-7 degrees of the bottom edge: snapping to 1e-6 makes
# the ring touch itself (invalid); ST_ReducePrecision must repair it.
NOTCHED = (
    "SRID=4326;POLYGON((71 51, 71.01 51, 71.01 51.01, 71.005 51.01, 71.005 51.0000004, 71.0049 51.01, 71 51.01, 71 51))"
)
CLOCKWISE = "SRID=4326;POLYGON((71 51, 71 51.01, 71.01 51.01, 71.01 51, 71 51))"


def _scalar(sql: str, *params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def test_plain_snap_would_be_invalid_but_output_is_valid(db, wkt):
    geom = wkt(NOTCHED)
    assert geom.valid
    assert _scalar("SELECT ST_IsValid(ST_SnapToGrid(ST_GeomFromEWKT(%s), 1e-6))", geom.ewkt) is False
    expression = geometry_sql("g", precision=6).removesuffix("::json")
    valid = _scalar(
        f"SELECT ST_IsValid(ST_GeomFromGeoJSON({expression})) FROM (SELECT ST_GeomFromEWKT(%s) AS g) AS t",
        geom.ewkt,
    )
    assert valid is True


def test_rings_are_written_counter_clockwise(db, wkt):
    geom = wkt(CLOCKWISE)
    expression = geometry_sql("g", precision=6).removesuffix("::json")
    ccw = _scalar(
        f"SELECT ST_IsPolygonCCW(ST_GeomFromGeoJSON({expression})) FROM (SELECT ST_GeomFromEWKT(%s) AS g) AS t",
        geom.ewkt,
    )
    assert ccw is True
