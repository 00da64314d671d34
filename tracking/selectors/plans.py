"""Consolidated plans and their rows, and stage records, as each user may read them."""

from __future__ import annotations

from datetime import datetime

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce

from accounts.permissions import Action, scope_queryset, user_has_role
from tracking.models import (
    Plan,
    PlanItem,
    StageRecord,
)

# --- plans -------------------------------------------------------------------------------------------


def plan_list():
    return Plan.objects.select_related("plan_measure").order_by("plan_measure_id", "-version")


# Sort keys the API offers (name -> column); anything else is refused before it reaches the ORM.
PLAN_ORDERING = {
    "id": "id",
    "version": "version",
    "plan_measure": "plan_measure_id",
    "created_at": "created_at",
    "approved_at": "approved_at",
}
STAGE_RECORD_ORDERING = {"recorded_at": "recorded_at", "id": "id"}


def _ordered(queryset: QuerySet, *, ordering: str, allowed: dict[str, str]) -> QuerySet:
    """`ordering` is a key of `allowed`, '-' first for descending; the id breaks ties so pages are stable."""
    descending = ordering.startswith("-")
    column = allowed[ordering.removeprefix("-")]
    return queryset.order_by(("-" if descending else "") + column, "-id" if descending else "id")


def plan_items_visible(*, user, region_kato: str | None = None, year: int | None = None) -> QuerySet[PlanItem]:
    """Rows of consolidated plans `user` may view (akimat users: their own region's), optionally one region/year."""
    items = scope_queryset(user, PlanItem.objects.all(), action=Action.VIEW)
    if region_kato is not None:
        items = items.filter(region__kato=region_kato)
    if year is not None:
        items = items.filter(year=year)
    return items


def _per_plan(items: QuerySet[PlanItem], aggregate) -> Coalesce:
    """A correlated subquery: `aggregate` over the rows of `items` that belong to the outer plan."""
    per_plan = items.filter(plan=OuterRef("pk")).order_by().values("plan").annotate(value=aggregate).values("value")
    return Coalesce(Subquery(per_plan[:1]), 0)


def _plans_visible(*, user, items: QuerySet[PlanItem]) -> QuerySet[Plan]:
    # Plans are the ministry's national records: every role reads them (as on the plans page);
    # their rows are region-bound, so the counts cover only the rows `user` may view.
    if not user_has_role(user):
        return Plan.objects.none()
    return Plan.objects.annotate(
        items_count=_per_plan(items, Count("id")),
        objects_count=_per_plan(items, Sum("count")),
        ppp_objects_count=_per_plan(items, Sum("ppp_count")),
    )


def plan_list_visible(
    *,
    user,
    plan_measure: int | None = None,
    status: str | None = None,
    region_kato: str | None = None,
    year: int | None = None,
    ordering: str = "id",
) -> QuerySet[Plan]:
    """Plans `user` may view with the number of rows, objects and PPP objects they may see in each.

    A region or year filter keeps the plans that have such rows (and counts only those). One query.
    """
    items = plan_items_visible(user=user, region_kato=region_kato, year=year)
    plans = _plans_visible(user=user, items=items)
    if plan_measure is not None:
        plans = plans.filter(plan_measure_id=plan_measure)
    if status is not None:
        plans = plans.filter(status=status)
    if region_kato is not None or year is not None:
        plans = plans.filter(Exists(items.filter(plan=OuterRef("pk"))))
    return _ordered(plans, ordering=ordering, allowed=PLAN_ORDERING)


def plan_get_visible(*, user, plan_id: int, region_kato: str | None = None, year: int | None = None) -> Plan | None:
    """One plan with its rows `user` may view (optionally one region/year) in `visible_items`. Two queries."""
    items = plan_items_visible(user=user, region_kato=region_kato, year=year)
    rows = items.select_related("region", "district").order_by("measure_id", "region__kato", "year", "id")
    return (
        _plans_visible(user=user, items=items)
        .filter(pk=plan_id)
        .prefetch_related(Prefetch("items", queryset=rows, to_attr="visible_items"))
        .first()
    )


def stage_record_list_visible(
    *,
    user,
    facility_id: int | None = None,
    region_kato: str | None = None,
    measure: int | None = None,
    stage: str | None = None,
    recorded_since: datetime | None = None,
    ordering: str = "recorded_at",
) -> QuerySet[StageRecord]:
    """Stage records of the facilities `user` may view (akimat users: their own region's), one query per page.

    The facility, region, measure and demo flag come as annotations (no joined model instances).
    """
    records = scope_queryset(
        user, StageRecord.objects.all(), region_field="tracked__facility__region", action=Action.VIEW
    )
    if facility_id is not None:
        records = records.filter(tracked__facility_id=facility_id)
    if region_kato is not None:
        records = records.filter(tracked__facility__region__kato=region_kato)
    if measure is not None:
        records = records.filter(tracked__facility__measure_id=measure)
    if stage is not None:
        records = records.filter(stage=stage)
    if recorded_since is not None:
        records = records.filter(recorded_at__gte=recorded_since)
    records = records.annotate(
        facility_pk=F("tracked__facility_id"),
        region_kato=F("tracked__facility__region__kato"),
        measure_number=F("tracked__facility__measure_id"),
        tracked_is_demo=F("tracked__is_demo"),
        has_doc_file=ExpressionWrapper(~Q(doc_file=""), output_field=BooleanField()),
        has_photo=ExpressionWrapper(~Q(photo=""), output_field=BooleanField()),
    )
    return _ordered(records, ordering=ordering, allowed=STAGE_RECORD_ORDERING)
