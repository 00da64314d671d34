"""DEMO facilities: a draft split of every construction quota over its regions, sited near real settlements.

Every row written here is flagged `is_demo`; nothing official is touched. Seeders only (management
command `load_demo_data`, scripts/run, the tests' session fixture). Coordinates are EPSG:4326
(longitude, latitude in degrees); offsets are in kilometres.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from django.contrib.gis.geos import Point
from django.db import transaction

from facilities.checks import facility_location_check
from facilities.models import ConstructionQuota, Facility
from gis_portal.demo import register
from layers.models import Region, Settlement
from layers.settlement_selectors import GEONAMES_SOURCE


def quota_split(*, count: int, region_ids: list[int]) -> list[int]:
    """A draft split of `count` objects over the named regions: each gets one, the rest go round-robin.

    Returns the region id of each object in order. Every construction measure of
    the order has at least as many objects as regions, so each region gets one.
    """
    if count < len(region_ids):
        raise ValueError(f"{count} objects cannot cover {len(region_ids)} regions")
    return [region_ids[i % len(region_ids)] for i in range(count)]


PLACES_RANGE = {
    "year_round_health_centre": (200, 400),
    "health_centre": (150, 300),
    "innovative_creative_centre": (300, 600),
    "art_school": (200, 450),
}

# Offsets (km) for facilities sited in the same settlement, so markers do not coincide.
_OFFSET_KM = 1.5


@dataclass(frozen=True)
class DemoResult:
    facilities: int
    located: int


def _demo_location(*, region: Region, settlements: list[Settlement], index: int) -> Point | None:
    """Point near the index-th largest settlement of the region (or its centre), offset on a ring.

    The offset shrinks until the point lies inside the region polygon, so a
    settlement near a border never puts a facility into the neighbouring region.
    """
    if settlements:
        anchor = settlements[index % len(settlements)].location
        ring = index // len(settlements) + 1
    elif region.centre is not None:
        anchor, ring = region.centre, index + 1
    else:
        return None
    angle = math.radians((index * 137.5) % 360)  # golden angle spreads points evenly around the anchor
    for km in (_OFFSET_KM * ring, _OFFSET_KM * ring / 2, _OFFSET_KM / 4, 0.0):
        dlat = km * math.sin(angle) / 111.32
        dlon = km * math.cos(angle) / (111.32 * math.cos(math.radians(anchor.y)))
        point = Point(anchor.x + dlon, anchor.y + dlat, srid=4326)
        if region.geom is None or region.geom.contains(point):
            return point
    return anchor


@transaction.atomic
def demo_data_create(*, seed: int = 191) -> DemoResult:
    """Replace the demo facilities with a draft split of every construction quota over its regions.

    Every row is flagged `is_demo`; nothing official is touched. Locations are
    near real settlements (GeoNames) inside the region; each goes through the location check of every
    facility (facilities.checks), which also gives its district. A point the check refuses is an error
    of this module: it raises ValueError rather than load a facility outside its region.
    """
    rng = random.Random(seed)
    Facility.objects.filter(is_demo=True).delete()
    quotas = ConstructionQuota.objects.select_related("measure", "object_kind").prefetch_related("regions")
    per_region_index: dict[int, int] = {}
    per_measure_region: dict[tuple[int, int], int] = {}
    settlements_by_region: dict[int, list[Settlement]] = {}
    # GeoNames only: the demo sites stay where they were before the OSM places were bundled.
    geonames = Settlement.objects.filter(source=GEONAMES_SOURCE, region__isnull=False, population__gt=0)
    for settlement in geonames.order_by("-population"):
        settlements_by_region.setdefault(settlement.region_id, []).append(settlement)
    regions = {r.id: r for r in Region.objects.all()}
    rows: list[Facility] = []
    for quota in quotas:
        region_ids = [r.id for r in sorted(quota.regions.all(), key=lambda r: r.kato)]
        low, high = PLACES_RANGE.get(quota.object_kind_id, (150, 400))
        for number, region_id in enumerate(quota_split(count=quota.count, region_ids=region_ids)):
            index = per_region_index.get(region_id, 0)
            per_region_index[region_id] = index + 1
            region = regions[region_id]
            key = (quota.measure_id, region_id)
            n = per_measure_region[key] = per_measure_region.get(key, 0) + 1
            rows.append(
                Facility(
                    kind=quota.object_kind,
                    measure=quota.measure,
                    region=region,
                    name_kk=f"{quota.object_kind.name_kk} ({region.name_kk})",
                    name_ru=f"{quota.object_kind.name_ru} ({region.name_ru})",
                    name_en=f"{quota.object_kind.name_en} ({region.name_en})",
                    places=rng.randrange(low, high, 10),
                    is_ppp=number < quota.ppp_count,
                    location=_demo_location(
                        region=region, settlements=settlements_by_region.get(region_id, []), index=index
                    ),
                    planned_year=min(max(quota.measure.deadline_end.year, 2024), 2026),
                    # A plan reference as a land office would write it in a file (unique: measure, region, n).
                    reference=f"DEMO-{quota.measure_id}-{region.kato}-{n}",
                    is_demo=True,
                )
            )
    for row in rows:
        report = facility_location_check(location=row.location, region=row.region, district=None)
        if report.problems:
            raise ValueError(f"demo facility {row.reference}: {report.problems[0].message}")
        row.district_id = report.district_id
    Facility.objects.bulk_create(rows)
    _demo_names_by_district()
    return DemoResult(facilities=len(rows), located=sum(1 for row in rows if row.location is not None))


def _demo_names_by_district() -> None:
    """Name demo facilities after their district, numbering duplicates, in all three languages."""
    seen: dict[tuple, int] = {}
    facilities = list(Facility.objects.filter(is_demo=True).select_related("kind", "district", "region"))
    for facility in facilities:
        place = facility.district or facility.region
        key = (facility.kind_id, place.pk, type(place).__name__)
        seen[key] = seen.get(key, 0) + 1
        suffix = f" № {seen[key]}" if seen[key] > 1 else ""
        for lang in ("kk", "ru", "en"):
            kind_name = getattr(facility.kind, f"name_{lang}")
            kind_name = kind_name[:1].upper() + kind_name[1:]
            setattr(facility, f"name_{lang}", f"{kind_name} — {getattr(place, f'name_{lang}')}{suffix}")
    Facility.objects.bulk_update(facilities, ["name_kk", "name_ru", "name_en"])


# --- removal (manage.py demo_data --remove): facilities last, every other app's rows depend on them ---
register(label="facilities.Facility", order=90, rows=lambda: Facility.objects.filter(is_demo=True))
