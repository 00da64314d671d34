"""Progress records of the non-construction measures (1–4 and 7–11)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import Action, can
from facilities.models import Measure
from tracking.models import NON_CONSTRUCTION_MEASURES, MeasureRecord
from tracking.services.errors import PermissionDeniedError, TrackingError


@transaction.atomic
def measure_record_add(
    *,
    measure: int,
    status: str,
    region_id: int | None = None,
    period_end: date | None = None,
    doc_number: str = "",
    doc_date: date | None = None,
    doc_file=None,
    executor: str = "",
    note: str = "",
    user=None,
    recorded_at: datetime | None = None,
    is_demo: bool = False,
) -> MeasureRecord:
    """Record progress of a non-construction measure; national rows are the ministry's (PLAN),
    regional rows the akimat's (EDIT of that region)."""
    problems: dict[str, list[str]] = defaultdict(list)
    if measure not in NON_CONSTRUCTION_MEASURES:
        raise TrackingError({"measure": [_("measures 1–4 and 7–11 are tracked here")]})
    m = Measure.objects.prefetch_related("responsible").get(number=measure)
    if user is not None:
        allowed = (
            can(user, Action.PLAN, region_id=None) if region_id is None else can(user, Action.EDIT, region_id=region_id)
        )
        if not allowed:
            raise PermissionDeniedError(_("you may not record this measure for this region"))
    regional = any(b.code == "ЖАО" for b in m.responsible.all())
    if regional and region_id is None:
        problems["region"].append(_("this measure is reported by each region's akimat"))
    if not regional and region_id is not None:
        problems["region"].append(_("this measure is reported nationally by the ministry"))
    if measure == 11 and period_end is None:
        problems["period_end"].append(_("measure 11 is reported for a half-year (June or December)"))
    if measure != 11 and period_end is not None:
        problems["period_end"].append(_("only measure 11 has reporting periods"))
    if status not in MeasureRecord.Status.values:
        problems["status"].append(_("unknown status"))
    if status == MeasureRecord.Status.DONE:
        if not doc_number:
            problems["doc_number"].append(_("the number of the completion document is required"))
        if doc_date is None:
            problems["doc_date"].append(_("the date of the completion document is required"))
        elif doc_date > timezone.localdate():
            problems["doc_date"].append(_("the document cannot be dated in the future"))
    if problems:
        raise TrackingError(dict(problems))
    return MeasureRecord.objects.create(
        measure=m,
        region_id=region_id,
        period_end=period_end,
        status=status,
        doc_kind=m.completion_form_code,
        doc_number=doc_number,
        doc_date=doc_date,
        doc_file=doc_file or "",
        executor=executor,
        note=note,
        recorded_by=user,
        recorded_at=recorded_at or timezone.now(),
        is_demo=is_demo,
    )
