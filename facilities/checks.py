"""The location rule of facilities: a facility's point lies in its region and, when it has one, its district.

`facility_location_check` is the one check every write path of facilities calls (the facility pages'
and the admin's services, a restore, plan approval, the demo loader); it answers with problems in
words a planner understands and with the district the point lies in (which fills an empty district).

CRS: locations and boundaries are EPSG:4326 (longitude, latitude in degrees). Coverage is PostGIS
ST_Covers (a point on a boundary line counts as inside); the border tolerance is a distance in metres
on the sphere (ST_DistanceSphere, through GeoDjango's Distance on a geodetic field).

The table also carries a coarser guard, `facility_location_in_kazakhstan_bbox` (facilities.models):
whatever writes a row, the point lies in Kazakhstan's bounding box, so 0°, 0° or swapped axes can
never be stored even by a raw UPDATE. The region and district rule cannot be a CHECK constraint (it
reads other tables, and boundaries may be reloaded), hence this function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db.models import FloatField
from django.utils.translation import gettext as _

from facilities.models import KAZAKHSTAN_BBOX
from layers.models import District, Region
from layers.placement import inside_kazakhstan_if_swapped

# Boundaries are generalised (geoBoundaries, 2024): a point this close (metres) to its region or
# district counts as inside it, so a facility on a border street is not refused for the generalisation.
BORDER_TOLERANCE_M = 250.0


@dataclass(frozen=True)
class Problem:
    """One finding about a facility, in words a planner understands; `field` is the form field it concerns."""

    code: str
    message: str
    field: str = "location"


@dataclass
class LocationReport:
    problems: list[Problem] = field(default_factory=list)
    district_id: int | None = None  # the district of the facility's region the point lies in, if any


def point_label(point: Point) -> str:
    """A point as a planner reads it: latitude first, degrees north and east."""
    return f"{point.y:.6f}° N, {point.x:.6f}° E"


def _in_bbox(x: float, y: float) -> bool:
    west, south, east, north = KAZAKHSTAN_BBOX
    return west <= x <= east and south <= y <= north


def _near(model, pk: int, location: Point) -> bool:
    """Is `location` within BORDER_TOLERANCE_M metres of the boundary of region/district `pk`?"""
    distance = (
        model.objects.filter(pk=pk, geom__isnull=False)
        .annotate(d=Distance("geom", location, output_field=FloatField()))
        .values_list("d", flat=True)
        .first()
    )
    return distance is not None and distance <= BORDER_TOLERANCE_M


def _outside_kazakhstan(location: Point, *, boundaries: bool) -> Problem:
    """The point is in no region: a hint at swapped latitude/longitude when that would put it inside."""
    swapped = Point(location.y, location.x, srid=4326)
    if inside_kazakhstan_if_swapped(geom=location) if boundaries else _in_bbox(swapped.x, swapped.y):
        return Problem(
            "swapped",
            _(
                "The location %(point)s lies outside Kazakhstan. Did you mean %(swapped)s? "
                "Longitude and latitude seem swapped."
            )
            % {"point": point_label(location), "swapped": point_label(swapped)},
        )
    return Problem(
        "outside_kz",
        _("The location %(point)s lies outside Kazakhstan. Check the coordinates and their coordinate system.")
        % {"point": point_label(location)},
    )


def _region_problem(*, location: Point, region: Region, found_id: int | None) -> Problem | None:
    if found_id == region.pk or _near(Region, region.pk, location):
        return None
    if found_id is None:
        if region.geom is None and _in_bbox(location.x, location.y):
            return None  # the region's boundary is not loaded: only the bounding box can be checked
        return _outside_kazakhstan(location, boundaries=Region.objects.filter(geom__isnull=False).exists())
    found = Region.objects.get(pk=found_id)
    return Problem(
        "outside_region",
        _("The location %(point)s lies in %(found)s, not in %(region)s, the region of the facility.")
        % {"point": point_label(location), "found": found.name, "region": region.name},
    )


def _district_problem(*, location: Point, district: District, found_id: int | None) -> Problem | None:
    if district.geom is None or found_id == district.pk or _near(District, district.pk, location):
        return None
    found = District.objects.filter(pk=found_id).first()
    where = _("in %(name)s") % {"name": found.name} if found else _("in none of the region's districts")
    return Problem(
        "outside_district",
        _(
            "The location %(point)s lies %(where)s, not in %(district)s, the district of the facility. "
            "Move the point, or leave the district empty to take it from the location."
        )
        % {"point": point_label(location), "where": where, "district": district.name},
    )


def facility_location_check(*, location: Point | None, region: Region, district: District | None) -> LocationReport:
    """Every rule of a facility's place: its district belongs to its region, its point (EPSG:4326) lies in both.

    A facility without a location (planned, not yet sited) is checked for its district only. A point
    outside every region gets the swapped-axes hint when swapping would put it inside. Where the region
    or district has no boundary loaded, only what can be checked is (the bounding box of Kazakhstan).
    `district_id` of the report is the district of `region` covering the point, to fill an empty district.
    """
    report = LocationReport()
    if district is not None and district.region_id != region.pk:
        report.problems.append(
            Problem(
                "district_region",
                _("%(district)s is not a district of %(region)s.") % {"district": district.name, "region": region.name},
                field="district",
            )
        )
    if location is None:
        return report
    if location.srid != 4326:
        raise ValueError("a facility's location must be EPSG:4326")
    x, y = location.x, location.y
    if not (math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90):
        report.problems.append(
            Problem(
                "not_degrees",
                _(
                    "%(x)s, %(y)s are not a longitude and a latitude in degrees; "
                    "choose the coordinate system the coordinates are in."
                )
                % {"x": x, "y": y},
            )
        )
        return report
    found_region = Region.objects.filter(geom__covers=location).order_by("pk").values_list("pk", flat=True).first()
    outside = _region_problem(location=location, region=region, found_id=found_region)
    if outside is not None:
        report.problems.append(outside)
        return report  # a point outside the region is not also reported outside its district
    found_district = (
        District.objects.filter(region_id=region.pk, geom__covers=location)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    report.district_id = found_district
    if district is not None and district.region_id == region.pk:
        problem = _district_problem(location=location, district=district, found_id=found_district)
        if problem is not None:
            report.problems.append(problem)
    return report
