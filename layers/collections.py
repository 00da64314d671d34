"""The layers of the administrative boundaries: regions and districts (public)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from gis_portal.geo.collections import NAME_FILTER_HELP, Collection, Filter, register
from layers.models import District, Region

NAME_LOOKUPS = ("name_kk", "name_ru", "name_en")
NAME_ORDERING = {"name_kk": "name_kk", "name_ru": "name_ru", "name_en": "name_en"}


def _regions():
    return Region.objects.all()


def _districts():
    return District.objects.all()


def collections_register() -> None:
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
                "region": Filter(("kato",), "kato", _("region KATO code(s)"), reads=("kato",)),
                # Named like the property too, so that GDAL's `-where "kato='…'"` goes to the server.
                "kato": Filter(("kato",), "kato", _("region KATO code(s)")),
                "kind": Filter(("kind",), "code", _("oblast or city")),
                "name": Filter(NAME_LOOKUPS, "text", NAME_FILTER_HELP, reads=NAME_LOOKUPS),
            },
            ordering={"id": "pk", "kato": "kato", **NAME_ORDERING},
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
                "district": Filter(("kato",), "kato", _("district KATO code(s)"), reads=("kato",)),
                "kato": Filter(("kato",), "kato", _("district KATO code(s)")),
                "name": Filter(NAME_LOOKUPS, "text", NAME_FILTER_HELP, reads=NAME_LOOKUPS),
            },
            ordering={"id": "pk", "kato": "kato", **NAME_ORDERING},
            default_ordering="kato",
            updated_field="updated_at",
        )
    )
