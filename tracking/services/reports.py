"""Submitted (frozen) semi-annual reports."""

from __future__ import annotations

from datetime import date

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.permissions import Action, can
from layers.models import Region
from tracking.models import Report
from tracking.reports import RENDERERS, report_data_build, report_filename
from tracking.services.errors import PermissionDeniedError, TrackingError


@transaction.atomic
def report_submit(
    *,
    kind: str,
    as_of: date,
    language: str,
    user=None,
    region: Region | None = None,
    body=None,
    known_at: date | None = None,
):
    """Freeze a report: build its data snapshot, render XLSX/PDF/CSV from it and store all of them.

    Region reports are the akimat's (EDIT of that region); body and consolidated
    reports the ministry's (PLAN). A submitted report is never rewritten.
    """
    if kind not in Report.Kind.values:
        raise TrackingError({"kind": [_("unknown report kind")]})
    if language not in ("kk", "ru", "en"):
        raise TrackingError({"language": [_("language must be kk, ru or en")]})
    if (as_of.month, as_of.day) not in ((1, 1), (7, 1)):
        raise TrackingError({"as_of": [_("a semi-annual report is made as of 1 January or 1 July")]})
    if kind == Report.Kind.REGION and region is None:
        raise TrackingError({"region": [_("choose the region")]})
    if kind == Report.Kind.BODY and body is None:
        raise TrackingError({"body": [_("choose the responsible body")]})
    if user is not None:
        allowed = (
            can(user, Action.EDIT, region_id=region.id)
            if kind == Report.Kind.REGION
            else can(user, Action.PLAN, region_id=None)
        )
        if not allowed:
            raise PermissionDeniedError(_("you may not submit this report"))
    scope = {
        "region": region if kind == Report.Kind.REGION else None,
        "body": body if kind == Report.Kind.BODY else None,
    }
    if Report.objects.filter(kind=kind, as_of=as_of, language=language, **scope).exists():
        raise TrackingError(_("this report has already been submitted and is frozen"))
    data = report_data_build(kind=kind, as_of=as_of, known_at=known_at, **scope)
    report = Report(
        kind=kind,
        as_of=as_of,
        known_at=date.fromisoformat(data["known_at"]),
        language=language,
        data=data,
        submitted_by=user,
        **scope,
    )
    for fmt, (render, _ctype) in RENDERERS.items():
        getattr(report, f"{fmt}_file").save(
            report_filename(data, language, fmt), ContentFile(render(data, language)), save=False
        )
    report.save()
    return report
