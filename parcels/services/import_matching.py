"""How an imported row finds its facility or its parcel, and what an update or a repair would change.

Used by parcels.services.imports.parcels_import, row by row. Reads only.

CRS: geometries are EPSG:4326. Distances, areas and the displacement of a boundary are measured in
PostGIS in the WGS 84 / UTM zone of the parcel (parcels.geometry.utm_srid_for_lon), in metres, m²
and hectares.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance, Transform
from django.contrib.gis.geos import GEOSGeometry
from django.db import connection
from django.db.models import Exists, FloatField, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.permissions import Action, scope_queryset
from facilities.models import Facility
from parcels.geometry import utm_srid_for_lon
from parcels.models import Parcel, ParcelStatus

# How many facilities the preview offers when nothing lies inside or near the parcel.
FALLBACK_CANDIDATES = 10

# Below this displacement (m) a boundary counts as unchanged: a re-export rounds coordinates
# (7 decimals of a degree ≈ 1 cm) and a CRS round trip adds a few millimetres.
SAME_BOUNDARY_M = 0.05

# The region and district of a point on the parcel's surface.
PLACE_SQL = """
    WITH p AS (SELECT ST_PointOnSurface(ST_GeomFromEWKB(%(geom)s)) AS p)
    SELECT (SELECT r.id FROM layers_region r, p WHERE ST_Intersects(r.geom, p.p) ORDER BY r.id LIMIT 1),
           (SELECT d.id FROM layers_district d, p WHERE ST_Intersects(d.geom, p.p) ORDER BY d.id LIMIT 1)
"""

# Two boundaries in the UTM zone `srid`: area of each (m²) and how far apart they are at most
# (Hausdorff distance, m: how far the boundary moved).
COMPARE_SQL = """
    WITH g AS (SELECT ST_Transform(ST_GeomFromEWKB(%(old)s), %(srid)s) AS o,
                      ST_Transform(ST_GeomFromEWKB(%(new)s), %(srid)s) AS n)
    SELECT ST_Area(o), ST_Area(n), ST_HausdorffDistance(o, n) FROM g
"""


@dataclass(frozen=True)
class Candidate:
    """A facility an imported parcel may belong to, and how far its location is from the parcel (m)."""

    facility_id: int
    name: str
    measure: int
    distance_m: float  # 0 when the location lies inside the parcel

    @property
    def distance_text(self) -> str:
        return distance_text(self.distance_m)

    def as_dict(self) -> dict:
        return {"facility": self.facility_id, "name": self.name, "measure": self.measure, "distance_m": self.distance_m}


@dataclass(frozen=True)
class LocationMatch:
    """The facilities a parcel's location points to: `how` is "inside", "near" or "none"."""

    how: str
    candidates: list[Candidate]

    @property
    def matched(self) -> Candidate | None:
        """The one candidate when exactly one lies inside (or, none inside, near); None when the user must choose."""
        return self.candidates[0] if self.how in ("inside", "near") and len(self.candidates) == 1 else None


@dataclass(frozen=True)
class BoundaryChange:
    """Old and new boundary compared: areas in ha, the change in ha and %, the displacement in m."""

    old_ha: Decimal
    new_ha: Decimal
    moved_m: float

    @property
    def change_ha(self) -> Decimal:
        return self.new_ha - self.old_ha

    @property
    def change_pct(self) -> float | None:
        return float(self.change_ha / self.old_ha * 100) if self.old_ha else None

    @property
    def same(self) -> bool:
        return self.moved_m < SAME_BOUNDARY_M

    @property
    def area_text(self) -> str:
        """The area before and after, and the change in ha and %: 4.0000 ha → 4.1000 ha (+0.1000 ha, +2.5 %)."""
        values = {"old": self.old_ha, "new": self.new_ha, "d": self.change_ha, "pct": self.change_pct}
        if self.change_pct is None:
            return _("%(old).4f ha → %(new).4f ha (%(d)+.4f ha)") % values
        return _("%(old).4f ha → %(new).4f ha (%(d)+.4f ha, %(pct)+.1f %%)") % values

    @property
    def text(self) -> str:
        """The change of an updated boundary: its area and how far it moved."""
        return _("boundary: %(area)s, moved by up to %(moved)s") % {
            "area": self.area_text,
            "moved": distance_text(self.moved_m),
        }


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: object
    new: object


def distance_text(metres: float) -> str:
    """A distance as people say it: "0.3 m", "350 m", "1.2 km"."""
    if metres < 10:
        return _("%(m).1f m") % {"m": metres}
    if metres < 1000:
        return _("%(m).0f m") % {"m": metres}
    return _("%(km).1f km") % {"km": metres / 1000}


def editable_facilities(*, user) -> QuerySet:
    """Facilities whose parcels `user` may write (their region's for an akimat, all for an administrator)."""
    return scope_queryset(user, Facility.objects.select_related("region", "district"), action=Action.EDIT)


def facility_by_reference(*, facilities: QuerySet, reference: str) -> Facility | None:
    """The facility a file names: by its reference number (any case), else by its internal id; None if neither."""
    if not reference:
        return None
    found = facilities.filter(reference__iexact=reference).first()
    if found is None and reference.isdigit():
        found = facilities.filter(pk=int(reference)).first()
    return found


def parcel_by_cadastral(*, user, number: str) -> Parcel | None:
    """The active parcel with this cadastral number that `user` may edit, or None."""
    if not number:
        return None
    parcels = scope_queryset(user, Parcel.objects.select_related("facility"), action=Action.EDIT)
    return parcels.exclude(status=ParcelStatus.REVOKED).filter(cadastral_number=number).first()


def parcel_of_facility(*, user, facility: Facility, number: str) -> Parcel | None:
    """The facility's active parcel that a row naming this facility updates, or None.

    Only when the numbers cannot disagree: the row has no cadastral number (a candidate parcel, as the
    portal exports it) or the parcel has none yet (the act brought one). A row with another number is a
    different parcel: it is checked as a new one (and meets "the facility already has an active parcel").
    """
    parcels = scope_queryset(user, Parcel.objects.select_related("facility"), action=Action.EDIT)
    parcel = parcels.exclude(status=ParcelStatus.REVOKED).filter(facility=facility).first()
    if parcel is None or (number and parcel.cadastral_number and parcel.cadastral_number != number):
        return None
    return parcel


def parcel_place(*, geom: GEOSGeometry) -> tuple[int | None, int | None]:
    """(region id, district id) of a point on the parcel's surface (a valid boundary, EPSG:4326)."""
    with connection.cursor() as cursor:
        cursor.execute(PLACE_SQL, {"geom": bytes(geom.ewkb)})
        return cursor.fetchone()


def facility_location_match(*, facilities: QuerySet, geom: GEOSGeometry) -> LocationMatch:
    """Which of `facilities` the parcel `geom` (valid, EPSG:4326) belongs to, by location.

    Only facilities with a location and no active parcel count. Those whose location lies inside
    the parcel come first; if none does, those within PARCEL_IMPORT_MATCH_DISTANCE_M metres in
    the parcel's district (distance to the boundary, in its UTM zone); if none is near either,
    the nearest FALLBACK_CANDIDATES of the parcel's region, for the user to choose from.
    """
    srid = utm_srid_for_lon(geom.centroid.x)
    active = Parcel.objects.filter(facility=OuterRef("pk")).exclude(status=ParcelStatus.REVOKED)
    free = (
        facilities.filter(location__isnull=False)
        .exclude(Exists(active))
        .annotate(distance_m=Distance(Transform("location", srid), Transform(geom, srid), output_field=FloatField()))
        .order_by("distance_m", "pk")
    )
    inside = list(free.filter(location__intersects=geom))
    if inside:
        return LocationMatch("inside", [_candidate(f, 0.0) for f in inside])
    region_id, district_id = parcel_place(geom=geom)
    if district_id is not None:
        near = free.filter(district_id=district_id, distance_m__lte=settings.PARCEL_IMPORT_MATCH_DISTANCE_M)
        near_list = list(near)
        if near_list:
            return LocationMatch("near", [_candidate(f, f.distance_m) for f in near_list])
    others = free.filter(Q(region_id=region_id) if region_id is not None else Q())[:FALLBACK_CANDIDATES]
    return LocationMatch("none", [_candidate(f, f.distance_m) for f in others])


def _candidate(facility: Facility, distance_m: float) -> Candidate:
    return Candidate(facility.pk, facility.name, facility.measure_id, round(distance_m, 1))


def boundary_compare(*, old: GEOSGeometry, new: GEOSGeometry) -> BoundaryChange:
    """Compare two boundaries (EPSG:4326) in the UTM zone of the old one."""
    srid = utm_srid_for_lon(old.centroid.x)
    with connection.cursor() as cursor:
        cursor.execute(COMPARE_SQL, {"old": bytes(old.ewkb), "new": bytes(new.ewkb), "srid": srid})
        old_m2, new_m2, moved_m = cursor.fetchone()
    q = Decimal("0.0001")
    return BoundaryChange(
        old_ha=Decimal(old_m2 / 10_000).quantize(q), new_ha=Decimal(new_m2 / 10_000).quantize(q), moved_m=moved_m
    )


def parcel_field_changes(*, parcel: Parcel, data: dict, given: set[str], fields: list[str]) -> list[FieldChange]:
    """The fields of `parcel` the file changes: those among `given` (columns the file has) with a value."""
    changes = []
    for name in fields:
        if name not in given or data.get(name) in (None, ""):
            continue  # a column the file lacks, or an empty cell, leaves the stored value alone
        old, new = getattr(parcel, name), data[name]
        if old != new:
            changes.append(FieldChange(name, str(Parcel._meta.get_field(name).verbose_name), old, new))
    return changes
