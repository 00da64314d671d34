"""What construction tracking adds to the facilities layer: the latest stage reached and the opening date.

Both are public (the public map shows them), computed in SQL from the TrackedFacility snapshot
columns, and a change of the snapshot changes the facility's Last-Modified and ETag.
"""

from __future__ import annotations

from django.db.models import Case, CharField, Q, Value, When
from django.utils.translation import gettext_lazy as _

from gis_portal.geo.collections import Filter, ParamError, extend
from tracking.models import STAGE_FIELD, STAGE_ORDER


def stage_reached_condition(stage: str) -> Q:
    """Facilities whose furthest stage reached is `stage` (reached, and no later stage reached)."""
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
        condition |= stage_reached_condition(value)
    return condition


def collections_register() -> None:
    extend(
        "facilities",
        public_properties={
            "stage": Case(
                *(When(stage_reached_condition(stage), then=Value(stage)) for stage in reversed(STAGE_ORDER)),
                default=Value(None),
                output_field=CharField(),
            ),
            "opened_on": "tracking__opened_on",
        },
        filters={"stage": Filter((), "code", _("latest stage reached"), condition=_stage_filter)},
        also_updated=("tracking__updated_at",),
    )
