"""The layers of measures 5 and 6: land parcels and their infrastructure links (signed-in users only).

Rows are scoped to the reader's region by accounts.permissions (akimat users: their own region).
The same declaration feeds the API (reads of /api/v1/parcels/, whose writes api.v1.parcels adds),
the tiles, the working maps and the parcel exports, so a parcel has the same property names
everywhere.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from gis_portal.geo.collections import Collection, Filter, register
from parcels.models import LINK_STORED_PROPERTIES, PARCEL_STORED_PROPERTIES, InfrastructureLink, Parcel

DEMO_FILTER_HELP = _("demo rows only (true) or official rows only (false)")

# A parcel's properties are all stored with the row, its region's and district's KATO codes included; a
# link's region code is read with each page.
PARCEL_PROPERTIES = dict(PARCEL_STORED_PROPERTIES.members)
LINK_PROPERTIES = {**LINK_STORED_PROPERTIES.members, "region": "region__kato"}


def _parcels():
    return Parcel.objects.all()


def _links():
    return InfrastructureLink.objects.all()


def collections_register() -> None:
    register(
        Collection(
            id="parcels",
            title=_("Land parcels"),
            description=_("Land parcels allocated (or proposed) for the facilities. Signed-in users only."),
            selector=_parcels,
            geometry="geom",
            geometry_type="MultiPolygon",
            stored_geojson="geom_geojson",
            stored_properties=PARCEL_STORED_PROPERTIES,
            public=False,
            region_field="region",
            public_properties=PARCEL_PROPERTIES,
            filters={
                "region": Filter(("region__kato",), "kato", _("region KATO code(s)")),
                "district": Filter(("district__kato",), "kato", _("district KATO code(s)")),
                "status": Filter(("status",), "code", _("parcel status(es)")),
                "facility": Filter(("facility_id",), "int", _("facility id(s)")),
                "is_demo": Filter(("is_demo",), "bool", DEMO_FILTER_HELP),
                "name": Filter(
                    ("cadastral_number",), "text", _("part of the cadastral number"), reads=("cadastral_number",)
                ),
            },
            ordering={"id": "pk", "updated_at": "updated_at", "status": "status"},
            updated_field="updated_at",
            rest_mounted_here=False,
            tiles=True,
            property_types={
                "facility": "integer",
                "version": "integer",
                "is_demo": "boolean",
                "declared_area_ha": "number",
                "computed_area_ha": "number",
            },
        )
    )
    register(
        Collection(
            id="infrastructure-links",
            title=_("Infrastructure links"),
            description=_("Utility connections of the parcels, with their routes. Signed-in users only."),
            selector=_links,
            geometry="route",
            geometry_type="LineString",
            stored_geojson="route_geojson",
            stored_properties=LINK_STORED_PROPERTIES,
            public=False,
            region_field="region",
            public_properties=LINK_PROPERTIES,
            filters={
                "region": Filter(("region__kato",), "kato", _("region KATO code(s)")),
                "status": Filter(("status",), "code", _("link status(es)")),
                "utility": Filter(("utility_id",), "code", _("utility code(s)")),
                "parcel": Filter(("parcel_id",), "int", _("parcel id(s)")),
                "is_demo": Filter(("is_demo",), "bool", DEMO_FILTER_HELP),
            },
            ordering={"id": "pk", "updated_at": "updated_at", "status": "status"},
            updated_field="updated_at",
            property_types={
                "parcel": "integer",
                "version": "integer",
                "required": "boolean",
                "is_demo": "boolean",
                "route_length_m": "number",
            },
        )
    )
