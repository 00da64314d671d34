"""Stage records of tracked facilities (planned/actual dates, progress, proving documents) and the reason
for delay. Every write bumps the facility's version: a stale version is refused (optimistic lock)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import Action, can
from tracking.lifecycle import DERIVED_STAGES, facility_has_parcel, parcel_facts_as_of
from tracking.models import STAGE_FIELD, STAGE_ORDER, STAGE_PREDECESSOR, Stage, StageRecord, TrackedFacility
from tracking.services.errors import PermissionDeniedError, StaleVersionError, TrackingError


@transaction.atomic
def stage_record_add(
    *,
    tracked: TrackedFacility,
    stage: str,
    user=None,
    version: int | None = None,
    planned_date: date | None = None,
    actual_date: date | None = None,
    percent: int | None = None,
    places_in_use: int | None = None,
    doc_number: str = "",
    doc_date: date | None = None,
    doc_file=None,
    photo=None,
    executor: str = "",
    note: str = "",
    overdue_reason: str | None = None,
    recorded_at: datetime | None = None,
) -> StageRecord:
    """Record a stage (planned and/or actual date with its document) or a progress update.

    Checks, each reported by field: the user's region (accounts.permissions), the
    version (optimistic lock: 409 on a stale one), the stage order and dates, the
    proving document. The snapshot row's CHECK constraints enforce the order again.
    """
    tracked = TrackedFacility.objects.select_for_update().select_related("facility").get(pk=tracked.pk)
    if user is not None and not can(user, Action.EDIT, region_id=tracked.facility.region_id):
        raise PermissionDeniedError(_("you may update only the facilities of your own region"))
    if version is not None and version != tracked.version:
        raise StaleVersionError(
            {
                "version": [
                    _("the facility was changed by someone else (version %(v)s): reload") % {"v": tracked.version}
                ]
            }
        )
    problems: dict[str, list[str]] = defaultdict(list)
    if stage not in STAGE_ORDER:
        raise TrackingError({"stage": [_("unknown stage “%(s)s”") % {"s": stage}]})
    if stage in DERIVED_STAGES and facility_has_parcel(facility_id=tracked.facility_id):
        # One source for each fact: the parcel's act and its links decide these two stages.
        raise TrackingError(
            {
                "stage": [
                    _(
                        "“%(s)s” follows the facility's land parcel (its act and utility links): "
                        "record it on the parcel page, not here"
                    )
                    % {"s": Stage(stage).label}
                ]
            }
        )
    now_day = (recorded_at or timezone.now()).astimezone(timezone.get_current_timezone()).date()
    if planned_date is None and actual_date is None:
        problems["actual_date"].append(_("give a planned or an actual date"))
    if actual_date is not None and actual_date > now_day:
        problems["actual_date"].append(_("an actual date cannot be in the future"))
    if actual_date is not None and actual_date < date(2023, 1, 1):
        problems["actual_date"].append(_("an actual date must be within the roadmap (2023 or later)"))
    if stage == Stage.CONSTRUCTION_PROGRESS:
        if actual_date is None:
            problems["actual_date"].append(_("a progress update needs its date"))
        if percent is None or not 0 <= percent <= 100:
            problems["percent"].append(_("percent complete between 0 and 100"))
    elif percent is not None:
        problems["percent"].append(_("percent is given only for construction progress"))
    if actual_date is not None and stage != Stage.CONSTRUCTION_PROGRESS:
        if not doc_number:
            problems["doc_number"].append(_("the number of the proving document is required"))
        if doc_date is None:
            problems["doc_date"].append(_("the date of the proving document is required"))
        elif doc_date > actual_date + timedelta(days=0) and stage != Stage.OPENED:
            problems["doc_date"].append(_("the document cannot be dated after the stage"))
    if stage == Stage.OPENED and actual_date is not None and not places_in_use:
        problems["places_in_use"].append(_("give the number of places in use"))
    effective = _effective_dates(tracked)
    if actual_date is not None:
        pred = STAGE_PREDECESSOR.get(Stage(stage))
        while pred is not None:
            pred_on = effective.get(pred)
            if pred_on is None:
                problems["stage"].append(
                    _("“%(s)s” cannot be done before “%(p)s”") % {"s": Stage(stage).label, "p": pred.label}
                )
                break
            if pred_on > actual_date:
                problems["actual_date"].append(
                    _("“%(s)s” cannot be dated before “%(p)s” (%(d)s)")
                    % {"s": Stage(stage).label, "p": pred.label, "d": pred_on}
                )
                break
            pred = STAGE_PREDECESSOR.get(pred)
        for later, later_pred in STAGE_PREDECESSOR.items():
            if later_pred == stage and stage != Stage.CONSTRUCTION_PROGRESS:
                later_on = effective.get(later)
                if later_on is not None and later_on < actual_date:
                    problems["actual_date"].append(
                        _("“%(l)s” is already dated %(d)s, before this date") % {"l": later.label, "d": later_on}
                    )
    if problems:
        raise TrackingError(dict(problems))
    record = StageRecord.objects.create(
        tracked=tracked,
        stage=stage,
        planned_date=planned_date,
        actual_date=actual_date,
        percent=percent,
        places_in_use=places_in_use if stage == Stage.OPENED else None,
        doc_number=doc_number,
        doc_date=doc_date,
        doc_file=doc_file or "",
        photo=photo or "",
        executor=executor,
        note=note,
        recorded_at=recorded_at or timezone.now(),
        recorded_by=user,
    )
    field = STAGE_FIELD[Stage(stage)]
    if actual_date is not None:
        if stage == Stage.CONSTRUCTION_PROGRESS:
            if tracked.construction_progress_on is None or actual_date < tracked.construction_progress_on:
                tracked.construction_progress_on = actual_date
            tracked.progress_percent = percent
        else:
            setattr(tracked, field, actual_date)
        if stage == Stage.OPENED:
            tracked.places_in_use = places_in_use
    if executor:
        tracked.executor = executor
    if overdue_reason is not None:
        tracked.overdue_reason = overdue_reason
    tracked.version = F("version") + 1
    try:
        with transaction.atomic():
            tracked.save()
    except IntegrityError as exc:  # the CHECK constraints on the order of stages
        raise TrackingError({"stage": [_("the order of stages is violated")]}) from exc
    return record


def _effective_dates(tracked: TrackedFacility) -> dict[str, date]:
    """Today's date of each stage reached: the snapshot's, the parcel data's for the derived stages."""
    dates = {stage: getattr(tracked, STAGE_FIELD[stage]) for stage in STAGE_ORDER}
    if facility_has_parcel(facility_id=tracked.facility_id):
        today = timezone.localdate()
        facts = parcel_facts_as_of(facility_ids=[tracked.facility_id], as_of=today, cutoff=timezone.now())
        derived = facts.get(tracked.facility_id)
        for stage in DERIVED_STAGES:
            dates[stage] = derived.reached().get(stage) if derived else None
    return {stage: day for stage, day in dates.items() if day is not None}


@transaction.atomic
def overdue_reason_set(*, tracked: TrackedFacility, reason: str, user=None, version: int | None = None) -> None:
    tracked = TrackedFacility.objects.select_for_update().select_related("facility").get(pk=tracked.pk)
    if user is not None and not can(user, Action.EDIT, region_id=tracked.facility.region_id):
        raise PermissionDeniedError(_("you may update only the facilities of your own region"))
    if version is not None and version != tracked.version:
        raise StaleVersionError({"version": [_("the facility was changed by someone else: reload")]})
    TrackedFacility.objects.filter(pk=tracked.pk).update(overdue_reason=reason, version=F("version") + 1)


@transaction.atomic
def stage_disagreement_review(*, user, record_id: int) -> int:
    """A planner marks a hand-entered parcel/infrastructure stage, superseded by the parcel data, as
    reviewed (it leaves the disagreements list; the parcel data keep deciding). Returns rows marked."""
    if not can(user, Action.PLAN, region_id=None):
        raise PermissionDeniedError(_("only the ministry reviews disagreements"))
    record = StageRecord.objects.filter(pk=record_id, superseded_by_parcel=True).first()
    if record is None:
        raise TrackingError({"record": [_("no superseded stage record with this number")]})
    return StageRecord.objects.filter(
        tracked_id=record.tracked_id, stage=record.stage, superseded_by_parcel=True, reviewed_at=None
    ).update(reviewed_at=timezone.now(), reviewed_by=user)
