"""Measured KPI values (coverage of school-age children) reported by the ministry each half-year."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import is_ministry
from layers.models import Region
from tracking.models import KPI_CODES, KpiMeasurement
from tracking.services.errors import PermissionDeniedError, TrackingError


def is_half_year_end(day: date) -> bool:
    return (day.month, day.day) in ((6, 30), (12, 31))


@transaction.atomic
def kpi_measurement_set(
    *,
    indicator: str,
    region_id: int | None,
    period_end: date,
    value: Decimal | float | str,
    source: str,
    source_date: date,
    user=None,
    entered_at: datetime | None = None,
    is_demo: bool = False,
) -> KpiMeasurement:
    """Record (or correct) the measured value of a KPI for a half-year, nationally (`region_id=None`)
    or for one region. Only the ministry reports measured coverage; `user=None` is the system (seeders).

    `entered_at` (default now) is when the portal learnt the value: the KPI pages and reports "as known
    at" a date read it from the history, so seeders and tests may date an entry in the past."""
    if user is not None and not is_ministry(user):
        raise PermissionDeniedError(_("only the ministry enters measured KPI values"))
    problems: dict[str, list[str]] = {}
    if indicator not in KPI_CODES:
        problems["indicator"] = [_("unknown indicator")]
    if region_id is not None and not Region.objects.filter(pk=region_id).exists():
        problems["region"] = [_("unknown region")]
    try:
        value = Decimal(str(value))
    except InvalidOperation:
        problems["value"] = [_("enter a number")]
    else:
        if not value.is_finite() or not Decimal(0) <= value <= Decimal(100):
            problems["value"] = [_("a coverage value is a percentage between 0 and 100")]
    source = (source or "").strip()
    if not source:
        problems["source"] = [_("a measured value needs its source")]
    today = timezone.localdate()
    if not is_half_year_end(period_end) or period_end.year < 2023:
        problems["period_end"] = [_("the period is a half-year ending 30 June or 31 December, from 2023")]
    elif period_end > today:
        problems["period_end"] = [_("this half-year has not ended yet")]
    if source_date is None:
        problems["source_date"] = [_("the date of the source is required")]
    elif source_date > today:
        problems["source_date"] = [_("the source cannot be dated in the future")]
    if problems:
        raise TrackingError(problems)
    measurement, _created = KpiMeasurement.objects.update_or_create(
        indicator_id=indicator,
        region_id=region_id,
        period_end=period_end,
        defaults={
            "value": value.quantize(Decimal("0.01")),
            "source": source,
            "source_date": source_date,
            "entered_by": user,
            "entered_at": entered_at or timezone.now(),
            "is_demo": is_demo,
        },
    )
    return measurement
