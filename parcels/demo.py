"""DEMO land parcels and infrastructure links (flagged is_demo) around the demo facilities.

Invented for demonstration, not official records. Every parcel and link goes through the
services (parcel_create, link_create), so the demo data passes the same checks as real data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.gis.geos import LineString, MultiPolygon, Point, Polygon
from django.db import transaction

from facilities.models import Facility
from gis_portal.demo import register
from layers.models import Region
from parcels.geometry import utm_srid_for_lon
from parcels.models import InfrastructureLink, LinkStatus, Parcel, ParcelDocument, ParcelStatus, Utility
from parcels.services import SYSTEM, ParcelValidationError, link_create, parcel_create

DEMO_PROVIDERS = {
    "water": "ГКП «Су арнасы» (DEMO)",
    "sewerage": "ГКП «Су арнасы» (DEMO)",
    "electricity": "АО «Региональная электросетевая компания» (DEMO)",
    "gas": "АО «QazaqGaz Aimaq» (DEMO)",
    "heat": "ТОО «Жылу» (DEMO)",
    "telecom": "АО «Казахтелеком» (DEMO)",
    "road": "ГУ «Отдел ЖКХ, пассажирского транспорта и автодорог» (DEMO)",
}
DEMO_CAPACITY = {
    "water": (Decimal("45"), "m3/day"),
    "sewerage": (Decimal("40"), "m3/day"),
    "electricity": (Decimal("250"), "kW"),
    "gas": (Decimal("120"), "m3/h"),
    "heat": (Decimal("0.8"), "Gcal/h"),
    "telecom": (Decimal("100"), "Mbit/s"),
    "road": (Decimal("350"), "m"),
}


@dataclass
class DemoParcelsResult:
    parcels: int
    links: int
    skipped: int


def _demo_square(point: Point, side_m: float, srid: int) -> MultiPolygon:
    c = point.transform(srid, clone=True)
    h = side_m / 2
    poly = Polygon(
        ((c.x - h, c.y - h), (c.x + h, c.y - h), (c.x + h, c.y + h), (c.x - h, c.y + h), (c.x - h, c.y - h)), srid=srid
    )
    poly.transform(4326)
    return MultiPolygon(poly, srid=4326)


def _demo_route(parcel: Parcel, *, length_m: float, angle_deg: float, srid: int) -> LineString:
    g = parcel.geom.transform(srid, clone=True)
    c = g.centroid
    x0, y0, x1, y1 = g.extent
    half = (x1 - x0) / 2
    a = math.radians(angle_deg)
    end = (c.x + half * math.cos(a), c.y + half * math.sin(a))  # on the parcel's edge (square, axis-aligned) or inside
    end = (min(max(end[0], x0), x1), min(max(end[1], y0), y1))
    start = (end[0] + length_m * math.cos(a), end[1] + length_m * math.sin(a))
    line = LineString(start, end, srid=srid)
    line.transform(4326)
    return line


@transaction.atomic
def demo_parcels_create(*, region_katos: list[str] | None = None, per_region: int = 6) -> DemoParcelsResult:
    """Replace the DEMO parcels and links (is_demo) with squares around demo facilities and a mix of statuses.

    Parcels are 1–5 ha squares (drawn in the UTM zone of the facility) around
    the facility's point; each goes through parcel_create, so it passes every
    check (a parcel that would not — near a border, overlapping — is skipped).
    """
    Parcel.objects.filter(is_demo=True).delete()
    regions = Region.objects.filter(kato__in=region_katos) if region_katos else Region.objects.all()
    utilities = list(Utility.objects.all())
    made = links = skipped = 0
    cycle = [ParcelStatus.ACT_ISSUED, ParcelStatus.ACT_ISSUED, ParcelStatus.ALLOCATED, ParcelStatus.CANDIDATE, None]
    for region in regions.order_by("kato"):
        facilities = list(
            Facility.objects.filter(region=region, is_demo=True, location__isnull=False)
            .select_related("region", "district")
            .order_by("id")[:per_region]
        )
        for index, facility in enumerate(facilities):
            status = cycle[(index + int(region.kato[:2])) % len(cycle)]
            if status is None:
                continue  # some facilities have no parcel yet: they show up in the measure-5 list
            srid = utm_srid_for_lon(facility.location.x)
            side = 100 + 25 * ((facility.pk * 7) % 5)  # 100–200 m: 1–4 ha
            geom = _demo_square(facility.location, side, srid)
            area = Decimal(side * side / 10_000).quantize(Decimal("0.01"))
            district_code = facility.district.kato[2:5] if facility.district_id else "000"
            data = {
                "cadastral_number": f"{region.kato[:2]}-{district_code}-{100 + index:03d}-{facility.pk:04d}"
                if status != ParcelStatus.CANDIDATE
                else "",
                # Every third parcel's declared area is off by 8 %, so the warning can be seen.
                "declared_area_ha": area * Decimal("1.08") if index % 3 == 2 else area,
                "land_category": "settlement",
                "right_type": "temporary_free" if index % 2 else "temporary_paid",
                "status": status,
                "act_number": f"DEMO-{region.kato[:2]}-{facility.pk}" if status == ParcelStatus.ACT_ISSUED else "",
                "act_date": date(2024, 2, 1) + timedelta(days=(facility.pk * 11) % 120)
                if status == ParcelStatus.ACT_ISSUED
                else None,
                "issuing_akimat": f"Akimat — {region.name_en} (DEMO)" if status == ParcelStatus.ACT_ISSUED else "",
                "term_years": 49 if status != ParcelStatus.CANDIDATE else None,
                "notes": "DEMO: invented for demonstration, not an official record.",
            }
            try:
                with transaction.atomic():
                    parcel = parcel_create(user=SYSTEM, facility=facility, geom=geom, data=data, is_demo=True).obj
            except ParcelValidationError:
                skipped += 1
                continue
            made += 1
            if status != ParcelStatus.ACT_ISSUED:
                continue
            for number, utility in enumerate(utilities):
                kind = (index + number) % 4
                capacity, unit = DEMO_CAPACITY.get(utility.code, (None, ""))
                if utility.code == "gas" and index % 2:
                    link_data = {"required": False, "status": LinkStatus.NOT_REQUIRED}
                else:
                    link_status = [
                        LinkStatus.CONNECTED,
                        LinkStatus.UNDER_CONSTRUCTION,
                        LinkStatus.DESIGN,
                        LinkStatus.CONNECTED,
                    ][kind]
                    connected_on = parcel.act_date + timedelta(days=120 + 10 * number)
                    link_data = {
                        "required": True,
                        "status": link_status,
                        "capacity": capacity,
                        "capacity_unit": unit if capacity is not None else "",
                        "provider": DEMO_PROVIDERS.get(utility.code, "DEMO"),
                        "planned_connection_date": connected_on,
                        "cost_kzt": Decimal(5_000_000 + 1_250_000 * number),
                    }
                    if link_status == LinkStatus.CONNECTED:
                        link_data |= {
                            "actual_connection_date": connected_on,
                            "balance_act_number": f"DEMO-BA-{parcel.pk}-{number}",
                            "balance_act_date": connected_on + timedelta(days=3),
                        }
                route = _demo_route(
                    parcel,
                    length_m=150 + 60 * number,
                    angle_deg=number * 51.4,
                    srid=utm_srid_for_lon(facility.location.x),
                )
                try:
                    with transaction.atomic():
                        link_create(
                            user=SYSTEM, parcel=parcel, utility=utility, data=link_data, route=route, is_demo=True
                        )
                    links += 1
                except ParcelValidationError:
                    skipped += 1
    return DemoParcelsResult(made, links, skipped)


# --- removal (manage.py demo_data --remove): documents and links before their parcels -----------------
register(label="parcels.ParcelDocument", order=40, rows=lambda: ParcelDocument.objects.filter(parcel__is_demo=True))
register(label="parcels.InfrastructureLink", order=41, rows=lambda: InfrastructureLink.objects.filter(is_demo=True))
register(label="parcels.Parcel", order=42, rows=lambda: Parcel.objects.filter(is_demo=True))
