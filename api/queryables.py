"""OGC API – Features Part 3 (Queryables): the JSON Schema of what a collection's items can be filtered on.

Built from the layer's one declaration (gis_portal.geo.collections): each queryable is a
`Collection.filters` entry, typed by its `Filter.kind`, so the queryables,
the items' query parameters and the OpenAPI document cannot disagree. Which filters a caller may
use is accounts.layer_access's decision (filters_usable); this module only writes the schema.

Free-text filters (kind "text") are left out: they match a substring of several names
(icontains), not a value, and Part 3's queryables-query-parameters class promises that
`?name=value` selects the features whose queryable equals the value. A comma-separated list
(`?region=710000000,750000000`) selects the features equal to any of its values: the values
themselves never contain a comma (their patterns below).
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.utils.translation import gettext as _

from gis_portal.geo.collections import CODE_RE, KATO_RE, Collection, Filter

SCHEMA_JSON = "application/schema+json"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# Filter kinds whose `?name=value` is an equality test (Filter.apply: `__in` over the values).
EQUALITY_KINDS = ("kato", "int", "code", "bool")


def _model_choices(model: type[Model], lookup: str) -> list | None:
    """The choices of the model field `lookup` reaches (through relations), or None."""
    field = None
    for part in lookup.split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        if field.is_relation:
            if field.related_model is None:
                return None
            model = field.related_model
    if field is None or not field.choices:
        return None
    return [value for value, _label in field.choices]


def _value_schema(spec: Filter, model: type[Model]) -> dict:
    """JSON Schema of one value of the filter (as Filter.parse accepts it)."""
    if spec.kind == "kato":
        return {"type": "string", "pattern": KATO_RE.pattern, "description": _("a 9-digit KATO code")}
    if spec.kind == "int":
        return {"type": "integer", "minimum": 0, "maximum": 999_999_999, "description": _("a whole number")}
    if spec.kind == "bool":
        return {"type": "boolean", "description": _("true or false (1 or 0 are accepted too)")}
    schema = {"type": "string", "pattern": CODE_RE.pattern, "description": _("a code: letters, digits, _ and -")}
    choices = list(spec.choices)
    if not choices and len(spec.lookups) == 1 and spec.condition is None:
        choices = _model_choices(model, spec.lookups[0])
    if choices:
        schema["enum"] = choices
    return schema


def queryables_schema(collection: Collection, names: list[str], *, schema_id: str) -> dict:
    """Part 3 queryables of `collection`: the filters `names` (those the caller may use) of an
    equality kind, each with type, title, description and pattern/enum/bounds. `schema_id` is
    the absolute URL of this document ($id)."""
    model = collection.selector().model
    properties = {}
    for name in names:
        spec = collection.filters[name]
        if spec.kind not in EQUALITY_KINDS:
            continue
        value = _value_schema(spec, model)
        what = value.pop("description")
        title = str(spec.description) or name
        value = {
            "title": title,
            "description": _(
                "%(what)s. As the query parameter ?%(name)s=, a comma-separated list matches any of its values."
            )
            % {"what": what, "name": name},
            **value,
        }
        properties[name] = value
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id,
        "type": "object",
        "title": collection.title_text,
        "description": _(
            "What the features of this collection can be selected by, each as a query parameter of its items."
        ),
        "properties": properties,
        "additionalProperties": False,
    }
