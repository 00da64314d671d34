"""Deadlines coming up or passed, per region or for the ministry (pages, digest), and change lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import (
    Q,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from facilities.models import Facility, Measure
from gis_portal.i18n import current_language
from layers.models import PopulationFigure, Region
from tracking.models import (
    Stage,
    TrackedFacility,
)
from tracking.selectors.compliance import (
    INFRASTRUCTURE_MEASURE,
    PARCEL_MEASURE,
    measure5_compliance,
    measure6_compliance,
)
from tracking.selectors.measures import measure_states_as_of
from tracking.selectors.states import DONE_STATUSES, FacilityState, Status, facility_states_as_of

# --- reminders -------------------------------------------------------------------------------------


@dataclass
class Reminder:
    due: date
    what: str
    region: Region | None
    facility_id: int | None = None


def report_due_dates(*, start: date, end: date) -> list[tuple[date, str]]:
    """Report due dates of the order's clauses 2 and 3 between start and end: (due, 'executor'|'ministry')."""
    out = []
    for year in range(start.year, end.year + 1):
        for due, who in (
            (date(year, 1, 5), "executor"),
            (date(year, 7, 5), "executor"),
            (date(year, 1, 20), "ministry"),
            (date(year, 7, 20), "ministry"),
        ):
            if start <= due <= end:
                out.append((due, who))
    return sorted(out)


def reminders_for(*, region_ids: list[int] | None, is_ministry: bool, today: date, days: int = 60) -> list[Reminder]:
    """What falls due within `days` from `today`: facility deadlines and planned stages, measure
    deadlines and reports. `region_ids=None` means all regions (ministry users)."""
    end = today + timedelta(days=days)
    states = facility_states_as_of(as_of=today, known_at=timezone.now(), region_ids=region_ids)
    names = dict(Facility.objects.filter(id__in=list(states)).values_list("id", "name_" + current_language()))
    regions = {r.id: r for r in Region.objects.all()}
    out: list[Reminder] = []
    for s in states.values():
        if s.status in DONE_STATUSES:
            continue
        if today <= s.deadline <= end:
            out.append(
                Reminder(
                    s.deadline,
                    _("deadline: %(name)s") % {"name": names.get(s.facility_id, "")},
                    regions.get(s.region_id),
                    s.facility_id,
                )
            )
        for stage, planned in s.planned.items():
            if today <= planned <= end:
                out.append(
                    Reminder(
                        planned,
                        _("planned stage “%(stage)s”: %(name)s")
                        % {"stage": Stage(stage).label, "name": names.get(s.facility_id, "")},
                        regions.get(s.region_id),
                        s.facility_id,
                    )
                )
        if s.status == Status.OVERDUE:
            out.append(
                Reminder(
                    today,
                    _("overdue since %(d)s: %(name)s") % {"d": s.deadline, "name": names.get(s.facility_id, "")},
                    regions.get(s.region_id),
                    s.facility_id,
                )
            )
    for ms in measure_states_as_of(as_of=today, known_at=timezone.now()):
        if ms.status in DONE_STATUSES:
            continue
        if ms.region is None and not is_ministry:
            continue
        if ms.region is not None and region_ids is not None and ms.region.id not in region_ids:
            continue
        if today <= ms.due <= end:
            out.append(Reminder(ms.due, _("measure %(n)s is due") % {"n": ms.measure.number}, ms.region))
    out.extend(_parcel_infrastructure_reminders(states=states, today=today, end=end))
    for due, who in report_due_dates(start=today, end=end):
        if who == "executor":
            out.append(Reminder(due, _("semi-annual executor report is due (order, clause 2)"), None))
        elif is_ministry:
            out.append(Reminder(due, _("consolidated report to the Government is due (order, clause 3)"), None))
    return sorted(out, key=lambda r: (r.due, str(r.what)))


# "n of total facilities": the noun agrees with the total (ngettext_lazy picks the form by params["total"]).
MEASURE5_DUE_TEXT = ngettext_lazy(
    "measure 5 is due: %(n)s of %(total)s facility without a land-use act",
    "measure 5 is due: %(n)s of %(total)s facilities without a land-use act",
    "total",
)
MEASURE5_OVERDUE_TEXT = ngettext_lazy(
    "measure 5 overdue since %(d)s: %(n)s of %(total)s facility without a land-use act",
    "measure 5 overdue since %(d)s: %(n)s of %(total)s facilities without a land-use act",
    "total",
)
MEASURE6_DUE_TEXT = ngettext_lazy(
    "measure 6 is due: %(n)s of %(total)s required utility link not connected",
    "measure 6 is due: %(n)s of %(total)s required utility links not connected",
    "total",
)
MEASURE6_OVERDUE_TEXT = ngettext_lazy(
    "measure 6 overdue since %(d)s: %(n)s of %(total)s required utility link not connected",
    "measure 6 overdue since %(d)s: %(n)s of %(total)s required utility links not connected",
    "total",
)


def _parcel_infrastructure_reminders(*, states: dict[int, FacilityState], today: date, end: date) -> list[Reminder]:
    """Per region: measure 5 or 6 falling due by `end` with work left, or past its deadline with work left."""
    out = []
    compliance = (
        (PARCEL_MEASURE, measure5_compliance, MEASURE5_DUE_TEXT, MEASURE5_OVERDUE_TEXT),
        (INFRASTRUCTURE_MEASURE, measure6_compliance, MEASURE6_DUE_TEXT, MEASURE6_OVERDUE_TEXT),
    )
    for number, build, due_text, overdue_text in compliance:
        deadline = Measure.objects.values_list("deadline_end", flat=True).get(number=number)
        by_region: dict[int, list[int]] = {}
        regions = {}
        for row in build(as_of=today, states=states):
            totals = by_region.setdefault(row.region.id, [0, 0])
            totals[0] += row.not_done
            totals[1] += row.total
            regions[row.region.id] = row.region
        for region_id, (left, total) in sorted(by_region.items(), key=lambda kv: regions[kv[0]].kato):
            if not left:
                continue
            if today <= deadline <= end:
                out.append(Reminder(deadline, due_text % {"n": left, "total": total}, regions[region_id]))
            elif today > deadline:
                out.append(
                    Reminder(today, overdue_text % {"d": deadline, "n": left, "total": total}, regions[region_id])
                )
    return out


def population_figures():
    return (
        PopulationFigure.objects.filter(district__isnull=True)
        .select_related("region")
        .filter(
            Q(indicator=PopulationFigure.Indicator.SCHOOL_AGE_6_17)
            | Q(indicator=PopulationFigure.Indicator.TOTAL, year__gte=2020)
            | Q(indicator=PopulationFigure.Indicator.CHILDREN_0_15)
        )
        .order_by("indicator", "region__kato", "year")
    )


def district_population_figures():
    """Figures of districts (loaded from ministry files), by region, district, year and age band."""
    return (
        PopulationFigure.objects.filter(district__isnull=False)
        .select_related("region", "district")
        .order_by("region__kato", "district__kato", "-year", "indicator", "age_from")
    )


def tracked_facility_changes(*, tracked_id: int, limit: int = 30) -> list[dict]:
    """pghistory events of a tracked facility where the executor or the reason for delay changed."""
    event_model = TrackedFacility.pgh_event_models["update"]
    events = list(
        event_model.objects.filter(pgh_obj_id=tracked_id)
        .order_by("pgh_created_at", "pgh_id")
        .values("pgh_created_at", "pgh_label", "executor", "overdue_reason", "version", "pgh_context__metadata")
    )
    out, previous = [], None
    for e in events:
        key = (e["executor"], e["overdue_reason"])
        if key != previous:
            user = (e["pgh_context__metadata"] or {}).get("user")
            out.append({**e, "user": user})
        previous = key
    return out[-limit:][::-1]
