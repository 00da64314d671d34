"""The facilities layer (construction measures 14–26): public fields for everybody, the rest by role.

The same declaration feeds the API, the tiles and the public and working maps, so a facility has
the same property names everywhere. The tracking app adds the stage reached and the opening date.
"""

from __future__ import annotations

from django.db.models import BigIntegerField, Case, CharField, F, Q, Value, When
from django.utils.translation import gettext_lazy as _

from facilities.selectors import facility_list
from gis_portal.geo.collections import NAME_FILTER_HELP, Collection, Filter, register

NAME_LOOKUPS = ("name_kk", "name_ru", "name_en")
DEMO_FILTER_HELP = _("demo rows only (true) or official rows only (false)")


def _when_published(field: str, output_field) -> Case:
    """The column's value where the editor published the facility's finances and it is recorded, else null."""
    recorded = Q(**{f"{field}__isnull": False}) if isinstance(output_field, BigIntegerField) else ~Q(**{field: ""})
    return Case(
        When(Q(finances_published=True) & recorded, then=F(field)), default=Value(None), output_field=output_field
    )


# The optional finances as the public reads them: null unless recorded and published (the one rule
# for the public map, the open API, the public facility page and the OC4IDS export).
FACILITY_FINANCES_PUBLIC = {
    "budget_kzt": _when_published("budget_kzt", BigIntegerField()),
    "funding_source": _when_published("funding_source", CharField()),
    "contractor_name": _when_published("contractor_name", CharField()),
    "contractor_bin": _when_published("contractor_bin", CharField()),
}
# What anonymous clients (the public map, the open API) read of a facility.
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
    **FACILITY_FINANCES_PUBLIC,
}
# Signed-in users with a role, for the facilities of the regions they may view.
FACILITY_PRIVATE = {
    "district": "district__kato",
    "is_ppp": "is_ppp",
    "finances_published": "finances_published",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


def collections_register() -> None:
    register(
        Collection(
            id="facilities",
            title=_("Facilities"),
            description=_(
                "Health and creative facilities built under construction measures 14–26. "
                "Rows flagged is_demo are invented demonstration data, not official records."
            ),
            selector=facility_list,
            geometry="location",
            geometry_type="Point",
            stored_geojson="location_geojson",
            public_properties=FACILITY_PUBLIC,
            private_properties=FACILITY_PRIVATE,
            region_field="region",
            filters={
                "region": Filter(("region__kato",), "kato", _("region KATO code(s)")),
                "district": Filter(("district__kato",), "kato", _("district KATO code(s)")),
                "measure": Filter(("measure_id",), "int", _("measure number(s), 14–26")),
                "kind": Filter(("kind_id",), "code", _("facility kind code(s)")),
                "planned_year": Filter(("planned_year",), "int", _("planned year(s)")),
                "is_demo": Filter(("is_demo",), "bool", DEMO_FILTER_HELP),
                "name": Filter(NAME_LOOKUPS, "text", NAME_FILTER_HELP, reads=NAME_LOOKUPS),
            },
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
            tiles=True,
            property_types={
                "measure": "integer",
                "places": "integer",
                "planned_year": "integer",
                "is_demo": "boolean",
                "is_ppp": "boolean",
                "budget_kzt": "integer",
                "finances_published": "boolean",
            },
        )
    )
