"""The one-level page statement the API keeps per query shape reads exactly what the joined-back one reads.

gis_portal.geo.geojson.feature_page_statement(join_back=False) selects the output columns in the request's
own query (api.selectors.ItemsReads); join_back=True joins the page's keys to the collection's columns
(the maps). Every REST collection, as a planner (private properties), an akimat user (scoped, private
properties on its own rows only) and the public where it may read: first pages, offsets, a bbox, the
ordering keys both ways, and the next and previous pages by cursor.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import QueryDict

from api import selectors
from api.params import Cursor, items_query_parse
from gis_portal.geo.collections import ParamError, collections_all
from gis_portal.geo.geojson import feature_page_read, feature_page_statement
from parcels.models import Parcel

CASES = [c.id for c in collections_all() if c.rest]


def read(collection, params: dict, *, user, join_back: bool):
    query = items_query_parse(QueryDict(urlencode(params)), collection, default_limit=10, allow_download=False)
    queryset = selectors.ItemsReads(collection, query=query, user=user).queryset
    statement = selectors._page_statement(
        collection, queryset, query=query, user=user, limit=query.limit, check_more=True, join_back=join_back
    )
    return feature_page_read(statement)


def same_page(collection, params: dict, *, user):
    joined = read(collection, params, user=user, join_back=True)
    assert read(collection, params, user=user, join_back=False) == joined, params
    return joined


@pytest.mark.parametrize("collection_id", CASES)
def test_one_level_page_equals_the_joined_back_page(
    collection_id, planner, akimat_a, parcels_and_links, isochrone_rows, request
):
    collection = next(c for c in collections_all() if c.id == collection_id)
    users = [planner, akimat_a] + ([AnonymousUser()] if collection.public else [])
    read_rows = 0
    for user in users:
        for ordering in sorted(collection.ordering):
            for sort in (ordering, f"-{ordering}"):
                try:
                    first = same_page(collection, {"limit": 2, "sortby": sort}, user=user)
                except ParamError:
                    continue  # a sort key the user may not read on every row is refused (test_private_fields.py)
                read_rows += first.returned
                same_page(collection, {"limit": 2, "offset": 1, "sortby": sort}, user=user)
                if first.has_more:
                    ahead = Cursor(first.last_key, True, sort).encode()
                    after = same_page(collection, {"limit": 2, "sortby": sort, "cursor": ahead}, user=user)
                    assert after.returned > 0
                    back = Cursor(after.first_key, False, sort).encode()
                    before = same_page(collection, {"limit": 2, "sortby": sort, "cursor": back}, user=user)
                    assert before.features == first.features and not before.has_more
        if collection.geometry:
            same_page(collection, {"limit": 1000, "bbox": "40,35,95,60"}, user=user)
    # Parity of empty pages would prove nothing: the fixtures give every layer rows.
    assert read_rows > 0, f"the test data has no {collection_id} row"


def test_one_level_page_refuses_a_queryset_without_an_explicit_ordering():
    """Its rows are numbered by a window over the queryset's ordering: none would number them at random."""
    with pytest.raises(ValueError, match="explicit order_by"):
        feature_page_statement(
            Parcel.objects.order_by(), geometry="geom", properties={"status": "status"}, limit=2, join_back=False
        )
