"""The one declaration of each layer: the REST API, OGC API – Features, vector tiles, downloads,
the folium maps and the exports all read it.

Each domain app declares its layers in `<app>/collections.py` and registers them from its
AppConfig.ready(); an app above another may add properties and filters to a lower app's layer
with `extend()` (tracking adds the stage reached to the facilities). A collection names a
selector (a function returning the base queryset), its EPSG:4326 geometry field, the properties
anonymous clients may read and the private ones that only users whose role allows
(accounts.permissions, applied by accounts.layer_access) may read, the filters and the ordering
keys it accepts and which properties each of them reveals.

Privacy by construction: every filter, ordering key and the time field name the properties they
reveal (checked at registration). A caller who may not read a property cannot filter, sort or
ask for changes since a time on it, and gets no Last-Modified from it (accounts.layer_access).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from django.db.models import Q, QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from gis_portal.geo.geojson import STORED_PROPERTY_TYPES, StoredProperties, value_field

KATO_RE = re.compile(r"^[0-9]{9}$")
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,60}$")


class ParamError(ValueError):
    """A query parameter that cannot be accepted; `param` names it."""

    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param = param
        self.message = message


@dataclass(frozen=True)
class Filter:
    """A property filter `?name=value`; `kind` says how the value is checked.

    kinds: "kato" (9-digit KATO code), "int", "code" (letters, digits, _ and -),
    "bool" (true/false, or 1/0), "text" (free text, icontains over `lookups`).
    A comma-separated list matches any of its values (except for "text").
    """

    lookups: tuple[str, ...]
    kind: str
    description: str = ""
    # Optional: builds the condition from the parsed values instead of `lookups`
    # (for properties computed by an expression, e.g. the latest stage reached).
    condition: Callable[[list], Q] | None = None
    # The properties whose values this filter reveals; empty: the property named like the filter.
    reads: tuple[str, ...] = ()
    # The values a "code" filter with a `condition` accepts, when the condition checks a fixed set
    # (documented as the queryable's enum; a filter on a model field with choices needs none).
    choices: tuple[str, ...] = ()

    def parse(self, name: str, raw: str):
        if self.kind == "text":
            value = raw.strip()
            if not 1 <= len(value) <= 100:
                raise ParamError(name, gettext("must be 1 to 100 characters long"))
            return value
        values = [v.strip() for v in raw.split(",")]
        if not values or len(values) > 50 or any(not v for v in values):
            raise ParamError(name, gettext("must be a value or a comma-separated list of up to 50 values"))
        parsed = []
        for value in values:
            if self.kind == "kato":
                if not KATO_RE.match(value):
                    raise ParamError(name, gettext("%(value)r is not a 9-digit KATO code") % {"value": value})
                parsed.append(value)
            elif self.kind == "int":
                if not value.isdigit() or len(value) > 9:
                    raise ParamError(name, gettext("%(value)r is not a whole number") % {"value": value})
                parsed.append(int(value))
            elif self.kind == "code":
                if not CODE_RE.match(value):
                    raise ParamError(
                        name,
                        gettext("%(value)r is not a valid code (letters, digits, _ and - only)") % {"value": value},
                    )
                parsed.append(value)
            elif self.kind == "bool":
                # 1/0 too: GDAL's OAPIF driver sends `-where "is_demo=1"` on a boolean field as `is_demo=1`.
                if value.lower() not in ("true", "false", "1", "0"):
                    raise ParamError(name, gettext("%(value)r is not true or false") % {"value": value})
                parsed.append(value.lower() in ("true", "1"))
            else:  # pragma: no cover - registry error
                raise ValueError(f"unknown filter kind {self.kind}")
        return parsed

    def apply(self, queryset: QuerySet, value) -> QuerySet:
        if self.condition is not None:
            return queryset.filter(self.condition(value))
        if self.kind == "text":
            condition = Q()
            for lookup in self.lookups:
                condition |= Q(**{f"{lookup}__icontains": value})
            return queryset.filter(condition)
        condition = Q()
        for lookup in self.lookups:
            condition |= Q(**{f"{lookup}__in": value})
        return queryset.filter(condition)


@dataclass(frozen=True)
class Collection:
    """One resource: a spatial layer (`geometry` set) or a plain table (`geometry=None`)."""

    id: str
    title: str
    description: str
    selector: Callable[[], QuerySet]
    geometry: str | None
    geometry_type: str = "Geometry"
    public_properties: dict[str, str] = field(default_factory=dict)
    private_properties: dict[str, str] = field(default_factory=dict)
    # True: anonymous clients read every row's public properties (of the rows `public_rows` keeps).
    # False: only authenticated users read, rows scoped by accounts.permissions.scope_queryset.
    public: bool = True
    # The rows the public (callers without a portal role) may see at all; None: every row. The
    # facilities layer: only the current approved consolidated plans' (tracking adds the condition).
    public_rows: Q | None = None
    region_field: str | None = None  # the FK to layers.Region that scopes rows and private fields
    filters: dict[str, Filter] = field(default_factory=dict)
    ordering: dict[str, str] = field(default_factory=lambda: {"id": "pk"})  # name → non-null field
    default_ordering: str = "id"
    updated_field: str | None = None
    # Other timestamps whose change changes a row's properties (for Last-Modified and the ETag):
    # lookups, or expressions giving one timestamp per row (e.g. the newest change of related rows).
    also_updated: tuple = ()
    rest: bool = True  # served under /api/v1/<id>/ (list and item reads)
    # False when the owning app mounts /api/v1/<id>/ itself (to take writes on the same path);
    # its view then delegates reads to api.v1.collections.rest_views(collection).
    rest_mounted_here: bool = True
    ogc: bool = True
    tiles: bool = False
    property_types: dict[str, str] = field(default_factory=dict)  # name → JSON schema type (docs, HTML)
    # Generated column with the default GeoJSON geometry (gis_portal.geo.geojson.stored_geojson), if the model has one.
    stored_geojson: str | None = None
    # Generated column with the JSON text of the properties that are the row's own columns (StoredProperties).
    stored_properties: StoredProperties | None = None

    @property
    def title_text(self) -> str:
        return str(self.title)

    def all_properties(self) -> dict[str, str]:
        return {**self.public_properties, **self.private_properties}

    def filter_reads(self, name: str) -> tuple[str, ...]:
        """The properties filter `name` reveals."""
        return self.filters[name].reads or (name,)

    def ordering_reads(self, name: str) -> tuple[str, ...]:
        """The properties ordering key `name` reveals (`id` reveals nothing beyond the id)."""
        return () if name == "id" else (name,)

    @property
    def updated_property(self) -> str | None:
        """The property that holds `updated_field` (what `datetime`, `updated_since` and Last-Modified reveal)."""
        if not self.updated_field:
            return None
        return next((n for n, lookup in self.all_properties().items() if lookup == self.updated_field), None)

    def private_names(self, names) -> set[str]:
        """Those of `names` that are private properties."""
        return set(names) & set(self.private_properties)


_REGISTRY: dict[str, Collection] = {}


def _check(collection: Collection) -> None:
    """Refuse a declaration whose filters, ordering or time field reveal undeclared properties."""
    known = set(collection.all_properties())
    overlap = set(collection.public_properties) & set(collection.private_properties)
    if overlap:
        raise ValueError(f"{collection.id}: properties both public and private: {sorted(overlap)}")
    if collection.default_ordering not in collection.ordering:
        raise ValueError(f"{collection.id}: default ordering {collection.default_ordering!r} not allowed")
    for name in collection.filters:
        unknown = set(collection.filter_reads(name)) - known
        if unknown:
            raise ValueError(f"{collection.id}: filter {name!r} reads undeclared properties {sorted(unknown)}")
    for name in collection.ordering:
        unknown = set(collection.ordering_reads(name)) - known
        if unknown:
            raise ValueError(f"{collection.id}: ordering {name!r} is not a declared property")
    if collection.updated_field and collection.updated_property is None:
        raise ValueError(f"{collection.id}: the time field {collection.updated_field!r} is no declared property")
    if collection.stored_properties is not None:
        _check_stored(collection, collection.stored_properties)


def _check_stored(collection: Collection, stored: StoredProperties) -> None:
    """Stored members must be public properties read from the same own field, of a type printed alike everywhere."""
    if not stored.covers(collection.public_properties):
        raise ValueError(f"{collection.id}: stored properties {sorted(stored.members)} are not all public, as declared")
    model = collection.selector().model
    for name, field_name in stored.members.items():
        field = value_field(model._meta.get_field(field_name))
        if field.get_internal_type() not in STORED_PROPERTY_TYPES:
            raise ValueError(f"{collection.id}: stored property {name!r} is a {field.get_internal_type()}")


def register(collection: Collection) -> Collection:
    if collection.id in _REGISTRY:
        raise ValueError(f"collection {collection.id!r} is already registered")
    _check(collection)
    _REGISTRY[collection.id] = collection
    return collection


def extend(
    collection_id: str,
    *,
    public_properties: dict | None = None,
    filters: dict[str, Filter] | None = None,
    also_updated: tuple = (),
    property_types: dict[str, str] | None = None,
    public_rows: Q | None = None,
) -> Collection:
    """Add properties, filters, change stamps and a condition on the public's rows of an upper app."""
    base = _REGISTRY[collection_id]
    if public_rows is not None and base.public_rows is not None:
        public_rows = base.public_rows & public_rows
    extended = replace(
        base,
        public_rows=public_rows if public_rows is not None else base.public_rows,
        public_properties={**base.public_properties, **(public_properties or {})},
        filters={**base.filters, **(filters or {})},
        also_updated=(*base.also_updated, *also_updated),
        property_types={**base.property_types, **(property_types or {})},
    )
    _check(extended)
    _REGISTRY[collection_id] = extended
    return extended


def collection_get(collection_id: str) -> Collection | None:
    return _REGISTRY.get(collection_id)


def collections_all() -> list[Collection]:
    return list(_REGISTRY.values())


NAME_FILTER_HELP = _("free text, matched case-insensitively against the Kazakh, Russian and English names")
