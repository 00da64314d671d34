"""Who reads what of a layer (gis_portal.geo.collections): the rows, the private properties, and
the filters, orderings and time stamps that would reveal private properties.

The decisions are accounts.permissions' own (scope_queryset, can, user_role); this module applies
them to the declarations, for the API, the tiles, the maps and the exports alike:

- a non-public collection is read by users with a role only, its rows scoped to their region;
- the public (no role) reads a public collection's rows that its `public_rows` keeps (facilities:
  those of the current approved consolidated plans, never drafts or dropped objects);
- private properties of a public collection are shown on the rows whose region the user may view
  (all rows for planners and administrators, the own region's for akimat users, none for others);
- a filter, the `datetime`/`updated_since` window or the Last-Modified stamp that would reveal a
  private property follows the same rule: refused (ParamError) for callers who may read it on no
  row, applied only to the rows where they may read it otherwise; a sort order on it needs the
  property readable on every row, since an order reveals every row's value.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext

from accounts.permissions import Action, can, scope_queryset, user_role
from gis_portal.geo.collections import Collection, ParamError

PRIVATE_FLAG = "_private"


def collection_visible(collection: Collection, *, user) -> bool:
    """May `user` read this collection at all? Public ones: everybody; others: users with a role."""
    return collection.public or user_role(user) is not None


def collection_queryset(collection: Collection, *, user) -> QuerySet:
    """The rows of `collection` that `user` may read: non-public ones scoped by region; for the public
    (no portal role) only the rows the declaration's `public_rows` keeps."""
    queryset = collection.selector()
    if not collection.public:
        return scope_queryset(user, queryset, region_field=collection.region_field or "region")
    return public_rows_apply(collection, queryset, user=user)


def public_rows_apply(collection: Collection, queryset: QuerySet, *, user) -> QuerySet:
    """`queryset` (rows of `collection`) narrowed to what its `public_rows` keeps when `user` has no
    portal role (None: the public); unchanged for users with a role."""
    if collection.public_rows is None or user_role(user) is not None:
        return queryset
    return queryset.filter(collection.public_rows)


def private_rows(collection: Collection, queryset: QuerySet, *, user) -> bool | Exists:
    """On which rows may `user` read the private properties: True (all), False (none) or a per-row condition."""
    if not collection.private_properties or user_role(user) is None:
        return False
    if not collection.public:
        return True  # rows already scoped to what the user may view
    if collection.region_field is None:
        return can(user, Action.VIEW, region_id=None)
    allowed = scope_queryset(user, queryset.model.objects.all(), region_field=collection.region_field)
    if allowed.query.is_empty():
        return False
    if not allowed.query.has_filters():
        return True
    return Exists(allowed.filter(pk=OuterRef("pk")))


def private_annotate(collection: Collection, queryset: QuerySet, *, user) -> tuple[QuerySet, str | None, bool]:
    """(queryset, name of the per-row flag or None, include the private properties at all)."""
    rows = private_rows(collection, queryset, user=user)
    if rows is False:
        return queryset, None, False
    if rows is True:
        return queryset, None, True
    return queryset.annotate(**{PRIVATE_FLAG: rows}), PRIVATE_FLAG, True


def readable_properties(collection: Collection, queryset: QuerySet, *, user) -> list[str]:
    """Names of the properties `user` gets (CSV header, HTML table)."""
    _qs, _flag, with_private = private_annotate(collection, queryset, user=user)
    return list(collection.all_properties() if with_private else collection.public_properties)


def _reveal(collection: Collection, queryset: QuerySet, names, *, user, param: str) -> QuerySet:
    """Keep only the rows on which `user` may read every property of `names` (a filter on them)."""
    if not collection.private_names(names):
        return queryset
    rows = private_rows(collection, queryset, user=user)
    if rows is False:
        raise ParamError(param, gettext("filters on a property you may not read"))
    if rows is True:
        return queryset
    return queryset.filter(rows)


def filters_usable(collection: Collection, queryset: QuerySet, *, user) -> list[str]:
    """Names of the filters `user` may use (the rest reveal private properties `user` may read on
    no row, and filters_restrict refuses them): what the OGC queryables list for this caller."""
    rows = None
    usable = []
    for name in collection.filters:
        if collection.private_names(collection.filter_reads(name)):
            if rows is None:
                rows = private_rows(collection, queryset, user=user)
            if rows is False:
                continue
        usable.append(name)
    return usable


def filters_restrict(collection: Collection, queryset: QuerySet, *, user, filters, time_param: str | None):
    """Apply the privacy rule to the filters in use (`filters`: their names; `time_param`: datetime
    or updated_since when given). Returns the queryset narrowed to the rows where they may apply."""
    for name in filters:
        queryset = _reveal(collection, queryset, collection.filter_reads(name), user=user, param=name)
    if time_param and collection.updated_property:
        queryset = _reveal(collection, queryset, [collection.updated_property], user=user, param=time_param)
    return queryset


def ordering_check(collection: Collection, queryset: QuerySet, *, user, ordering: str, param: str) -> None:
    """Refuse a sort order on a property that `user` may not read on every row."""
    names = collection.ordering_reads(ordering.lstrip("+-"))
    if collection.private_names(names) and private_rows(collection, queryset, user=user) is not True:
        raise ParamError(
            param,
            gettext("%(value)r: you may not sort on a property you cannot read on every row") % {"value": ordering},
        )


def time_readable(collection: Collection, queryset: QuerySet, *, user) -> bool:
    """May the Last-Modified stamp (the newest change of the rows) be shown to `user`?"""
    name = collection.updated_property
    if name is None or not collection.private_names([name]):
        return True
    return private_rows(collection, queryset, user=user) is True
