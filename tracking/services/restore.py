"""Restore from history (django-pghistory events): a draft plan, one of its rows, a stage record.

The same rules as every other write of these records: plans and their rows are the ministry's
(Action.PLAN) and only while the plan is a draft (an approved plan is frozen: make a new version);
stage records are the akimat's of the facility's region (Action.EDIT). Each restore is checked
like the write it repeats, guarded by an optimistic lock, done in one transaction, and leaves the
event it restored in the history context (`restored_event`) next to the user who restored.

Stage records are append-only (tracking.models): restoring one appends the earlier statement again
as a new record, so the state "as of / known at" a past date stays what it was.
"""

from __future__ import annotations

import pghistory
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.permissions import Action, can
from tracking.lifecycle import DERIVED_STAGES, facility_has_parcel
from tracking.models import Plan, PlanItem, Stage, StageRecord, TrackedFacility
from tracking.selectors import plan_history_head, stage_record_is_current, stage_record_latest
from tracking.services.errors import PermissionDeniedError, StaleVersionError, TrackingError
from tracking.services.plans import Violation, plan_item_problems, plan_validate
from tracking.services.stages import stage_record_add

PLAN_ITEM_FIELDS = [
    "measure_id",
    "region_id",
    "district_id",
    "year",
    "count",
    "ppp_count",
    "places_each",
    "location",
    "name_kk",
    "name_ru",
    "name_en",
]
STAGE_RECORD_FIELDS = [
    "stage",
    "planned_date",
    "actual_date",
    "percent",
    "places_in_use",
    "doc_number",
    "doc_date",
    "executor",
    "note",
]


def _plan_for_restore(*, user, plan_id: int, expected_head: str) -> Plan:
    if not can(user, Action.PLAN, region_id=None):
        raise PermissionDeniedError(_("only the ministry may edit consolidated plans"))
    plan = Plan.objects.select_for_update().get(pk=plan_id)
    if plan.status not in (Plan.Status.DRAFT, Plan.Status.CHECKED):
        raise TrackingError(
            _("this plan is %(s)s and frozen: nothing is restored into it; create a new version and restore there")
            % {"s": plan.get_status_display()}
        )
    if plan_history_head(plan=plan) != expected_head:
        raise StaleVersionError(
            {"version": [_("the plan was changed by someone else after you opened it: reload and try again")]}
        )
    return plan


def _rows_as_of(*, plan: Plan, event) -> dict[int, object]:
    """{row id: its latest event} of the rows the plan had when `event` was recorded (deleted ones dropped).

    pghistory stamps events with the transaction's start (NOW()), so the rows written in the same
    transaction as `event` (a copy, an added row and its status reset) count as its time.
    """
    rows = (
        PlanItem.pgh_event_model.objects.filter(plan_id=plan.pk, pgh_created_at__lte=event.pgh_created_at)  # type: ignore[attr-defined]
        .order_by("pgh_obj_id", "-pgh_id")
        .distinct("pgh_obj_id")
    )
    return {row.pgh_obj_id: row for row in rows if row.pgh_label != "delete"}


def _back_to_draft(plan: Plan) -> None:
    # A restored plan is re-checked before it can be approved, like any edited one.
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.DRAFT, checked_at=None)
    plan.refresh_from_db()


@transaction.atomic
def plan_restore(*, user, plan_id: int, event_id: int, expected_head: str) -> list[Violation]:
    """Bring a draft plan back to one of its history events: its note and its rows as they were then.

    Rows added since are removed, changed ones set back, removed ones brought back (same numbers).
    The plan becomes a draft again; returns its violations of the order (empty = it can be checked).
    """
    plan = _plan_for_restore(user=user, plan_id=plan_id, expected_head=expected_head)
    event = plan.events.filter(pgh_id=event_id).first()  # type: ignore[attr-defined]
    if event is None:
        raise TrackingError({"event": [_("no such history entry of this plan")]})
    wanted = _rows_as_of(plan=plan, event=event)
    current = {item.pk: item for item in plan.items.all()}
    removed = [pk for pk in current if pk not in wanted]
    changed = {
        pk: {name: getattr(row, name) for name in PLAN_ITEM_FIELDS}
        for pk, row in wanted.items()
        if pk not in current or any(getattr(current[pk], name) != getattr(row, name) for name in PLAN_ITEM_FIELDS)
    }
    if not removed and not changed and plan.note == event.note:
        raise TrackingError(_("this version is the plan as it stands: nothing to restore"))
    try:
        with pghistory.context(restored_event=f"plan:{event.pgh_id}"), transaction.atomic():
            PlanItem.objects.filter(pk__in=removed).delete()
            for pk, values in changed.items():
                if pk in current:
                    PlanItem.objects.filter(pk=pk).update(**values)
                else:
                    PlanItem.objects.create(pk=pk, plan=plan, **values)
            Plan.objects.filter(pk=plan.pk).update(note=event.note)
            _back_to_draft(plan)
    except IntegrityError as exc:
        raise TrackingError(_("the restored rows break a rule of the plan: %(e)s") % {"e": exc}) from exc
    return plan_validate(plan=plan)


@transaction.atomic
def plan_item_restore(*, user, plan_id: int, event_id: int, expected_head: str) -> PlanItem:
    """Bring one row of a draft plan back to one of its history events (a removed row comes back)."""
    plan = _plan_for_restore(user=user, plan_id=plan_id, expected_head=expected_head)
    event = PlanItem.pgh_event_model.objects.filter(pgh_id=event_id, plan_id=plan.pk).first()  # type: ignore[attr-defined]
    if event is None:
        raise TrackingError({"event": [_("no such history entry of this plan's rows")]})
    values = {name: getattr(event, name) for name in PLAN_ITEM_FIELDS}
    item = PlanItem.objects.filter(pk=event.pgh_obj_id).first()
    if item is not None and all(getattr(item, name) == value for name, value in values.items()):
        raise TrackingError(_("this version is the row as it stands: nothing to restore"))
    problems = plan_item_problems(
        plan=plan,
        measure=values["measure_id"],
        year=values["year"],
        count=values["count"],
        ppp_count=values["ppp_count"],
        places_each=values["places_each"],
        region_id=values["region_id"],
        district_id=values["district_id"],
        location=values["location"],
    )
    if problems:
        raise TrackingError(problems)
    try:
        with pghistory.context(restored_event=f"planitem:{event.pgh_id}"), transaction.atomic():
            if item is None:
                item = PlanItem.objects.create(pk=event.pgh_obj_id, plan=plan, **values)
            else:
                PlanItem.objects.filter(pk=item.pk).update(**values)
            _back_to_draft(plan)
    except IntegrityError as exc:
        raise TrackingError(
            _("this plan already has a row for that measure, region, district and year: change or remove it first")
        ) from exc
    item.refresh_from_db()
    return item


@transaction.atomic
def stage_record_restore(*, user, tracked_id: int, event_id: int, version: int) -> StageRecord:
    """State again an earlier version of a stage record (or a deleted one): appended as a new record.

    Checked like any stage record (stage_record_add: region, version, order of stages, proving
    document). The land parcel and infrastructure stages of a facility with a parcel follow the
    parcel data and are refused.
    """
    tracked = TrackedFacility.objects.select_related("facility").get(pk=tracked_id)
    if not can(user, Action.EDIT, region_id=tracked.facility.region_id):
        raise PermissionDeniedError(_("you may update only the facilities of your own region"))
    event = StageRecord.pgh_event_model.objects.filter(pgh_id=event_id, tracked_id=tracked.pk).first()  # type: ignore[attr-defined]
    if event is None:
        raise TrackingError({"event": [_("no such history entry of this facility's stage records")]})
    if event.stage in DERIVED_STAGES and facility_has_parcel(facility_id=tracked.facility_id):
        raise TrackingError(
            {
                "stage": [
                    _(
                        "“%(s)s” follows the facility's land parcel (its act and utility links) and is not "
                        "restored from a hand-entered record: correct the parcel instead"
                    )
                    % {"s": Stage(event.stage).label}
                ]
            }
        )
    latest_events, latest_records = stage_record_latest(tracked_id=tracked.pk)
    if stage_record_is_current(event=event, latest_events=latest_events, latest_records=latest_records):
        raise TrackingError(_("this version is the stage's current record: nothing to restore"))
    values = {name: getattr(event, name) for name in STAGE_RECORD_FIELDS}
    with pghistory.context(restored_event=f"stagerecord:{event.pgh_id}"):
        return stage_record_add(
            tracked=tracked,
            user=user,
            version=version,
            # The files stay where they are: the new record points to the same stored documents.
            doc_file=event.doc_file.name or "",
            photo=event.photo.name or "",
            **values,
        )
