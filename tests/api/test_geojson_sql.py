"""gis_portal.geo.geojson: output stays valid on the coordinate grid, rings are counter-clockwise."""

from __future__ import annotations

from django.db import connection

from gis_portal.geo.geojson import geometry_sql

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


def test_properties_written_as_text_are_the_json_of_every_field_type(db):
    """feature_page writes properties by concatenating per-type JSON text; it must equal
    what a JSON encoder gives for the same values: strings with quotes, backslashes,
    control characters and Kazakh letters, integers, booleans, decimals, dates,
    timestamps, NULLs and ORM expressions."""
    import datetime as dt
    import json

    from django.db.models import Case, CharField, Value, When

    from facilities.models import Facility
    from gis_portal.geo.geojson import feature_page

    facility = Facility.objects.order_by("pk").first()
    Facility.objects.filter(pk=facility.pk).update(
        name_kk='Балалар "Қыран" \\ орталығы\n\tжаңа', name_en="Centre\x01 </script>", is_ppp=True
    )
    facility.refresh_from_db()
    properties = {
        "name_kk": "name_kk",
        "name_en": "name_en",
        "places": "places",
        "is_ppp": "is_ppp",
        "is_demo": "is_demo",
        "measure": "measure_id",
        "region": "region__kato",
        "district": "district__kato",
        "planned_year": "planned_year",
        "created_at": "created_at",
        "label": Case(When(pk=facility.pk, then=Value("ноль ' \"")), default=Value(None), output_field=CharField()),
    }
    page = feature_page(
        Facility.objects.filter(pk=facility.pk).order_by("pk"),
        geometry="location",
        properties=properties,
        limit=1,
    )
    feature = json.loads(page.features)[0]
    assert feature["properties"] == {
        "name_kk": 'Балалар "Қыран" \\ орталығы\n\tжаңа',
        "name_en": "Centre\x01 </script>",
        "places": facility.places,
        "is_ppp": True,
        "is_demo": facility.is_demo,
        "measure": facility.measure_id,
        "region": facility.region.kato,
        "district": facility.district.kato if facility.district_id else None,
        "planned_year": facility.planned_year,
        "created_at": feature["properties"]["created_at"],
        "label": "ноль ' \"",
    }
    assert dt.datetime.fromisoformat(feature["properties"]["created_at"]) == facility.created_at
    assert list(feature["properties"]) == list(properties)  # the registry's order


def test_decimal_date_and_float_properties(db):
    import datetime as dt
    import json
    from decimal import Decimal

    from django.db.models import DateField, DecimalField, FloatField, Value

    from facilities.models import Facility
    from gis_portal.geo.geojson import feature_page

    page = feature_page(
        Facility.objects.order_by("pk")[:1],
        geometry="location",
        properties={
            "area_ha": Value(Decimal("12.3450"), output_field=DecimalField(max_digits=10, decimal_places=4)),
            "act_date": Value(dt.date(2025, 7, 5), output_field=DateField()),
            "share": Value(0.125, output_field=FloatField()),
        },
        limit=1,
    )
    props = json.loads(page.features, parse_float=Decimal)[0]["properties"]
    assert props == {"area_ha": Decimal("12.3450"), "act_date": "2025-07-05", "share": Decimal("0.125")}
