"""The geometry rules of parcel boundaries and infrastructure routes, one small function per rule.

`parcel_geometry_check` and `link_route_check` compose the rules in a fixed order; the
services call those two, never a single rule. A rule answers with a Problem in words a
land officer understands, or None when it holds.

Spatial maths runs in PostGIS: through GeoDjango functions where the ORM can say it (the
overlap with other parcels, a route's length and its gaps to the parcel), otherwise through
the SQL statements below, one named constant each, every value a bound parameter.

CRS: boundaries and routes are EPSG:4326; areas and lengths are measured in the UTM zone of
the geometry (parcels.geometry.utm_srid_for_lon), in m² and m; areas are reported in ha.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.gis.db.models.functions import Area, Distance, Intersection, Length, PointOnSurface, Transform
from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import connection
from django.db.models import FloatField
from django.utils.translation import gettext as _

from facilities.models import Facility
from layers.models import District, Region
from layers.placement import inside_kazakhstan_if_swapped
from parcels.geometry import utm_srid_for_lon
from parcels.models import Parcel, ParcelStatus

# ---------------------------------------------------------------------------
# SQL (PostGIS functions GeoDjango has no expression for)
# ---------------------------------------------------------------------------

# Whether the boundary is valid, and if not why and where (ST_IsValidDetail).
VALIDITY_SQL = (
    "SELECT d.valid, d.reason, ST_X(d.location), ST_Y(d.location) FROM ST_IsValidDetail(ST_GeomFromEWKB(%(geom)s)) d"
)

# ST_MakeValid, keeping only the polygonal parts, as a MultiPolygon.
REPAIR_SQL = "SELECT ST_AsEWKB(ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_GeomFromEWKB(%(geom)s)), 3)))"

# The area in m² in the UTM zone `srid`.
AREA_SQL = "SELECT ST_Area(ST_Transform(ST_GeomFromEWKB(%(geom)s), %(srid)s))"

# Inside Kazakhstan = inside the union of the region polygons (only those touching the parcel are
# unioned): the area outside it (m²), a point of that part, and how many regions the parcel touches.
OUTSIDE_KAZAKHSTAN_SQL = """
    WITH g AS (SELECT ST_GeomFromEWKB(%(geom)s) AS g),
    r AS (SELECT ST_Union(r.geom) AS u, count(*) AS n FROM layers_region r, g
          WHERE r.geom && g.g AND ST_Intersects(r.geom, g.g))
    SELECT ST_Area(ST_Transform(d, %(srid)s)), ST_X(ST_PointOnSurface(d)), ST_Y(ST_PointOnSurface(d)), n
    FROM (SELECT CASE WHEN r.u IS NULL THEN g.g ELSE ST_Difference(g.g, r.u) END AS d, r.n FROM g, r) s
"""

# Region and district of a point on the parcel's surface, and the part of the parcel outside the
# facility's region and district (area in m² and a point of it).
PLACEMENT_SQL = """
    WITH g AS (SELECT ST_GeomFromEWKB(%(geom)s) AS g, ST_PointOnSurface(ST_GeomFromEWKB(%(geom)s)) AS p)
    SELECT (SELECT r.id FROM layers_region r WHERE ST_Intersects(r.geom, g.p) ORDER BY r.id LIMIT 1),
           (SELECT d.id FROM layers_district d WHERE ST_Intersects(d.geom, g.p) ORDER BY d.id LIMIT 1),
           ST_Area(ST_Transform(rd.d, %(srid)s)), ST_X(ST_PointOnSurface(rd.d)), ST_Y(ST_PointOnSurface(rd.d)),
           ST_Area(ST_Transform(dd.d, %(srid)s)), ST_X(ST_PointOnSurface(dd.d)), ST_Y(ST_PointOnSurface(dd.d))
    FROM g
    LEFT JOIN LATERAL (SELECT ST_Difference(g.g, r.geom) AS d FROM layers_region r WHERE r.id = %(region_id)s) rd
        ON TRUE
    LEFT JOIN LATERAL (SELECT ST_Difference(g.g, d.geom) AS d FROM layers_district d WHERE d.id = %(district_id)s) dd
        ON TRUE
"""


# ---------------------------------------------------------------------------
# Results
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
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


@dataclass(frozen=True)
class ParcelShape:
    """A valid boundary with what the rules measure against: its EWKB, UTM zone, area and centre."""

    geom: GEOSGeometry
    ewkb: bytes
    srid: int
    area_m2: float
    centre: Point


@dataclass(frozen=True)
class KazakhstanFit:
    outside_m2: float | None  # area of the parcel outside every region
    outside_x: float | None  # a point of that part
    outside_y: float | None
    regions_touched: int


@dataclass(frozen=True)
class Placement:
    region_id: int | None  # the region and district of a point on the parcel's surface
    district_id: int | None
    outside_region_m2: float | None  # the part outside the facility's region, and a point of it
    region_x: float | None
    region_y: float | None
    outside_district_m2: float | None  # the part outside the facility's district, and a point of it
    district_x: float | None
    district_y: float | None


def _fmt_point(x: float, y: float) -> str:
    return f"{y:.6f}° N, {x:.6f}° E"


def _fetch_one(sql: str, params: dict) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


# ---------------------------------------------------------------------------
# Measures (what the rules decide on)
# ---------------------------------------------------------------------------


def parcel_shape_measure(*, geom: GEOSGeometry) -> ParcelShape:
    """The boundary's UTM zone and its area there (a valid boundary, EPSG:4326)."""
    ewkb = bytes(geom.ewkb)
    srid = utm_srid_for_lon(geom.centroid.x)
    (area_m2,) = _fetch_one(AREA_SQL, {"geom": ewkb, "srid": srid})
    return ParcelShape(geom=geom, ewkb=ewkb, srid=srid, area_m2=area_m2, centre=geom.centroid)


def kazakhstan_fit_measure(*, shape: ParcelShape) -> KazakhstanFit:
    outside_m2, x, y, n_regions = _fetch_one(OUTSIDE_KAZAKHSTAN_SQL, {"geom": shape.ewkb, "srid": shape.srid})
    return KazakhstanFit(outside_m2=outside_m2, outside_x=x, outside_y=y, regions_touched=n_regions)


def facility_placement_measure(*, shape: ParcelShape, facility: Facility | None) -> Placement:
    """Region and district of the parcel; with a facility, also the parts outside its region and district."""
    row = _fetch_one(
        PLACEMENT_SQL,
        {
            "geom": shape.ewkb,
            "srid": shape.srid,
            "region_id": facility.region_id if facility else None,
            "district_id": facility.district_id if facility else None,
        },
    )
    return Placement(*row)


def _outside_share_large(outside_m2: float | None, shape: ParcelShape) -> bool:
    # Boundaries are digitised at different scales: up to 0.5 % (at least 1 m²) across a border is noise.
    return (outside_m2 or 0) > max(1.0, 0.005 * shape.area_m2)


# ---------------------------------------------------------------------------
# Rules of a parcel boundary, in the order parcel_geometry_check applies them
# ---------------------------------------------------------------------------


def geometry_validity(*, geom: GEOSGeometry) -> Problem | None:
    """ST_IsValidDetail: None when valid, else a problem naming the reason and where it is."""
    valid, reason, x, y = _fetch_one(VALIDITY_SQL, {"geom": bytes(geom.ewkb)})
    if valid:
        return None
    where = (" " + _("near %(point)s") % {"point": _fmt_point(x, y)}) if x is not None else ""
    # No advice here: where a repair is offered (the parcel form's button, the import preview's
    # checkbox) the page says how to use it; the API and the import command have none.
    return Problem(
        "invalid",
        _("The boundary is not a valid polygon (%(reason)s)%(where)s.") % {"reason": reason, "where": where},
    )


def kazakhstan_outside_check(*, shape: ParcelShape) -> Problem:
    """For a parcel that touches no region: a hint at swapped latitude/longitude, else 'outside Kazakhstan'."""
    c = shape.centre
    if inside_kazakhstan_if_swapped(geom=shape.geom):
        return Problem(
            "swapped",
            _(
                "The parcel is at latitude %(lat).6f, longitude %(lon).6f, outside Kazakhstan; with latitude "
                "and longitude swapped it would be inside. Check the column order (longitude first) or the CRS."
            )
            % {"lat": c.y, "lon": c.x},
        )
    return Problem(
        "outside_kz",
        _("The parcel (centre %(point)s) lies outside Kazakhstan. Check the coordinates and the CRS.")
        % {"point": _fmt_point(c.x, c.y)},
    )


def kazakhstan_partly_outside_check(*, fit: KazakhstanFit) -> Problem | None:
    """More than 1 m² of a parcel that touches a region lies outside every region."""
    if not (fit.outside_m2 and fit.outside_m2 > 1.0):
        return None
    return Problem(
        "outside_kz",
        _("%(area).0f m² of the parcel lie outside Kazakhstan, for example at %(point)s.")
        % {"area": fit.outside_m2, "point": _fmt_point(fit.outside_x, fit.outside_y)},
    )


def facility_region_check(*, shape: ParcelShape, facility: Facility, placement: Placement) -> Problem | None:
    """The parcel lies in the facility's region (its point on the surface, and all but a sliver of it)."""
    if placement.region_id == facility.region_id and not _outside_share_large(placement.outside_region_m2, shape):
        return None
    region = facility.region
    actual = Region.objects.filter(pk=placement.region_id).first()
    c = shape.centre
    return Problem(
        "outside_region",
        _(
            "The parcel must lie in %(region)s, the region of the facility, but %(area).0f m² lie outside it "
            "(e.g. at %(point)s%(actual)s)."
        )
        % {
            "region": region.name,
            "area": placement.outside_region_m2 or shape.area_m2,
            "point": _fmt_point(placement.region_x, placement.region_y)
            if placement.region_x is not None
            else _fmt_point(c.x, c.y),
            "actual": (", " + _("in %(name)s") % {"name": actual.name}) if actual and actual != region else "",
        },
    )


def facility_district_check(*, shape: ParcelShape, facility: Facility, placement: Placement) -> Problem | None:
    """The parcel lies in the facility's district, when the facility has one."""
    if not facility.district_id:
        return None
    if placement.district_id == facility.district_id and not _outside_share_large(placement.outside_district_m2, shape):
        return None
    declared = facility.district
    actual = District.objects.filter(pk=placement.district_id).first()
    if actual is not None and actual.pk != declared.pk:
        where = _("it lies in %(name)s") % {"name": actual.name}
    else:
        where = _("%(area).0f m² lie outside it") % {"area": placement.outside_district_m2 or 0}
    c = shape.centre
    return Problem(
        "outside_district",
        _("The parcel must lie in %(district)s, the district of the facility, but %(where)s (e.g. at %(point)s).")
        % {
            "district": declared.name,
            "where": where,
            "point": _fmt_point(placement.district_x, placement.district_y)
            if placement.district_x is not None
            else _fmt_point(c.x, c.y),
        },
    )


def parcel_overlap_check(*, shape: ParcelShape, exclude_parcel_id: int | None) -> list[Problem]:
    """One problem per active parcel the boundary overlaps (largest first); touching edges are fine."""
    geom = shape.geom
    others = (
        Parcel.objects.exclude(status=ParcelStatus.REVOKED)
        .exclude(pk=exclude_parcel_id or 0)
        .filter(geom__bboverlaps=geom, geom__intersects=geom)
        .exclude(geom__touches=geom)
        .annotate(
            overlap_m2=Area(Transform(Intersection("geom", geom), shape.srid), output_field=FloatField()),
            overlap_point=PointOnSurface(Intersection("geom", geom)),
        )
        .order_by("-overlap_m2")
        .values_list("pk", "cadastral_number", "overlap_m2", "overlap_point")
    )
    problems = []
    for other_id, cadastral, overlap_m2, point in others:
        if overlap_m2 is None or overlap_m2 < 0.01:
            continue  # a shared edge digitised slightly differently, not an overlap
        problems.append(
            Problem(
                "overlap",
                _("The parcel overlaps active parcel %(name)s by %(m2).1f m² (%(ha).4f ha), around %(point)s.")
                % {
                    "name": cadastral or _("#%(id)s (no cadastral number yet)") % {"id": other_id},
                    "m2": overlap_m2,
                    "ha": overlap_m2 / 10_000,
                    "point": _fmt_point(point.x, point.y),
                },
            )
        )
    return problems


def parcel_size_check(*, shape: ParcelShape) -> Problem | None:
    """The area is plausible for a facility's parcel (PARCEL_AREA_MIN_HA … PARCEL_AREA_MAX_HA)."""
    area_ha = shape.area_m2 / 10_000
    if settings.PARCEL_AREA_MIN_HA <= area_ha <= settings.PARCEL_AREA_MAX_HA:
        return None
    return Problem(
        "implausible_size",
        _(
            "The parcel's area is %(area).4f ha; a parcel for a facility is expected to be between "
            "%(min)s and %(max)s ha. Check the units and the CRS."
        )
        % {"area": area_ha, "min": settings.PARCEL_AREA_MIN_HA, "max": settings.PARCEL_AREA_MAX_HA},
    )


def declared_area_check(*, shape: ParcelShape, declared_area_ha: Decimal | float | None) -> Problem | None:
    """Warning only: the declared area differs from the drawn one by more than PARCEL_AREA_WARN_RATIO."""
    area_ha = shape.area_m2 / 10_000
    if not declared_area_ha or area_ha <= 0:
        return None
    declared = float(declared_area_ha)
    if abs(declared - area_ha) / area_ha <= settings.PARCEL_AREA_WARN_RATIO:
        return None
    return Problem(
        "area_mismatch",
        _(
            "The declared area (%(declared).4f ha) differs from the area of the drawn boundary "
            "(%(computed).4f ha, EPSG:%(srid)s) by %(pct).1f %%."
        )
        % {
            "declared": declared,
            "computed": area_ha,
            "srid": shape.srid,
            "pct": abs(declared - area_ha) / area_ha * 100,
        },
        field="declared_area_ha",
        severity="warning",
    )


def parcel_geometry_check(
    *,
    geom: GEOSGeometry,
    facility: Facility | None,
    declared_area_ha: Decimal | float | None,
    exclude_parcel_id: int | None = None,
) -> GeometryReport:
    """Every geometry check of a parcel boundary (MultiPolygon, EPSG:4326) for `facility`.

    Order: validity (stops further checks), inside Kazakhstan / swapped axes (a parcel
    touching no region stops further checks), region and district of the facility, overlap
    with active parcels, size plausibility, declared vs computed area (warning only).
    With `facility` None (an imported row whose facility is still to be chosen) the region and
    district rules are left out; region_id/district_id are still those of the parcel's surface.
    """
    report = GeometryReport()
    if geom.srid != 4326:
        raise ValueError("parcel geometry must be EPSG:4326")
    invalid = geometry_validity(geom=geom)
    if invalid:
        report.problems.append(invalid)
        return report  # an invalid polygon has no reliable area or intersection: repaired first
    shape = parcel_shape_measure(geom=geom)
    report.area_srid = shape.srid
    report.computed_area_ha = Decimal(shape.area_m2 / 10_000).quantize(Decimal("0.0001"))

    fit = kazakhstan_fit_measure(shape=shape)
    if fit.regions_touched == 0:
        report.problems.append(kazakhstan_outside_check(shape=shape))
        return report  # the coordinates themselves are wrong; every further finding would repeat that
    found: list[Problem | None] = [kazakhstan_partly_outside_check(fit=fit)]

    placement = facility_placement_measure(shape=shape, facility=facility)
    report.region_id, report.district_id = placement.region_id, placement.district_id
    if facility is not None:
        # A parcel outside the facility's region is not also reported outside its district.
        found.append(
            facility_region_check(shape=shape, facility=facility, placement=placement)
            or facility_district_check(shape=shape, facility=facility, placement=placement)
        )
    found += parcel_overlap_check(shape=shape, exclude_parcel_id=exclude_parcel_id)
    found.append(parcel_size_check(shape=shape))
    found.append(declared_area_check(shape=shape, declared_area_ha=declared_area_ha))
    report.problems += [p for p in found if p is not None]
    return report


def geometry_repair_preview(*, geom: GEOSGeometry) -> GEOSGeometry:
    """ST_MakeValid, keeping only the polygonal parts, as a MultiPolygon (EPSG:4326). Nothing is saved."""
    (ewkb,) = _fetch_one(REPAIR_SQL, {"geom": bytes(geom.ewkb)})
    return GEOSGeometry(memoryview(bytes(ewkb)))


# ---------------------------------------------------------------------------
# Rules of an infrastructure route
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteMeasure:
    length_m: float
    end_gap_m: float  # distance of the route's end from the parcel
    start_gap_m: float  # distance of the route's start from the parcel
    end: Point


def route_points_check(*, route: GEOSGeometry) -> Problem | None:
    if route.empty or route.num_points < 2:
        return Problem("route_invalid", _("The route needs at least two points."), field="route")
    return None


def route_measure(*, route: GEOSGeometry, parcel: Parcel) -> RouteMeasure:
    """Length of the route and the gaps of its ends to the parcel, in metres in the UTM zone of the route."""
    srid = utm_srid_for_lon(route.centroid.x)
    start, end = Point(route[0], srid=route.srid), Point(route[-1], srid=route.srid)
    parcel_utm = Transform("geom", srid)
    length_m, end_gap_m, start_gap_m = (
        Parcel.objects.filter(pk=parcel.pk)
        .annotate(
            route_length_m=Length(Transform(route, srid), output_field=FloatField()),
            end_gap_m=Distance(Transform(end, srid), parcel_utm, output_field=FloatField()),
            start_gap_m=Distance(Transform(start, srid), parcel_utm, output_field=FloatField()),
        )
        .values_list("route_length_m", "end_gap_m", "start_gap_m")
        .get()
    )
    return RouteMeasure(length_m=length_m, end_gap_m=end_gap_m, start_gap_m=start_gap_m, end=end)


def route_end_check(*, measure: RouteMeasure) -> Problem | None:
    """The route ends within PARCEL_ROUTE_MAX_GAP_M metres of the parcel (it runs from the network to the parcel)."""
    limit = settings.PARCEL_ROUTE_MAX_GAP_M
    if measure.end_gap_m <= limit:
        return None
    hint = ""
    if measure.start_gap_m <= limit:
        hint = " " + _("Its start is at the parcel: draw it from the network's connection point to the parcel.")
    return Problem(
        "route_far",
        _("The route ends at %(point)s, %(gap).0f m from the parcel; it must end within %(limit).0f m.")
        % {"point": _fmt_point(measure.end.x, measure.end.y), "gap": measure.end_gap_m, "limit": limit}
        + hint,
        field="route",
    )


def link_route_check(*, route: GEOSGeometry, parcel: Parcel) -> tuple[list[Problem], float]:
    """Route (LineString, EPSG:4326) checks: its end lies within PARCEL_ROUTE_MAX_GAP_M metres of the parcel.

    Returns (problems, route length in metres in the UTM zone of the route).
    """
    invalid = route_points_check(route=route)
    if invalid:
        return [invalid], 0.0
    measure = route_measure(route=route, parcel=parcel)
    far = route_end_check(measure=measure)
    return ([far] if far else []), measure.length_m
