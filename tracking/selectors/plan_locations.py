"""Where a plan row's object may stand: inside the row's region and district (PostGIS, EPSG:4326).

The rule is the facilities' own (facilities.checks.facility_location_check: covered by the region and
district, with the border tolerance and the swapped-coordinates hint), so a row that passes here gives a
facility that passes every facility write path when approval creates it.
"""

from __future__ import annotations

from django.contrib.gis.geos import Point

from facilities.checks import facility_location_check
from layers.models import District, Region


def plan_location_problems(*, location: Point, region_id: int, district_id: int | None) -> list[str]:
    """Why `location` (EPSG:4326, longitude/latitude in degrees) cannot be a row's object in that region
    and district; empty when it lies inside both (on the boundary counts as inside)."""
    region = Region.objects.filter(pk=region_id).first()
    if region is None:
        return []
    district = District.objects.filter(pk=district_id).first() if district_id is not None else None
    report = facility_location_check(
        location=Point(location.x, location.y, srid=4326), region=region, district=district
    )
    return [p.message for p in report.problems]
