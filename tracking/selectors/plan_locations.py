"""Where a plan row's object may stand: inside the row's region and district (PostGIS, EPSG:4326).

A facility's own location checks (any write path of a facility) are the facilities app's; this
answers the plan row's question only, with the hint the parcel checks give when latitude and
longitude look swapped.
"""

from __future__ import annotations

from django.contrib.gis.geos import Point
from django.utils.translation import gettext as _

from layers.models import District, Region


def _covered(model, *, pk: int, point: Point) -> bool | None:
    """Does the boundary of `model` #pk cover `point`? None when it has no boundary to check against."""
    row = model.objects.filter(pk=pk).values("geom").first()
    if row is None or row["geom"] is None:
        return None
    return model.objects.filter(pk=pk, geom__covers=point).exists()


def plan_location_problems(*, location: Point, region_id: int, district_id: int | None) -> list[str]:
    """Why `location` (EPSG:4326, longitude/latitude in degrees) cannot be a row's object in that region
    and district; empty when it lies inside both (on the boundary counts as inside)."""
    point = Point(location.x, location.y, srid=4326)
    region = Region.objects.filter(pk=region_id).only("name_kk", "name_ru", "name_en").first()
    if region is None:
        return []
    coords = {"lon": f"{point.x:.6f}", "lat": f"{point.y:.6f}"}
    if _covered(Region, pk=region_id, point=point) is False:
        swapped = Point(point.y, point.x, srid=4326)
        if Region.objects.filter(pk=region_id, geom__covers=swapped).exists():
            return [
                _(
                    "the location %(lon)s, %(lat)s is not in the region %(r)s, but with latitude and longitude "
                    "swapped it would be: longitude (east, about 46–88) comes first"
                )
                % {**coords, "r": region.name}
            ]
        elsewhere = Region.objects.filter(geom__covers=point).only("name_kk", "name_ru", "name_en").first()
        if elsewhere is not None:
            return [
                _("the location %(lon)s, %(lat)s is not in the region %(r)s: it lies in %(other)s")
                % {**coords, "r": region.name, "other": elsewhere.name}
            ]
        return [
            _("the location %(lon)s, %(lat)s is not in the region %(r)s: it is outside Kazakhstan")
            % {**coords, "r": region.name}
        ]
    if district_id is not None and _covered(District, pk=district_id, point=point) is False:
        district = District.objects.only("name_kk", "name_ru", "name_en").get(pk=district_id)
        return [_("the location %(lon)s, %(lat)s is not in the district %(d)s") % {**coords, "d": district.name}]
    return []
