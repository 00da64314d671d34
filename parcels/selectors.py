"""Reads of parcels and infrastructure links, including the geometry checks (all spatial maths in PostGIS).

CRS: geometries are EPSG:4326. Areas and lengths are measured in the WGS 84 /
UTM zone of the geometry's centroid, clamped to zones 39N–45N (EPSG:32639–32645),
which cover Kazakhstan (46°E–88°E); inside its own zone UTM's scale error is
below 0.1 %, so areas are accurate to about 0.2 %. Areas in m² (stored in ha),
lengths in metres.

Stable names used by other apps (maps, construction tracking):
`parcel_infrastructure_readiness`, `facility_parcel_status`, `parcel_geojson`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.permissions import Action, scope_queryset
from facilities.models import Facility, Measure
from layers.models import District, Region
from parcels.models import InfrastructureLink, LinkStatus, Parcel, ParcelStatus

LAND_MEASURE = 5
INFRASTRUCTURE_MEASURE = 6


def utm_srid_sql(geom_sql: str) -> str:
    """SQL expression: EPSG code of the UTM zone (39N–45N) of the centroid of `geom_sql` (EPSG:4326)."""
    return f"(32600 + LEAST(45, GREATEST(39, floor((ST_X(ST_Centroid({geom_sql})) + 180) / 6)::int + 1)))"


def utm_srid_for_lon(lon: float) -> int:
    """Python twin of utm_srid_sql for a longitude in degrees."""
    return 32600 + min(45, max(39, int((lon + 180) // 6) + 1))


# ---------------------------------------------------------------------------
# Stable selectors for other apps
# ---------------------------------------------------------------------------


def parcel_infrastructure_readiness(*, parcel_ids: list[int] | None = None) -> dict[int, bool]:
    """{parcel id: ready?} — ready when the parcel has at least one link recorded and every required link is connected.

    A parcel with no links recorded is not ready: nobody has assessed its needs yet.
    One query.
    """
    qs = Parcel.objects.all()
    if parcel_ids is not None:
        qs = qs.filter(pk__in=parcel_ids)
    rows = qs.annotate(
        n_links=Count("links"),
        n_open=Count("links", filter=Q(links__required=True) & ~Q(links__status=LinkStatus.CONNECTED)),
    ).values_list("pk", "n_links", "n_open")
    return {pk: n_links > 0 and n_open == 0 for pk, n_links, n_open in rows}


def facility_parcel_status(*, facility_ids: list[int] | None = None) -> dict[int, str | None]:
    """{facility id: status of its current (non-revoked) parcel, or None when it has none}. One query."""
    qs = Facility.objects.all()
    if facility_ids is not None:
        qs = qs.filter(pk__in=facility_ids)
    result: dict[int, str | None] = dict.fromkeys(qs.values_list("pk", flat=True))
    parcels = Parcel.objects.exclude(status=ParcelStatus.REVOKED).filter(facility_id__in=list(result))
    for facility_id, status in parcels.values_list("facility_id", "status"):
        result[facility_id] = status
    return result


PARCEL_GEOJSON_PROPERTIES = [
    "cadastral_number",
    "status",
    "facility_id",
    "region__kato",
    "declared_area_ha",
    "computed_area_ha",
    "land_category",
    "right_type",
    "act_number",
    "act_date",
    "is_demo",
]


def parcel_geojson(*, queryset: QuerySet) -> str:
    """GeoJSON FeatureCollection (RFC 7946, EPSG:4326) of `queryset`'s parcels, built in PostGIS. Scope it first."""
    from gis_portal.geo.geojson import feature_collection

    return feature_collection(queryset, geometry="geom", properties=PARCEL_GEOJSON_PROPERTIES, stored="geom_geojson")


def link_geojson(*, queryset: QuerySet) -> str:
    from gis_portal.geo.geojson import feature_collection

    return feature_collection(
        queryset.filter(route__isnull=False),
        geometry="route",
        properties=["parcel_id", "utility_id", "status", "required", "route_length_m", "is_demo"],
        stored="route_geojson",
    )


# ---------------------------------------------------------------------------
# Lists scoped by role
# ---------------------------------------------------------------------------


def parcel_list(*, user, filters: dict | None = None, action: Action = Action.VIEW) -> QuerySet:
    """Parcels `user` may see (or edit), filtered by region KATO, status, facility, text."""
    filters = filters or {}
    qs = scope_queryset(user, Parcel.objects.all(), action=action).select_related("facility", "region", "district")
    if filters.get("region"):
        qs = qs.filter(region__kato=filters["region"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("facility"):
        qs = qs.filter(facility_id=filters["facility"])
    if filters.get("q"):
        text = filters["q"]
        qs = qs.filter(Q(cadastral_number__icontains=text) | Q(act_number__icontains=text) | Q(notes__icontains=text))
    if filters.get("active"):
        qs = qs.exclude(status=ParcelStatus.REVOKED)
    return qs


def link_list(*, user, parcel_id: int | None = None) -> QuerySet:
    qs = scope_queryset(user, InfrastructureLink.objects.all()).select_related("utility", "parcel")
    if parcel_id is not None:
        qs = qs.filter(parcel_id=parcel_id)
    return qs


# ---------------------------------------------------------------------------
# Measure 5 compliance
# ---------------------------------------------------------------------------


@dataclass
class ComplianceRow:
    region: Region
    planned: int
    with_act: int
    missing: list[Facility]


def measure5_compliance(*, user, today: date | None = None) -> tuple[Measure, bool, list[ComplianceRow]]:
    """Planned facilities still lacking a parcel with an issued act, per region, vs measure 5's deadline.

    Returns (measure, deadline passed?, rows for the regions the user may see). Two queries.
    """
    measure = Measure.objects.get(number=LAND_MEASURE)
    today = today or date.today()
    has_act = Parcel.objects.filter(facility=OuterRef("pk"), status=ParcelStatus.ACT_ISSUED)
    facilities = (
        scope_queryset(user, Facility.objects.all())
        .select_related("region", "kind", "district")
        .annotate(has_act=Exists(has_act))
        .order_by("region__kato", "measure_id", "id")
    )
    rows: dict[int, ComplianceRow] = {}
    for facility in facilities:
        row = rows.setdefault(facility.region_id, ComplianceRow(facility.region, 0, 0, []))
        row.planned += 1
        if facility.has_act:
            row.with_act += 1
        else:
            row.missing.append(facility)
    return measure, today > measure.deadline_end, list(rows.values())


# ---------------------------------------------------------------------------
# Geometry checks
# ---------------------------------------------------------------------------


@dataclass
class Problem:
    """One finding about a parcel or link, in words a land officer understands."""

    code: str
    message: str
    field: str = "geom"
    severity: str = "error"  # "error" blocks saving, "warning" does not

    def as_dict(self) -> dict:
        return {"code": self.code, "field": self.field, "severity": self.severity, "message": self.message}


@dataclass
class GeometryReport:
    problems: list[Problem] = field(default_factory=list)
    region_id: int | None = None
    district_id: int | None = None
    computed_area_ha: Decimal | None = None
    area_srid: int | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


def _fmt_point(x: float, y: float) -> str:
    return f"{y:.6f}° N, {x:.6f}° E"


def _scalar(sql: str, params: list) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def geometry_validity(*, geom: GEOSGeometry) -> Problem | None:
    """ST_IsValidDetail: None when valid, else a problem naming the reason and where it is."""
    valid, reason, x, y = _scalar(
        "SELECT d.valid, d.reason, ST_X(d.location), ST_Y(d.location) FROM ST_IsValidDetail(ST_GeomFromEWKB(%s)) d",
        [bytes(geom.ewkb)],
    )
    if valid:
        return None
    where = (" " + _("near %(point)s") % {"point": _fmt_point(x, y)}) if x is not None else ""
    return Problem(
        "invalid",
        _(
            "The boundary is not a valid polygon (%(reason)s)%(where)s. "
            "Use “Repair” to fix it, check the result, then save."
        )
        % {"reason": reason, "where": where},
    )


def geometry_repair_preview(*, geom: GEOSGeometry) -> GEOSGeometry:
    """ST_MakeValid, keeping only the polygonal parts, as a MultiPolygon (EPSG:4326). Nothing is saved."""
    (ewkb,) = _scalar(
        "SELECT ST_AsEWKB(ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_GeomFromEWKB(%s)), 3)))",
        [bytes(geom.ewkb)],
    )
    return GEOSGeometry(memoryview(bytes(ewkb)))


def parcel_geometry_check(
    *,
    geom: GEOSGeometry,
    facility: Facility,
    declared_area_ha: Decimal | float | None,
    exclude_parcel_id: int | None = None,
) -> GeometryReport:
    """Every geometry check of a parcel boundary (MultiPolygon, EPSG:4326) for `facility`.

    Order: validity (stops further checks), inside Kazakhstan / swapped axes,
    region and district of the facility, overlap with active parcels, size
    plausibility, declared vs computed area (warning only).
    """
    report = GeometryReport()
    if geom.srid != 4326:
        raise ValueError("parcel geometry must be EPSG:4326")
    invalid = geometry_validity(geom=geom)
    if invalid:
        report.problems.append(invalid)
        return report
    ewkb = bytes(geom.ewkb)
    srid = utm_srid_for_lon(geom.centroid.x)
    report.area_srid = srid
    (area_m2,) = _scalar("SELECT ST_Area(ST_Transform(ST_GeomFromEWKB(%s), %s))", [ewkb, srid])
    report.computed_area_ha = Decimal(area_m2 / 10_000).quantize(Decimal("0.0001"))

    # Inside Kazakhstan = inside the union of the 20 region polygons (only those touching the parcel are unioned).
    outside_m2, ox, oy, n_regions = _scalar(
        f"""
        WITH g AS (SELECT ST_GeomFromEWKB(%s) AS g),
        r AS (SELECT ST_Union(r.geom) AS u, count(*) AS n FROM layers_region r, g
              WHERE r.geom && g.g AND ST_Intersects(r.geom, g.g))
        SELECT ST_Area(ST_Transform(d, {srid})), ST_X(ST_PointOnSurface(d)), ST_Y(ST_PointOnSurface(d)), n
        FROM (SELECT CASE WHEN r.u IS NULL THEN g.g ELSE ST_Difference(g.g, r.u) END AS d, r.n FROM g, r) s
        """,  # noqa: S608 - srid is an int computed above
        [ewkb],
    )
    c = geom.centroid
    if n_regions == 0:
        (flipped_inside,) = _scalar(
            "SELECT EXISTS (SELECT 1 FROM layers_region r "
            "WHERE ST_Intersects(r.geom, ST_FlipCoordinates(%s::geometry)))",
            [ewkb],
        )
        if flipped_inside:
            report.problems.append(
                Problem(
                    "swapped",
                    _(
                        "The parcel is at latitude %(lat).6f, longitude %(lon).6f, outside Kazakhstan; with latitude "
                        "and longitude swapped it would be inside. Check the column order (longitude first) or the CRS."
                    )
                    % {"lat": c.y, "lon": c.x},
                )
            )
        else:
            report.problems.append(
                Problem(
                    "outside_kz",
                    _("The parcel (centre %(point)s) lies outside Kazakhstan. Check the coordinates and the CRS.")
                    % {"point": _fmt_point(c.x, c.y)},
                )
            )
        return report
    if outside_m2 and outside_m2 > 1.0:
        report.problems.append(
            Problem(
                "outside_kz",
                _("%(area).0f m² of the parcel lie outside Kazakhstan, for example at %(point)s.")
                % {"area": outside_m2, "point": _fmt_point(ox, oy)},
            )
        )

    # Region and district: derived from a point on the surface; the whole parcel must lie in the facility's.
    region_id, district_id, out_region_m2, rx, ry, out_district_m2, dx, dy = _scalar(
        f"""
        WITH g AS (SELECT ST_GeomFromEWKB(%s) AS g, ST_PointOnSurface(ST_GeomFromEWKB(%s)) AS p)
        SELECT (SELECT r.id FROM layers_region r WHERE ST_Intersects(r.geom, g.p) ORDER BY r.id LIMIT 1),
               (SELECT d.id FROM layers_district d WHERE ST_Intersects(d.geom, g.p) ORDER BY d.id LIMIT 1),
               ST_Area(ST_Transform(rd.d, {srid})), ST_X(ST_PointOnSurface(rd.d)), ST_Y(ST_PointOnSurface(rd.d)),
               ST_Area(ST_Transform(dd.d, {srid})), ST_X(ST_PointOnSurface(dd.d)), ST_Y(ST_PointOnSurface(dd.d))
        FROM g
        LEFT JOIN LATERAL (SELECT ST_Difference(g.g, r.geom) AS d FROM layers_region r WHERE r.id = %s) rd ON TRUE
        LEFT JOIN LATERAL (SELECT ST_Difference(g.g, d.geom) AS d FROM layers_district d WHERE d.id = %s) dd ON TRUE
        """,  # noqa: S608 - srid is an int computed above
        [ewkb, ewkb, facility.region_id, facility.district_id],
    )
    report.region_id, report.district_id = region_id, district_id
    region = facility.region
    if region_id != facility.region_id or (out_region_m2 or 0) > max(1.0, 0.005 * area_m2):
        actual = Region.objects.filter(pk=region_id).first()
        report.problems.append(
            Problem(
                "outside_region",
                _(
                    "The parcel must lie in %(region)s, the region of the facility, but %(area).0f m² lie outside it "
                    "(e.g. at %(point)s%(actual)s)."
                )
                % {
                    "region": region.name,
                    "area": out_region_m2 or area_m2,
                    "point": _fmt_point(rx, ry) if rx is not None else _fmt_point(c.x, c.y),
                    "actual": (", " + _("in %(name)s") % {"name": actual.name}) if actual and actual != region else "",
                },
            )
        )
    elif facility.district_id and (
        district_id != facility.district_id or (out_district_m2 or 0) > max(1.0, 0.005 * area_m2)
    ):
        declared = facility.district
        actual = District.objects.filter(pk=district_id).first()
        if actual is not None and actual.pk != declared.pk:
            where = _("it lies in %(name)s") % {"name": actual.name}
        else:
            where = _("%(area).0f m² lie outside it") % {"area": out_district_m2 or 0}
        report.problems.append(
            Problem(
                "outside_district",
                _(
                    "The parcel must lie in %(district)s, the district of the facility, "
                    "but %(where)s (e.g. at %(point)s)."
                )
                % {
                    "district": declared.name,
                    "where": where,
                    "point": _fmt_point(dx, dy) if dx is not None else _fmt_point(c.x, c.y),
                },
            )
        )

    # Overlap with other active parcels (touching edges are fine).
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT p.id, p.cadastral_number, ST_Area(ST_Transform(ST_Intersection(p.geom, g.g), {srid})) AS a,
                   ST_X(ST_PointOnSurface(ST_Intersection(p.geom, g.g))),
                   ST_Y(ST_PointOnSurface(ST_Intersection(p.geom, g.g)))
            FROM parcels_parcel p, (SELECT ST_GeomFromEWKB(%s) AS g) g
            WHERE p.status <> 'revoked' AND p.id <> %s AND p.geom && g.g AND ST_Intersects(p.geom, g.g)
                  AND NOT ST_Touches(p.geom, g.g)
            ORDER BY a DESC
            """,  # noqa: S608 - srid is an int computed above
            [ewkb, exclude_parcel_id or 0],
        )
        for other_id, cadastral, overlap_m2, x, y in cursor.fetchall():
            if overlap_m2 is None or overlap_m2 < 0.01:
                continue
            report.problems.append(
                Problem(
                    "overlap",
                    _("The parcel overlaps active parcel %(name)s by %(m2).1f m² (%(ha).4f ha), around %(point)s.")
                    % {
                        "name": cadastral or _("#%(id)s (no cadastral number yet)") % {"id": other_id},
                        "m2": overlap_m2,
                        "ha": overlap_m2 / 10_000,
                        "point": _fmt_point(x, y),
                    },
                )
            )

    area_ha = area_m2 / 10_000
    if not settings.PARCEL_AREA_MIN_HA <= area_ha <= settings.PARCEL_AREA_MAX_HA:
        report.problems.append(
            Problem(
                "implausible_size",
                _(
                    "The parcel's area is %(area).4f ha; a parcel for a facility is expected to be between "
                    "%(min)s and %(max)s ha. Check the units and the CRS."
                )
                % {"area": area_ha, "min": settings.PARCEL_AREA_MIN_HA, "max": settings.PARCEL_AREA_MAX_HA},
            )
        )
    if declared_area_ha and area_ha > 0:
        declared = float(declared_area_ha)
        if abs(declared - area_ha) / area_ha > settings.PARCEL_AREA_WARN_RATIO:
            report.problems.append(
                Problem(
                    "area_mismatch",
                    _(
                        "The declared area (%(declared).4f ha) differs from the area of the drawn boundary "
                        "(%(computed).4f ha, EPSG:%(srid)s) by %(pct).1f %%."
                    )
                    % {
                        "declared": declared,
                        "computed": area_ha,
                        "srid": srid,
                        "pct": abs(declared - area_ha) / area_ha * 100,
                    },
                    field="declared_area_ha",
                    severity="warning",
                )
            )
    return report


def link_route_check(*, route: GEOSGeometry, parcel: Parcel) -> tuple[list[Problem], float]:
    """Route (LineString, EPSG:4326) checks: its end lies within PARCEL_ROUTE_MAX_GAP_M metres of the parcel.

    Returns (problems, route length in metres in the UTM zone of the route).
    """
    problems: list[Problem] = []
    invalid = None
    if route.empty or route.num_points < 2:
        invalid = _("The route needs at least two points.")
    if invalid:
        return [Problem("route_invalid", invalid, field="route")], 0.0
    srid = utm_srid_for_lon(route.centroid.x)
    length_m, end_gap_m, start_gap_m, ex, ey = _scalar(
        f"""
        WITH r AS (SELECT ST_GeomFromEWKB(%s) AS r), p AS (SELECT geom AS g FROM parcels_parcel WHERE id = %s)
        SELECT ST_Length(ST_Transform(r.r, {srid})),
               ST_Distance(ST_Transform(ST_EndPoint(r.r), {srid}), ST_Transform(p.g, {srid})),
               ST_Distance(ST_Transform(ST_StartPoint(r.r), {srid}), ST_Transform(p.g, {srid})),
               ST_X(ST_EndPoint(r.r)), ST_Y(ST_EndPoint(r.r))
        FROM r, p
        """,  # noqa: S608 - srid is an int computed above
        [bytes(route.ewkb), parcel.pk],
    )
    limit = settings.PARCEL_ROUTE_MAX_GAP_M
    if end_gap_m > limit:
        hint = ""
        if start_gap_m <= limit:
            hint = " " + _("Its start is at the parcel: draw it from the network's connection point to the parcel.")
        problems.append(
            Problem(
                "route_far",
                _("The route ends at %(point)s, %(gap).0f m from the parcel; it must end within %(limit).0f m.")
                % {"point": _fmt_point(ex, ey), "gap": end_gap_m, "limit": limit}
                + hint,
                field="route",
            )
        )
    return problems, length_m


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------

EXPORT_CSV_FIELDS = [
    "id",
    "facility_id",
    "region__kato",
    "district__kato",
    "cadastral_number",
    "status",
    "declared_area_ha",
    "computed_area_ha",
    "area_srid",
    "land_category",
    "right_type",
    "act_number",
    "act_date",
    "issuing_akimat",
    "term_years",
    "is_demo",
    "notes",
]


def parcel_export(*, queryset: QuerySet, fmt: str) -> tuple[bytes, str, str]:
    """(content, media type, file name) of the parcels in `queryset` (already scoped and filtered), EPSG:4326.

    GeoJSON is built in PostGIS; GeoPackage and zipped Shapefile are converted
    from it by ogr2ogr; CSV carries the boundary as WKT (column `wkt`).
    """
    import csv
    import io

    from django.contrib.gis.db.models.functions import AsWKT

    from parcels.io import geojson_convert

    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([f.replace("__", "_") for f in EXPORT_CSV_FIELDS] + ["wkt"])
        for row in queryset.annotate(wkt=AsWKT("geom", precision=7)).values_list(*EXPORT_CSV_FIELDS, "wkt"):
            writer.writerow(row)
        return buffer.getvalue().encode("utf-8"), "text/csv; charset=utf-8", "parcels.csv"
    from gis_portal.geo.geojson import feature_collection

    text = feature_collection(
        queryset, geometry="geom", properties=[f for f in EXPORT_CSV_FIELDS if f != "id"], precision=7
    )
    if fmt == "geojson":
        return text.encode("utf-8"), "application/geo+json", "parcels.geojson"
    if fmt == "gpkg":
        return geojson_convert(geojson_text=text, driver="GPKG"), "application/geopackage+sqlite3", "parcels.gpkg"
    if fmt == "shp":
        return geojson_convert(geojson_text=text, driver="ESRI Shapefile"), "application/zip", "parcels_shp.zip"
    raise ValueError(fmt)
