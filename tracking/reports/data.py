"""The content of a semi-annual report as of a date: a JSON-serialisable snapshot (dates as ISO strings)
holding the texts in all three languages, so a frozen report renders again from it alone."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date

from django.utils import timezone

from facilities.models import CONSTRUCTION_MEASURES, Facility, Measure, ResponsibleBody
from layers.models import Region
from tracking.models import NON_CONSTRUCTION_MEASURES, STAGE_ORDER, Report
from tracking.selectors import (
    INFRASTRUCTURE_MEASURE,
    PARCEL_MEASURE,
    STATUS_ORDER,
    ComplianceCounts,
    Status,
    facility_states_as_of,
    kpi_as_of,
    measure5_compliance,
    measure6_compliance,
    measure_states_as_of,
    measures12_13_plans,
)

# fpdf2 subsets fonts through fontTools, which logs every glyph at INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)


LANGS = ("kk", "ru", "en")


def report_period_dates(*, as_of: date, kind: str) -> dict[str, date]:
    """Due date of a report for the half-year ending the day before `as_of` (1 Jan or 1 Jul)."""
    if (as_of.month, as_of.day) not in ((1, 1), (7, 1)):
        raise ValueError("a semi-annual report is made as of 1 January or 1 July")
    day = 20 if kind == Report.Kind.CONSOLIDATED else 5
    return {"as_of": as_of, "due": date(as_of.year, as_of.month, day)}


def _names(obj, field: str = "name") -> dict[str, str]:
    return {lang: getattr(obj, f"{field}_{lang}", "") or getattr(obj, f"{field}_kk", "") for lang in LANGS}


def report_data_build(
    *,
    kind: str,
    as_of: date,
    known_at: date | None = None,
    region: Region | None = None,
    body: ResponsibleBody | None = None,
) -> dict:
    """The content of an executor (region or body) or consolidated report as of `as_of`.

    `known_at` (default: the report's due date, or today if earlier) limits the data
    to what had been recorded by then, so a past report is reproduced as it stood.
    """
    period = report_period_dates(as_of=as_of, kind=kind)
    if known_at is None:
        known_at = min(period["due"], timezone.localdate())
    known_at = max(known_at, as_of)
    measures = list(Measure.objects.prefetch_related("responsible").order_by("number"))
    if kind == Report.Kind.BODY:
        measures = [m for m in measures if body in m.responsible.all()]
    elif kind == Report.Kind.REGION:
        measures = [m for m in measures if any(b.code == "ЖАО" for b in m.responsible.all())]
    numbers = {m.number for m in measures}
    region_ids = [region.id] if region is not None else None
    all_states = facility_states_as_of(as_of=as_of, known_at=known_at, region_ids=region_ids)
    states = {fid: s for fid, s in all_states.items() if s.measure_id in numbers}
    facilities = {
        f.id: f for f in Facility.objects.filter(id__in=list(states)).select_related("region", "measure__quota")
    }
    measure_rows = []
    for m in measures:
        if m.number not in CONSTRUCTION_MEASURES:
            continue
        mine = [s for s in states.values() if s.measure_id == m.number]
        if region is not None and not mine:
            continue
        statuses = Counter(s.status for s in mine)
        stages = Counter(s.stage_reached for s in mine)
        measure_rows.append(
            {
                "number": m.number,
                "title": _names(m, "title"),
                "deadline": m.deadline_end.isoformat(),
                "responsible": [b.code for b in m.responsible.all()],
                "target_stage": m.quota.target_stage if hasattr(m, "quota") else "",
                "planned": len(mine),
                "done": statuses[Status.DONE_ON_TIME] + statuses[Status.DONE_LATE],
                "statuses": {code: statuses[code] for code in STATUS_ORDER},
                "stages": {code: stages[code] for code in ["none", *STAGE_ORDER]},
            }
        )
    facility_rows = []
    for fid, s in sorted(states.items(), key=lambda kv: (kv[1].measure_id, facilities[kv[0]].region.kato, kv[0])):
        f = facilities[fid]
        facility_rows.append(
            {
                "id": fid,
                "name": _names(f),
                "measure": s.measure_id,
                "region_kato": f.region.kato,
                "region": _names(f.region),
                "deadline": s.deadline.isoformat(),
                "stage_reached": s.stage_reached,
                "target_reached_on": (s.reached.get(s.target_stage) or "") and s.reached[s.target_stage].isoformat(),
                "status": s.status,
                "percent": s.percent,
                "executor": s.executor,
                "overdue_reason": s.overdue_reason
                if s.status in (Status.OVERDUE, Status.AT_RISK, Status.DONE_LATE)
                else "",
                "is_demo": f.is_demo,
            }
        )
    other_rows = []
    other_states = measure_states_as_of(as_of=as_of, known_at=known_at, region_id=region.id if region else None)
    for ms in other_states:
        if ms.measure.number not in numbers:
            continue
        other_rows.append(
            {
                "number": ms.measure.number,
                "title": _names(ms.measure, "title"),
                "region_kato": ms.region.kato if ms.region else "",
                "region": _names(ms.region) if ms.region else {lang: "" for lang in LANGS},
                "period_end": ms.period_end.isoformat() if ms.period_end else "",
                "due": ms.due.isoformat(),
                "status": ms.status,
                "doc_kind": ms.doc_kind,
                "doc_number": ms.doc_number,
                "doc_date": ms.doc_date.isoformat() if ms.doc_date else "",
            }
        )
    kpi_rows = []
    for k in kpi_as_of(as_of=as_of, states=states if region is None else None, known_at=known_at):
        if region is not None and k.region is not None and k.region.id != region.id:
            continue
        if region is not None and k.region is None:
            continue
        kpi_rows.append(
            {
                "code": k.code,
                "region_kato": k.region.kato if k.region else "",
                "region": _names(k.region) if k.region else {"kk": "Қазақстан", "ru": "Казахстан", "en": "Kazakhstan"},
                "places": k.places,
                "population": k.population.value if k.population else None,
                "population_year": k.population.year if k.population else None,
                "population_official": k.population.is_official if k.population else None,
                "population_source": k.population.source if k.population else "",
                "population_level": k.population_level,
                "population_basis": k.population.basis if k.population else None,
                "children": k.children,
                "added_pp": k.added_pp,
                "baseline": k.baseline,
                "value": k.value,
                "target": k.target,
                "measured": k.measured.value if k.measured else None,
                "measured_period_end": k.measured.period_end.isoformat() if k.measured else "",
                "measured_source": k.measured.source if k.measured else "",
                "measured_source_date": k.measured.source_date.isoformat() if k.measured else "",
                "measured_is_demo": k.measured.is_demo if k.measured else False,
            }
        )
    measure5 = (
        _measure5_data(as_of=as_of, known_at=known_at, region_ids=region_ids, states=all_states)
        if PARCEL_MEASURE in numbers
        else None
    )
    measure6 = (
        _measure6_data(as_of=as_of, known_at=known_at, region_ids=region_ids, states=all_states)
        if INFRASTRUCTURE_MEASURE in numbers
        else None
    )
    plans = _plans_data(as_of=as_of, known_at=known_at, region_ids=region_ids, numbers=numbers)
    return {
        "kind": kind,
        "region_kato": region.kato if region else "",
        "region": _names(region) if region else None,
        "body": body.code if body else "",
        "body_name": _names(body) if body else None,
        "as_of": as_of.isoformat(),
        "known_at": known_at.isoformat(),
        "due": period["due"].isoformat(),
        "generated_at": timezone.now().isoformat(timespec="seconds"),
        "is_demo": any(r["is_demo"] for r in facility_rows),
        "measures": measure_rows,
        "facilities": facility_rows,
        "other_measures": other_rows,
        "kpis": kpi_rows,
        "measure5": measure5,
        "measure6": measure6,
        "plans": plans,
        "all_measures": _all_measures_data(
            measures=measures,
            states=states,
            other_states=[ms for ms in other_states if ms.measure.number in numbers],
            measure5=measure5,
            measure6=measure6,
            plans=plans,
        ),
    }


def _counts(c: ComplianceCounts) -> dict:
    return {
        "total": c.total,
        "on_time": c.on_time,
        "late": c.late,
        "not_done": c.not_done,
        "status": c.status,
        "statuses": {code: c.statuses[code] for code in STATUS_ORDER},
    }


def _measure5_data(*, as_of: date, known_at: date, region_ids, states) -> dict:
    """Measure 5 by region and district: plan facilities with the land-use act by the deadline, late, without."""
    measure = Measure.objects.get(number=PARCEL_MEASURE)
    rows = measure5_compliance(as_of=as_of, known_at=known_at, region_ids=region_ids, states=states)
    total = ComplianceCounts.summed(rows)
    no_district = {"kk": "аудан көрсетілмеген", "ru": "район не указан", "en": "district not given"}
    return {
        "deadline": measure.deadline_end.isoformat(),
        "rows": [
            {
                "region_kato": row.region.kato,
                "region": _names(row.region),
                "district_kato": row.district.kato if row.district else "",
                "district": _names(row.district) if row.district else no_district,
                **_counts(row),
            }
            for row in rows
        ],
        "total": _counts(total),
    }


def _measure6_data(*, as_of: date, known_at: date, region_ids, states) -> dict:
    """Measure 6 by utility and region: required links connected by the deadline, late, not connected."""
    measure = Measure.objects.get(number=INFRASTRUCTURE_MEASURE)
    rows = measure6_compliance(as_of=as_of, known_at=known_at, region_ids=region_ids, states=states)
    total = ComplianceCounts.summed(rows)
    return {
        "deadline": measure.deadline_end.isoformat(),
        "rows": [
            {
                "utility": row.utility.code,
                "utility_name": _names(row.utility),
                "region_kato": row.region.kato,
                "region": _names(row.region),
                **_counts(row),
            }
            for row in rows
        ],
        "total": _counts(total),
    }


def _plans_data(*, as_of: date, known_at: date, region_ids, numbers: set[int]) -> dict:
    """Measures 12–13: the consolidated plan in force (version, approval date) and its objects per region."""
    plans, rows = measures12_13_plans(as_of=as_of, known_at=known_at, region_ids=region_ids)
    plans = {n: p for n, p in plans.items() if n in numbers}
    return {
        "plans": [
            {
                "measure": p.plan_measure,
                "deadline": p.deadline.isoformat(),
                "status": p.status,
                "version": p.version,
                "approved_on": p.approved_on.isoformat() if p.approved_on else "",
                "objects": sum(n for rid, n in p.objects_by_region.items() if region_ids is None or rid in region_ids),
            }
            for p in plans.values()
        ],
        "rows": [
            {
                "measure": row.plan.plan_measure,
                "region_kato": row.region.kato,
                "region": _names(row.region),
                "version": row.plan.version,
                "approved_on": row.plan.approved_on.isoformat() if row.plan.approved_on else "",
                "objects": row.objects,
            }
            for row in rows
            if row.plan.plan_measure in plans
        ],
    }


# What a measure's numbers count, per measure, in the table of all measures.
UNIT_FACILITIES = "facilities"
UNIT_LINKS = "links"
UNIT_PLANS = "plans"
UNIT_RECORDS = "records"


def _all_measures_data(*, measures, states, other_states, measure5, measure6, plans) -> list[dict]:
    """One row per measure of the report (1–26 in the consolidated one) with its numbers: the units it
    counts (facilities, utility links, plans, or region/half-year records), how many are done on time,
    late, not done, each status, and the measure's overall status."""
    by_measure: dict[int, tuple[str, dict]] = {}
    for m in measures:
        counts = ComplianceCounts()
        if m.number in CONSTRUCTION_MEASURES:
            for s in states.values():
                if s.measure_id == m.number:
                    counts.add(s.status)
            by_measure[m.number] = (UNIT_FACILITIES, _counts(counts))
        elif m.number in NON_CONSTRUCTION_MEASURES:
            for ms in other_states:
                if ms.measure.number == m.number:
                    counts.add(ms.status)
            by_measure[m.number] = (UNIT_RECORDS, _counts(counts))
    if measure5 is not None:
        by_measure[PARCEL_MEASURE] = (UNIT_FACILITIES, measure5["total"])
    if measure6 is not None:
        by_measure[INFRASTRUCTURE_MEASURE] = (UNIT_LINKS, measure6["total"])
    for plan in plans["plans"]:
        counts = ComplianceCounts()
        counts.add(plan["status"])
        by_measure[plan["measure"]] = (UNIT_PLANS, _counts(counts))
    return [
        {
            "number": m.number,
            "title": _names(m, "title"),
            "deadline": m.deadline_end.isoformat(),
            "responsible": [b.code for b in m.responsible.all()],
            "unit": by_measure[m.number][0],
            **by_measure[m.number][1],
        }
        for m in measures
        if m.number in by_measure
    ]
