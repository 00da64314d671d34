"""GeoJSON built inside PostGIS, returned as text and never parsed in Python.

RFC 7946: EPSG:4326, longitude first, exterior rings counter-clockwise
(ST_ForcePolygonCCW), coordinates rounded to `precision` decimals (6 ≈ 0.1 m).
Pages (folium maps) and the API both call these functions, so there is one
query path for a layer.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet


def feature_collection(
    queryset: QuerySet,
    *,
    geometry: str,
    properties: list[str],
    precision: int = 6,
    simplify_m: float | None = None,
    extra_members: dict[str, str] | None = None,
) -> str:
    """Serialise `queryset` to a GeoJSON FeatureCollection text in one SQL statement.

    `geometry` is the geometry field (EPSG:4326); `properties` are field names or
    lookups (`region__kato`) of `queryset.values()`; the feature id is the pk.
    `simplify_m` simplifies with ST_SimplifyPreserveTopology at that tolerance in
    metres (converted to degrees at Kazakhstan's latitude) for small-scale maps.
    Rows without geometry get `"geometry": null`.
    """
    if not 0 <= precision <= 15:
        raise ValueError("precision must be between 0 and 15")
    inner = queryset.values("pk", geometry, *properties)
    sql, params = inner.query.sql_with_params()
    geom = f't."{geometry}"'
    if simplify_m:
        # ~1 degree of latitude = 111 km; longitudes shrink with cos(48°) ≈ 0.67 over Kazakhstan.
        geom = f"ST_SimplifyPreserveTopology({geom}, {float(simplify_m) / 111_000 / 0.67!r})"
    props = ", ".join(f"'{p}', t.\"{p}\"" for p in properties)
    members = "".join(f", '{k}', {v}" for k, v in (extra_members or {}).items())
    statement = f"""
        SELECT json_build_object(
            'type', 'FeatureCollection'{members},
            'features', COALESCE(json_agg(json_build_object(
                'type', 'Feature',
                'id', t."pk",
                'geometry', ST_AsGeoJSON(ST_ForcePolygonCCW({geom}), {int(precision)})::json,
                'properties', json_build_object({props})
            )), '[]'::json)
        )::text
        FROM ({sql}) AS t
    """  # noqa: S608 - identifiers come from our code, values are bound parameters
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()[0]
