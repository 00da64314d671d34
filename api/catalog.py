"""The collections of the portal. Other apps' layers are added here when their models exist."""

from __future__ import annotations

from django.apps import apps
from django.utils.translation import gettext_lazy as _

from api.registry import NAME_FILTER_HELP, Collection, Filter, ParamError, register
from facilities import selectors as facility_selectors
from layers.models import District, Region

NAME_LOOKUPS = ("name_kk", "name_ru", "name_en")


def _regions():
    return Region.objects.all()


def _districts():
    return District.objects.all()


register(
    Collection(
        id="regions",
        title=_("Regions"),
        description=_("The 20 regions and cities of republican significance of the order, with boundaries."),
        selector=_regions,
        geometry="geom",
        geometry_type="MultiPolygon",
        stored_geojson="geom_geojson",
        public_properties={
            "kato": "kato",
            "iso_3166_2": "iso_3166_2",
            "kind": "kind",
            "name_kk": "name_kk",
            "name_ru": "name_ru",
            "name_en": "name_en",
            "boundary_source": "boundary_source",
            "updated_at": "updated_at",
        },
        filters={
            "region": Filter(("kato",), "kato", _("region KATO code(s)")),
            "kind": Filter(("kind",), "code", _("oblast or city")),
            "name": Filter(NAME_LOOKUPS, "text", NAME_FILTER_HELP),
        },
        ordering={"id": "pk", "kato": "kato", "name_kk": "name_kk", "name_ru": "name_ru", "name_en": "name_en"},
        default_ordering="kato",
        updated_field="updated_at",
    )
)

register(
    Collection(
        id="districts",
        title=_("Districts"),
        description=_("Districts and cities of regional significance, with boundaries."),
        selector=_districts,
        geometry="geom",
        geometry_type="MultiPolygon",
        stored_geojson="geom_geojson",
        public_properties={
            "kato": "kato",
            "region": "region__kato",
            "name_kk": "name_kk",
            "name_ru": "name_ru",
            "name_en": "name_en",
            "boundary_source": "boundary_source",
            "updated_at": "updated_at",
        },
        filters={
            "region": Filter(("region__kato",), "kato", _("region KATO code(s)")),
            "district": Filter(("kato",), "kato", _("district KATO code(s)")),
            "name": Filter(NAME_LOOKUPS, "text", NAME_FILTER_HELP),
        },
        ordering={"id": "pk", "kato": "kato", "name_kk": "name_kk", "name_ru": "name_ru", "name_en": "name_en"},
        default_ordering="kato",
        updated_field="updated_at",
    )
)

# Public facility fields: the same rule as the public map (facilities.selectors.PUBLIC_FACILITY_PROPERTIES,
# checked by tests/api/test_public_fields.py); output names drop the ORM suffixes.
FACILITY_PUBLIC = {
    "name_kk": "name_kk",
    "name_ru": "name_ru",
    "name_en": "name_en",
    "kind": "kind_id",
    "measure": "measure_id",
    "region": "region__kato",
    "places": "places",
    "planned_year": "planned_year",
    "is_demo": "is_demo",
}

FACILITY_FILTERS = {
    "region": Filter(("region__kato",), "kato", _("region KATO code(s)")),
    "district": Filter(("district__kato",), "kato", _("district KATO code(s)")),
    "measure": Filter(("measure_id",), "int", _("measure number(s), 14–26")),
    "kind": Filter(("kind_id",), "code", _("facility kind code(s)")),
    "planned_year": Filter(("planned_year",), "int", _("planned year(s)")),
    "is_demo": Filter(("is_demo",), "bool", _("demo rows only (true) or official rows only (false)")),
    "name": Filter(NAME_LOOKUPS, "text", NAME_FILTER_HELP),
}
FACILITY_TRACKING_PUBLIC: dict = {}
FACILITY_ALSO_UPDATED: tuple[str, ...] = ()

# Construction tracking (issue 4): the latest stage reached and the actual opening date are
# public (the public map shows them); computed in SQL from the TrackedFacility snapshot columns.
if apps.is_installed("tracking"):
    from django.db.models import Case, CharField, Q, Value, When

    from tracking.models import STAGE_FIELD, STAGE_ORDER

    def _stage_reached(stage: str) -> Q:
        later = STAGE_ORDER[STAGE_ORDER.index(stage) + 1 :]
        condition = Q(**{f"tracking__{STAGE_FIELD[stage]}__isnull": False})
        for other in later:
            condition &= Q(**{f"tracking__{STAGE_FIELD[other]}__isnull": True})
        return condition

    def _stage_filter(values: list) -> Q:
        unknown = [v for v in values if v not in STAGE_ORDER]
        if unknown:
            raise ParamError("stage", f"{unknown[0]!r} is not a stage; use one of {', '.join(STAGE_ORDER)}")
        condition = Q(pk__in=[])
        for value in values:
            condition |= _stage_reached(value)
        return condition

    FACILITY_TRACKING_PUBLIC = {
        "stage": Case(
            *(When(_stage_reached(stage), then=Value(stage)) for stage in reversed(STAGE_ORDER)),
            default=Value(None),
            output_field=CharField(),
        ),
        "opened_on": "tracking__opened_on",
    }
    FACILITY_FILTERS["stage"] = Filter((), "code", _("latest stage reached"), condition=_stage_filter)
    FACILITY_ALSO_UPDATED = ("tracking__updated_at",)

register(
    Collection(
        id="facilities",
        title=_("Facilities"),
        description=_(
            "Health and creative facilities built under construction measures 14–26. "
            "Rows flagged is_demo are invented demonstration data, not official records."
        ),
        selector=facility_selectors.facility_list,
        geometry="location",
        geometry_type="Point",
        stored_geojson="location_geojson",
        public_properties={**FACILITY_PUBLIC, **FACILITY_TRACKING_PUBLIC},
        private_properties={
            "district": "district__kato",
            "is_ppp": "is_ppp",
            "created_at": "created_at",
            "updated_at": "updated_at",
        },
        region_field="region",
        filters=FACILITY_FILTERS,
        ordering={
            "id": "pk",
            "name_kk": "name_kk",
            "name_ru": "name_ru",
            "name_en": "name_en",
            "places": "places",
            "planned_year": "planned_year",
            "measure": "measure_id",
            "updated_at": "updated_at",
        },
        default_ordering="id",
        updated_field="updated_at",
        also_updated=FACILITY_ALSO_UPDATED,
        tiles=True,
        property_types={
            "measure": "integer",
            "places": "integer",
            "planned_year": "integer",
            "is_demo": "boolean",
            "is_ppp": "boolean",
        },
    )
)


# --- Layers of other apps, registered when the app is installed ---------------------------------
# Parcels and infrastructure links (issue 3) are not public: only signed-in users with a role
# read them, rows scoped to their region by accounts.permissions.scope_queryset. The parcels app
# mounts /api/v1/parcels/ itself (token writes on the same path) and reads through these
# collections; links are written under /api/v1/parcels/<id>/links/ and read here.
if apps.is_installed("parcels"):
    from parcels.models import InfrastructureLink, Parcel

    register(
        Collection(
            id="parcels",
            title=_("Land parcels"),
            description=_("Land parcels allocated (or proposed) for the facilities. Signed-in users only."),
            selector=lambda: Parcel.objects.all(),
            geometry="geom",
            geometry_type="MultiPolygon",
            stored_geojson="geom_geojson",
            public=False,
            region_field="region",
            public_properties={
                "facility": "facility_id",
                "region": "region__kato",
                "district": "district__kato",
                "cadastral_number": "cadastral_number",
                "status": "status",
                "declared_area_ha": "declared_area_ha",
                "computed_area_ha": "computed_area_ha",
                "land_category": "land_category",
                "right_type": "right_type",
                "act_number": "act_number",
                "act_date": "act_date",
                "is_demo": "is_demo",
                "version": "version",
                "updated_at": "updated_at",
            },
            filters={
                "region": Filter(("region__kato",), "kato", _("region KATO code(s)")),
                "district": Filter(("district__kato",), "kato", _("district KATO code(s)")),
                "status": Filter(("status",), "code", _("parcel status(es)")),
                "facility": Filter(("facility_id",), "int", _("facility id(s)")),
                "is_demo": Filter(("is_demo",), "bool", _("demo rows only (true) or official rows only (false)")),
                "name": Filter(("cadastral_number",), "text", _("part of the cadastral number")),
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
            selector=lambda: InfrastructureLink.objects.all(),
            geometry="route",
            geometry_type="LineString",
            stored_geojson="route_geojson",
            public=False,
            region_field="region",
            public_properties={
                "parcel": "parcel_id",
                "utility": "utility_id",
                "region": "region__kato",
                "required": "required",
                "status": "status",
                "route_length_m": "route_length_m",
                "planned_connection_date": "planned_connection_date",
                "actual_connection_date": "actual_connection_date",
                "is_demo": "is_demo",
                "version": "version",
                "updated_at": "updated_at",
            },
            filters={
                "region": Filter(("region__kato",), "kato", _("region KATO code(s)")),
                "status": Filter(("status",), "code", _("link status(es)")),
                "utility": Filter(("utility_id",), "code", _("utility code(s)")),
                "parcel": Filter(("parcel_id",), "int", _("parcel id(s)")),
                "is_demo": Filter(("is_demo",), "bool", _("demo rows only (true) or official rows only (false)")),
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
