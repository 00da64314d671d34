"""What construction tracking adds to the facilities layer: the latest stage reached and the opening date.

Both are public (the public map shows them), computed in SQL: the parcel and infrastructure stages
from the facility's parcel data where it has a parcel record (tracking.lifecycle), the others from
the TrackedFacility snapshot columns. A change of the snapshot changes the facility's Last-Modified
and ETag.
"""

from __future__ import annotations

from django.db.models import Case, CharField, Q, Value, When
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from gis_portal.geo.collections import Filter, ParamError, extend
from tracking import lifecycle
from tracking.models import STAGE_FIELD, STAGE_ORDER, Stage


def _reached(stage: str) -> Q:
    """Facilities that have reached `stage` today."""
    recorded = Q(**{f"tracking__{STAGE_FIELD[stage]}__isnull": False})
    if stage == Stage.PARCEL:
        derived = lifecycle.parcel_reached_condition()
    elif stage == Stage.INFRASTRUCTURE:
        derived = lifecycle.infrastructure_reached_condition()
    else:
        return recorded
    has_parcel = Q(lifecycle.facility_has_parcel_condition())
    return (has_parcel & derived) | (~has_parcel & recorded)


def stage_reached_condition(stage: str) -> Q:
    """Facilities whose furthest stage reached is `stage` (reached, and no later stage reached)."""
    condition = _reached(stage)
    for other in STAGE_ORDER[STAGE_ORDER.index(stage) + 1 :]:
        condition &= ~_reached(other)
    return condition


def _stage_filter(values: list) -> Q:
    unknown = [v for v in values if v not in STAGE_ORDER]
    if unknown:
        raise ParamError(
            "stage",
            gettext("%(value)r is not a stage; use one of %(allowed)s")
            % {"value": unknown[0], "allowed": ", ".join(STAGE_ORDER)},
        )
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
        filters={
            "stage": Filter((), "code", _("latest stage reached"), condition=_stage_filter, choices=tuple(STAGE_ORDER))
        },
        also_updated=("tracking__updated_at", *lifecycle.parcel_data_changed_at()),
        # The public sees the current approved plans' facilities only (never drafts or dropped objects).
        public_rows=Q(tracking__in_plan=True),
    )
