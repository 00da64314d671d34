"""History of plans and stage records, for their "restore this version" forms (tracking.services.restore)."""

from __future__ import annotations

from gis_portal.history import history_head, history_with_users
from tracking.lifecycle import DERIVED_STAGES, facility_has_parcel
from tracking.models import (
    Plan,
    PlanItem,
    StageRecord,
    TrackedFacility,
)

# --- history of plans and stage records (restore: tracking.services.restore) -----------------------


def plan_history_head(*, plan: Plan) -> str:
    """The optimistic lock of a plan and its rows: the newest event of each ("plan-rows").

    A restore form carries the head it was shown with; any write of the plan or of a row since
    (page, admin, API, QuerySet.update) changes it.
    """
    plan_head = history_head(plan.events.all())  # type: ignore[attr-defined]
    rows_head = history_head(PlanItem.pgh_event_model.objects.filter(plan_id=plan.pk))  # type: ignore[attr-defined]
    return f"{plan_head}-{rows_head}"


def stage_record_is_current(*, event, latest_events: dict[int, int], latest_records: dict[str, int]) -> bool:
    """Is `event` what the facility's records state today: the newest event of a record that still
    exists and is the latest record of its stage? (`latest_events`: record id → newest event id of
    the existing records; `latest_records`: stage → id of its latest record.)"""
    return latest_events.get(event.pgh_obj_id) == event.pgh_id and latest_records.get(event.stage) == event.pgh_obj_id


def stage_record_latest(*, tracked_id: int) -> tuple[dict[int, int], dict[str, int]]:
    """(record id → newest event id, stage → latest record id) of a tracked facility's existing records."""
    records = list(
        StageRecord.objects.filter(tracked_id=tracked_id).order_by("stage", "-recorded_at", "-id").values("id", "stage")
    )
    latest_records: dict[str, int] = {}
    for row in records:
        latest_records.setdefault(row["stage"], row["id"])
    latest_events = dict(
        StageRecord.pgh_event_model.objects.filter(pgh_obj_id__in=[r["id"] for r in records])  # type: ignore[attr-defined]
        .order_by("pgh_obj_id", "-pgh_id")
        .distinct("pgh_obj_id")
        .values_list("pgh_obj_id", "pgh_id")
    )
    return latest_events, latest_records


def plan_history(*, plan: Plan, limit: int = 100) -> dict:
    """The plan's events and its rows' events (newest first, each with `.who` and `.restorable`) and
    the head the restore forms carry. Nothing is restorable once the plan is approved (frozen)."""
    editable = plan.status in (Plan.Status.DRAFT, Plan.Status.CHECKED)
    plan_events = history_with_users(
        list(plan.events.select_related("pgh_context").order_by("-pgh_id")[:limit])  # type: ignore[attr-defined]
    )
    newest = plan_events[0].pgh_id if plan_events else None
    for event in plan_events:
        event.restorable = editable and event.pgh_id != newest
    row_events = history_with_users(
        list(
            PlanItem.pgh_event_model.objects.filter(plan_id=plan.pk)  # type: ignore[attr-defined]
            .select_related("pgh_context", "region", "district")
            # The names only: the boundaries are large and not shown.
            .defer(*(f"{rel}__{name}" for rel in ("region", "district") for name in ("geom", "geom_geojson")))
            .order_by("-pgh_id")[:limit]
        )
    )
    existing = set(plan.items.values_list("pk", flat=True))
    newest_of_row: dict[int, int] = {}
    for event in row_events:
        newest_of_row.setdefault(event.pgh_obj_id, event.pgh_id)
    for event in row_events:
        # An existing row's newest event is the row as it stands; everything else can come back.
        event.restorable = editable and not (
            event.pgh_obj_id in existing and newest_of_row[event.pgh_obj_id] == event.pgh_id
        )
    return {"plan_events": plan_events, "row_events": row_events, "head": plan_history_head(plan=plan)}


def stage_record_history(*, tracked: TrackedFacility, limit: int = 200) -> list:
    """Events of a tracked facility's stage records (newest first) with `.who` and `.restorable`:
    not the stage's current record, and not a parcel/infrastructure stage decided by a parcel."""
    events = history_with_users(
        list(
            StageRecord.pgh_event_model.objects.filter(tracked_id=tracked.pk)  # type: ignore[attr-defined]
            .select_related("pgh_context")
            .order_by("-pgh_id")[:limit]
        )
    )
    derived_locked = facility_has_parcel(facility_id=tracked.facility_id)
    latest_events, latest_records = stage_record_latest(tracked_id=tracked.pk)
    for event in events:
        event.restorable = not (event.stage in DERIVED_STAGES and derived_locked) and not stage_record_is_current(
            event=event, latest_events=latest_events, latest_records=latest_records
        )
    return events
