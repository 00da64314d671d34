"""A whole layer as one GeoJSON FeatureCollection, in the property names its declaration gives.

For the map pages and the exports: the same properties, names and geometry encoding as the API's
pages (gis_portal.geo.geojson.feature_page), without paging. Who may read the private properties
is decided by the caller (accounts.layer_access.private_annotate); geometry is EPSG:4326.
"""

from __future__ import annotations

import json

from django.db.models import QuerySet

from gis_portal.geo.collections import Collection
from gis_portal.geo.geojson import DEFAULT_PRECISION, feature_page

# The working maps embed at most MAP_VECTOR_TILES_THRESHOLD features; this bounds an export.
ALL_ROWS = 10**9


def collection_feature_collection(
    collection: Collection,
    queryset: QuerySet,
    *,
    with_private: bool = False,
    private_condition: str | None = None,
    precision: int = DEFAULT_PRECISION,
    simplify_m: float | None = None,
    ordering: str = "pk",
    members: dict | None = None,
) -> str:
    """Every row of `queryset` (ordered by `ordering`, then id) as a FeatureCollection text built in PostGIS.

    `simplify_m` (metres) simplifies for small-scale maps; `precision` is in decimals of a degree;
    `members` are added to the FeatureCollection object (JSON-serialisable values).
    """
    page = feature_page(
        queryset.order_by(ordering, "pk") if ordering != "pk" else queryset.order_by("pk"),
        order_field=ordering,
        geometry=collection.geometry,
        properties=collection.public_properties,
        private_properties=collection.private_properties if with_private else None,
        private_condition=private_condition,
        limit=ALL_ROWS,
        check_more=False,
        precision=precision,
        simplify_m=simplify_m,
        multi=collection.geometry_type.startswith("Multi"),
        stored=collection.stored_geojson,
        stored_properties=collection.stored_properties,
    )
    head = json.dumps({"type": "FeatureCollection", **(members or {})}, ensure_ascii=False)
    return head[:-1] + ', "features": ' + page.features.decode() + "}"
