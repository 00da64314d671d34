"""Semi-annual reports of the order (clauses 2–3): data as of a date, rendered as XLSX, PDF and CSV.

`report_data_build` returns a JSON-serialisable snapshot holding the texts in all
three languages, so a frozen report can be rendered again from its snapshot
alone. The renderers read nothing from the database.
"""

from __future__ import annotations

import bisect
import csv
import io
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.utils import timezone, translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from fpdf import FPDF
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from facilities.models import CONSTRUCTION_MEASURES, Facility, Measure, ResponsibleBody
from layers.models import Region
from tracking.models import NON_CONSTRUCTION_MEASURES, STAGE_ORDER, Report, Stage
from tracking.selectors import (
    INFRASTRUCTURE_MEASURE,
    PARCEL_MEASURE,
    POPULATION_LEVEL_LABELS,
    STATUS_LABELS,
    STATUS_ORDER,
    UNIT_LABELS,
    ComplianceCounts,
    Status,
    facility_states_as_of,
    kpi_as_of,
    measure5_compliance,
    measure6_compliance,
    measure_states_as_of,
    measures12_13_plans,
    rollup_status,
)

# fpdf2 subsets fonts through fontTools, which logs every glyph at INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)

LANGS = ("kk", "ru", "en")
PDF_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
PDF_FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


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


# --- rendering ---------------------------------------------------------------------------------------


def _title(data: dict, lang: str) -> str:
    with translation.override(lang):
        if data["kind"] == Report.Kind.CONSOLIDATED:
            head = _("Consolidated report of the Ministry of Enlightenment to the Government")
        elif data["kind"] == Report.Kind.BODY:
            head = _("Executor report of %(body)s") % {"body": data["body"]}
        else:
            head = _("Executor report of the akimat: %(region)s") % {"region": data["region"][lang]}
        return head


def _stage_label(code: str) -> str:
    return _("no stage yet") if code == "none" else str(Stage(code).label)


def _kpi_row(k: dict, lang: str, names: dict) -> list:
    """One KPI row of a report: target, measured value (or "not reported") and the labelled estimate.
    Snapshots frozen before measured values existed lack their keys and read as "not reported"."""
    measured = k.get("measured")
    if measured is None:
        measured_text = str(_("not reported"))
    else:
        measured_text = "; ".join(
            part
            for part in (
                str(_("half-year to %(period)s") % {"period": k["measured_period_end"]}),
                k["measured_source"],
                k["measured_source_date"],
                str(_("DEMO")) if k.get("measured_is_demo") else "",
            )
            if part
        )
    level = k.get("population_level")
    return [
        str(names.get(k["code"], k["code"])),
        k["region"][lang],
        k["target"] if k["target"] is not None else "",
        measured if measured is not None else "",
        measured_text,
        k["added_pp"] if k["added_pp"] is not None else "",
        k["value"] if k["value"] is not None else "",
        k["baseline"] if k["baseline"] is not None else "",
        k["places"],
        k.get("children", ""),
        str(POPULATION_LEVEL_LABELS[level]) if level in POPULATION_LEVEL_LABELS else "",
        k["population"] if k["population"] is not None else "",
        ""
        if k["population"] is None
        else (_("official") if k["population_official"] else _("ESTIMATE (not official)")) + f" {k['population_year']}",
    ]


def _percent(value) -> str:
    # A no-break space keeps "90 %" together when a cell wraps.
    return "" if value is None else f" ({value}\u00a0%)"


def _day(iso: str) -> date | None:
    """A snapshot date (ISO string, or "" when unknown) as a date, so the renderers can type it."""
    return date.fromisoformat(iso) if iso else None


# Kazakh titles name the regions first, in the locative ("…облыстарында, Астана қаласында 5 … салу").
_KK_PLACE = re.compile(r"(облыстарында|облысында|қалаларында|қаласында),?\s+")
_REGION_MARKS = {"en": (" in ", ("region", "city")), "ru": (" в ", ("област", "город"))}
MEASURE_LABEL_MAX = 44


def measure_title_split(title: str, lang: str) -> tuple[str, str]:
    """A measure's title as (what, regions): the order writes the regions of a construction measure into
    its title ("Construction of 5 health centres in Abai, … regions and Astana city"). `regions` is
    "" when the title names none."""
    title = " ".join(title.split())
    if lang == "kk":
        places = list(_KK_PLACE.finditer(title))
        if places:
            end = places[-1].end()
            return title[end:], title[:end].strip().rstrip(",")
        return title, ""
    sep, marks = _REGION_MARKS.get(lang, ("", ()))
    head, found, tail = title.partition(sep) if sep else (title, "", "")
    # "в разрезе областей" (broken down by regions) is not a list of regions: a list starts with a name.
    if found and any(m in tail for m in marks) and (tail[:1].isupper() or tail.startswith(marks)):
        return head, tail
    return title, ""


def measure_label(number: int, title: str, lang: str) -> str:
    """A short label for tables, "№15 5 health centres": the objects of a construction measure (what
    and how many; the section says it is built), else the title's first words, ≤ ~45 characters."""
    what, regions = measure_title_split(title, lang)
    what = re.sub(r"\s*\([^)]*\)", "", what).strip()
    digit = re.search(r"\d", what)
    if regions and digit:
        what = what[digit.start() :]
    if len(what) > MEASURE_LABEL_MAX:
        what = what[:MEASURE_LABEL_MAX].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return f"№{number} {what}"


def report_tables(data: dict, lang: str, *, printed: bool = False) -> dict[str, tuple[list[str], list[list]]]:
    """The report's tables (header, rows) in `lang`; shared by the XLSX, PDF and CSV renderers.

    `printed` (the PDF): measure 5 by region rather than by region and district, so the printed
    report stays short; the XLSX and CSV keep every district."""
    with translation.override(lang):
        status = {code: str(label) for code, label in STATUS_LABELS.items()}
        measures = (
            [
                _("Measure"),
                _("Regions"),
                _("Deadline"),
                _("Target stage"),
                _("Planned objects"),
                _("Done"),
                *[status[c] for c in STATUS_ORDER],
                _("Stage reached"),
            ],
            [
                [
                    measure_label(m["number"], m["title"][lang], lang),
                    measure_title_split(m["title"][lang], lang)[1],
                    _day(m["deadline"]),
                    _stage_label("accepted" if m["target_stage"] == "acceptance" else "expertise"),
                    m["planned"],
                    m["done"],
                    *[m["statuses"][c] for c in STATUS_ORDER],
                    "; ".join(f"{_stage_label(code)}: {n}" for code, n in m["stages"].items() if n),
                ]
                for m in data["measures"]
            ],
        )
        facilities = (
            [
                _("Measure"),
                _("Region"),
                _("Facility"),
                _("Deadline"),
                _("Stage reached"),
                _("Status"),
                _("Responsible executor"),
                _("Reason for delay"),
            ],
            [
                [
                    f["measure"],
                    f["region"][lang],
                    f["name"][lang],
                    _day(f["deadline"]),
                    _stage_label(f["stage_reached"]) + _percent(f["percent"]),
                    status[f["status"]],
                    f["executor"],
                    f["overdue_reason"],
                ]
                for f in data["facilities"]
            ],
        )
        overdue = (
            facilities[0],
            [
                row
                for row, f in zip(facilities[1], data["facilities"], strict=True)
                if f["status"] in (Status.OVERDUE, Status.AT_RISK)
            ],
        )
        other = (
            [
                _("Measure"),
                _("Region"),
                _("Period"),
                _("Due"),
                _("Status"),
                _("Completion form"),
                _("Document"),
                capfirst(_("document date")),
            ],
            [
                [
                    measure_label(o["number"], o["title"][lang], lang),
                    o["region"][lang],
                    _day(o["period_end"]),
                    _day(o["due"]),
                    status[o["status"]],
                    o["doc_kind"],
                    o["doc_number"],
                    _day(o["doc_date"]),
                ]
                for o in (_other_by_period(data["other_measures"], lang) if printed else data["other_measures"])
            ],
        )
        kpi_names = {
            "recreation_coverage": _("recreation coverage"),
            "additional_education_coverage": _("additional education coverage"),
        }
        kpis = (
            [
                _("Indicator"),
                _("Region"),
                _("Target, %"),
                _("Measured, %"),
                _("Measured: half-year, source, source date"),
                _("ESTIMATE: added by roadmap facilities, p.p."),
                _("ESTIMATE: baseline 2023 + added, %"),
                _("Baseline 2023, %"),
                _("Places in open facilities"),
                _("ESTIMATE: children served a year"),
                _("Population used (level)"),
                _("School-age population"),
                _("Population: official or estimate"),
            ],
            [_kpi_row(k, lang, kpi_names) for k in data["kpis"]],
        )
        tables = {
            str(_("Construction measures")): measures,
            str(_("Overdue and at risk")): overdue,
            str(_("Facilities")): facilities,
            str(_("Other measures")): other,
            str(_("KPI")): kpis,
        }
        tables.update(_compliance_tables(data, lang, status, by_district=not printed))
        return tables


def _other_by_period(rows: list[dict], lang: str) -> list[dict]:
    """Rows of the non-construction measures that each region reports, summed per measure and period
    for print: one row says how many regions reported (status rolled up); the XLSX and CSV keep one
    row per region with its document. Rows of the ministry and other bodies pass through."""
    out: list[dict] = []
    groups: dict[tuple, dict] = {}
    for o in rows:
        if not o["region_kato"]:
            out.append(o)
            continue
        key = (o["number"], o["period_end"], o["due"])
        group = groups.get(key)
        if group is None:
            group = groups[key] = {**o, "regions": 0, "documents": 0, "statuses": Counter()}
            out.append(group)
        group["regions"] += 1
        group["documents"] += bool(o["doc_number"])
        group["statuses"][o["status"]] += 1
    for group in groups.values():
        group["region"] = dict.fromkeys(LANGS, _("%(n)s regions") % {"n": group["regions"]})
        group["status"] = rollup_status(group["statuses"])
        group["doc_number"] = _("documents: %(done)s of %(n)s") % {"done": group["documents"], "n": group["regions"]}
        group["doc_date"] = ""
    return out


def _by_region(rows: list[dict]) -> list[dict]:
    """Measure 5 rows of districts summed per region (counts added, statuses rolled up)."""
    regions: dict[str, dict] = {}
    for r in rows:
        into = regions.setdefault(
            r["region_kato"],
            {**r, "district": dict.fromkeys(LANGS, ""), "total": 0, "on_time": 0, "late": 0, "statuses": Counter()},
        )
        for key in ("total", "on_time", "late"):
            into[key] += r[key]
        into["statuses"].update(r["statuses"])
    for into in regions.values():
        into["not_done"] = into["total"] - into["on_time"] - into["late"]
        into["status"] = rollup_status(into["statuses"])
    return list(regions.values())


def _compliance_tables(
    data: dict, lang: str, status: dict[str, str], *, by_district: bool = True
) -> dict[str, tuple[list[str], list[list]]]:
    """Every measure with its numbers, and measures 5, 6, 12–13 in detail (called inside the language override).

    Sheet names: at most 31 characters and no ':' (Excel)."""

    def label(code: str) -> str:
        return status.get(code, "—")

    tables: dict[str, tuple[list[str], list[list]]] = {}
    if data.get("all_measures"):
        tables[str(_("All measures"))] = (
            [
                _("Measure"),
                _("Deadline"),
                _("Responsible"),
                _("Counted"),
                _("Total"),
                _("Done on time"),
                _("Done late"),
                _("Not done"),
                _("Status"),
            ],
            [
                [
                    measure_label(m["number"], m["title"][lang], lang),
                    _day(m["deadline"]),
                    ", ".join(m["responsible"]),
                    str(UNIT_LABELS[m["unit"]]),
                    m["total"],
                    m["on_time"],
                    m["late"],
                    m["not_done"],
                    label(m["status"]),
                ]
                for m in data["all_measures"]
            ],
        )
    national = {"kk": "Қазақстан", "ru": "Казахстан", "en": "Kazakhstan"}[lang]
    whole = data["region"][lang] if data.get("region") else national
    m5 = data.get("measure5")
    if m5 is not None:
        total = m5["total"]
        tables[str(_("Measure 5 — land parcels"))] = (
            [
                _("Region"),
                _("District"),
                _("Facilities of the approved plans"),
                _("Land-use act by %(d)s") % {"d": m5["deadline"]},
                _("Act after the deadline"),
                _("Without an act"),
                _("Status"),
            ],
            [
                *[
                    [
                        r["region"][lang],
                        r["district"][lang],
                        r["total"],
                        r["on_time"],
                        r["late"],
                        r["not_done"],
                        label(r["status"]),
                    ]
                    for r in (m5["rows"] if by_district else _by_region(m5["rows"]))
                ],
                [
                    whole,
                    _("total"),
                    total["total"],
                    total["on_time"],
                    total["late"],
                    total["not_done"],
                    label(total["status"]),
                ],
            ],
        )
    if m5 is not None and not by_district:
        name = str(_("Measure 5 — land parcels"))
        header, rows = tables[name]
        tables[name] = (
            [h for n, h in enumerate(header) if n != 1],
            [[v for n, v in enumerate(r) if n != 1] for r in rows],
        )
    m6 = data.get("measure6")
    if m6 is not None:
        total = m6["total"]
        tables[str(_("Measure 6 — infrastructure"))] = (
            [
                _("Utility"),
                _("Region"),
                _("Required links"),
                _("Connected by %(d)s") % {"d": m6["deadline"]},
                _("Connected after the deadline"),
                _("Not connected"),
                _("Status"),
            ],
            [
                *[
                    [
                        r["utility_name"][lang],
                        r["region"][lang],
                        r["total"],
                        r["on_time"],
                        r["late"],
                        r["not_done"],
                        label(r["status"]),
                    ]
                    for r in m6["rows"]
                ],
                [
                    _("total"),
                    whole,
                    total["total"],
                    total["on_time"],
                    total["late"],
                    total["not_done"],
                    label(total["status"]),
                ],
            ],
        )
    plans = data.get("plans")
    if plans and plans["plans"]:
        tables[str(_("Measures 12–13 — plans"))] = (
            [_("Measure"), _("Region"), _("Plan version"), _("Approved on"), _("Objects"), _("Status")],
            [
                *[
                    [p["measure"], whole, p["version"] or "", p["approved_on"], p["objects"], label(p["status"])]
                    for p in plans["plans"]
                ],
                *[
                    [r["measure"], r["region"][lang], r["version"] or "", r["approved_on"], r["objects"], ""]
                    for r in plans["rows"]
                ],
            ],
        )
    return tables


def _header_lines(data: dict, lang: str) -> list[str]:
    with translation.override(lang):
        lines = [
            _title(data, lang),
            _as_of_line(data),
            _("Generated %(at)s") % {"at": data["generated_at"]},
            _(
                "KPI method: children covered = places in use of the roadmap's open facilities; national value = "
                "the order's 2023 baseline + those places as a share of the school-age (6–17) population. "
                "Population figures marked ESTIMATE are not official."
            ),
        ]
        if data["is_demo"]:
            lines.append(_demo_line())
        return lines


def _as_of_line(data: dict) -> str:
    return _("As of %(as_of)s (data recorded by %(known)s); due %(due)s. Order No. 191-ө, clauses 2–3.") % {
        "as_of": data["as_of"],
        "known": data["known_at"],
        "due": data["due"],
    }


def _demo_line() -> str:
    return _("DEMO DATA: the facilities and their stages are invented, not official records.")


# --- layout of the tables ------------------------------------------------------------------------------
#
# The renderers are generic over the sections of report_tables: a column's alignment, number format and
# width follow from the types of its cells (int/float, date, text). What types cannot tell is declared in
# TABLE_HINTS, keyed by the section's msgid; a section without an entry gets the defaults.


@dataclass(frozen=True)
class TableHints:
    # A totals row summing every column of integers (counts) but the first, which holds its label.
    totals: bool = False


TABLE_HINTS: dict[str, TableHints] = {
    gettext_noop("Construction measures"): TableHints(totals=True),
}

NUMBER, DATE, TEXT = "number", "date", "text"


def _hints(name: str, lang: str) -> TableHints:
    with translation.override(lang):
        for msgid, hints in TABLE_HINTS.items():
            if _(msgid) == name:
                return hints
    return TableHints()


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _blank(value) -> bool:
    return value is None or value == ""


def _column_kinds(header: list, rows: list[list]) -> list[str]:
    kinds = []
    for i in range(len(header)):
        values = [row[i] for row in rows if not _blank(row[i])]
        if values and all(_is_number(v) for v in values):
            kinds.append(NUMBER)
        elif values and all(isinstance(v, date) for v in values):
            kinds.append(DATE)
        else:
            kinds.append(TEXT)
    return kinds


def _totals_row(header: list, rows: list[list], lang: str) -> list | None:
    """The sums of the integer columns (after the first), labelled "Total"; None if there are none."""
    if not rows:
        return None
    with translation.override(lang):
        total = [_("Total"), *[None] * (len(header) - 1)]
    summed = False
    for i in range(1, len(header)):
        values = [row[i] for row in rows if not _blank(row[i])]
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            total[i] = sum(values)
            summed = True
    return total if summed else None


def _sections(
    data: dict, lang: str, *, printed: bool = False
) -> list[tuple[str, list, list[list], list[str], list | None]]:
    """(name, header, rows, column kinds, totals row or None) of every section of the report."""
    out = []
    for name, (header, rows) in report_tables(data, lang, printed=printed).items():
        header = [str(h) for h in header]
        totals = _totals_row(header, rows, lang) if _hints(name, lang).totals else None
        out.append((name, header, rows, _column_kinds(header, rows), totals))
    return out


# --- XLSX ----------------------------------------------------------------------------------------------

XLSX_DATE_FORMAT = "DD.MM.YYYY"
XLSX_HEADER_FILL = PatternFill("solid", fgColor="DCE4EE")
XLSX_TOTAL_FILL = PatternFill("solid", fgColor="EEEEEE")
XLSX_BORDER = Border(*(Side(style="thin", color="A0A0A0"),) * 4)
XLSX_MAX_WIDTH = 60


def _xlsx_text_length(value, kind: str) -> int:
    if _blank(value):
        return 0
    if kind == DATE:
        return 10
    if isinstance(value, float):
        return len(f"{value:,.2f}")
    if isinstance(value, int):
        return len(f"{value:,}")
    return max(len(line) for line in str(value).split("\n"))


def _xlsx_escape(text: str) -> str:
    return text.replace("&", "&&")


def _xlsx_print_setup(ws, *, title: str, as_of: str, demo: str, page: str) -> None:
    """A4 landscape, one page wide; the title, as-of and demo lines and "page X of Y" on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.7
    ws.oddHeader.left.text = _xlsx_escape(title)
    ws.oddHeader.left.size = 9
    ws.oddHeader.right.text = _xlsx_escape(as_of)
    ws.oddHeader.right.size = 8
    if demo:
        ws.oddHeader.center.text = _xlsx_escape(demo)
        ws.oddHeader.center.size = 8
        ws.oddHeader.center.color = "C00000"
    ws.oddFooter.right.text = page
    ws.oddFooter.right.size = 8


def _sheet_title(name: str, taken: list[str]) -> str:
    base = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    title, n = base, 2
    while title in taken:
        title = f"{base[: 31 - len(str(n)) - 1]} {n}"
        n += 1
    return title


def render_xlsx(data: dict, lang: str) -> bytes:
    """One sheet per section: typed cells (numbers, dates), fitted widths, a styled header row repeated on
    every printed page, a totals row where declared, A4 landscape one page wide, frozen header, filter."""
    wb = Workbook()
    with translation.override(lang):
        title = _title(data, lang)
        setup = {
            "title": title,
            "as_of": _as_of_line(data),
            "demo": _demo_line() if data["is_demo"] else "",
            "page": _("Page %(page)s of %(pages)s") % {"page": "&P", "pages": "&N"},
        }
        summary = wb.active
        summary.title = _("Summary")[:31]
    for line in _header_lines(data, lang):
        summary.append([line])
    summary.column_dimensions["A"].width = 120
    for row in summary.iter_rows():
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    summary["A1"].font = Font(bold=True, size=14)
    if data["is_demo"]:
        summary.cell(row=summary.max_row, column=1).font = Font(bold=True, color="C00000")
    _xlsx_print_setup(summary, **setup)
    for name, header, rows, kinds, totals in _sections(data, lang):
        ws = wb.create_sheet(_sheet_title(name, wb.sheetnames))
        ws.append(header)
        for row in rows:
            ws.append([None if v == "" else v for v in row])
        last_data_row = ws.max_row
        if totals is not None:
            ws.append(totals)
        widths = []
        for i, kind in enumerate(kinds):
            column = [row[i] for row in rows] + ([totals[i]] if totals else [])
            content = max((_xlsx_text_length(v, kind) for v in column), default=0)
            longest_word = max((len(word) for word in header[i].split()), default=0)
            widths.append(min(max(content, longest_word, 6) + 2, XLSX_MAX_WIDTH))
        header_lines = 1
        for i, (kind, width) in enumerate(zip(kinds, widths, strict=True)):
            letter = get_column_letter(i + 1)
            ws.column_dimensions[letter].width = width
            header_lines = max(header_lines, -(-len(header[i]) // max(width - 2, 1)))
            number_format = {DATE: XLSX_DATE_FORMAT, NUMBER: None}.get(kind)
            wrap = kind == TEXT and width >= XLSX_MAX_WIDTH
            for (cell,) in ws.iter_rows(min_row=2, min_col=i + 1, max_col=i + 1):
                cell.border = XLSX_BORDER
                if isinstance(cell.value, float):
                    cell.number_format = "#,##0.00"
                elif isinstance(cell.value, int):
                    cell.number_format = "#,##0"
                elif number_format:
                    cell.number_format = number_format
                if wrap:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = XLSX_HEADER_FILL
            cell.border = XLSX_BORDER
            cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        ws.row_dimensions[1].height = 15 * min(header_lines, 5)
        if totals is not None:
            for cell in ws[ws.max_row]:
                cell.font = Font(bold=True)
                cell.fill = XLSX_TOTAL_FILL
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{last_data_row}"
        ws.print_title_rows = "1:1"
        _xlsx_print_setup(ws, **setup)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def render_csv(data: dict, lang: str) -> bytes:
    """One table for machines: a `section` column, then the section's columns (dates ISO, no totals)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "as_of", "known_at", "columns..."])
    for name, (header, rows) in report_tables(data, lang).items():
        writer.writerow([name, data["as_of"], data["known_at"], *header])
        for row in rows:
            writer.writerow([name, data["as_of"], data["known_at"], *("" if v is None else v for v in row)])
    return out.getvalue().encode("utf-8-sig")


# --- PDF -----------------------------------------------------------------------------------------------
#
# The tables are laid out here rather than with FPDF.table(): fpdf2 line-breaks every cell twice through
# its general text engine, which took ~5 s for the consolidated report. Here each cell is measured once
# from the font's glyph widths and wrapped only when it does not fit.

PDF_FONT_SIZE = 6  # pt, table cells
PDF_LINE = 2.3  # mm per text line in a cell
PDF_PAD_X, PDF_PAD_Y = 0.7, 0.2  # mm
PDF_HEADER_FILL = (220, 228, 238)
PDF_TOTAL_FILL = (235, 235, 235)
PDF_STRIPE_FILL = (246, 246, 246)
PDF_RULE = (150, 150, 150)
PDF_DEMO_COLOUR = (180, 0, 0)
PDF_MAX_WORD = 35.0  # mm: longer words are broken rather than widen their column further


class _ReportPDF(FPDF):
    """A4 landscape with a running header (title, as-of line, DEMO line) and "page X of Y" footer."""

    def __init__(self, *, title: str, as_of: str, demo: str, page: str, generated: str):
        super().__init__(orientation="L", format="A4")
        self.running = (title, as_of, demo, page, generated)
        self.set_margins(8, 8, 8)
        self.set_auto_page_break(auto=True, margin=10)
        self.alias_nb_pages()
        self.add_font("DejaVu", "", getattr(settings, "REPORT_PDF_FONT", PDF_FONT))
        self.add_font("DejaVu", "B", getattr(settings, "REPORT_PDF_FONT_BOLD", PDF_FONT_BOLD))

    def header(self):
        title, as_of, demo, _page, _generated = self.running
        self.set_y(5)
        self.set_font("DejaVu", "B", 7.5)
        self.cell(self.get_string_width(title) + 3, 3.4, title)
        self.set_font("DejaVu", "", 7)
        self.cell(0, 3.4, as_of, new_x="LMARGIN", new_y="NEXT")
        if demo:
            self.set_font("DejaVu", "B", 7)
            self.set_text_color(*PDF_DEMO_COLOUR)
            self.cell(0, 3.2, demo, new_x="LMARGIN", new_y="NEXT")
            self.set_text_color(0)
        self.set_draw_color(*PDF_RULE)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.get_y() + 0.6, self.w - self.r_margin, self.get_y() + 0.6)
        self.set_y(self.get_y() + 1.8)

    def footer(self):
        _title, _as_of, _demo, page, generated = self.running
        self.set_y(-8)
        self.set_font("DejaVu", "", 7)
        self.set_text_color(90)
        self.cell(0, 4, generated, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 4, page % {"page": self.page_no(), "pages": "{nb}"}, align="R")
        self.set_text_color(0)


class _Metrics:
    """Widths (mm) of texts in one font face at one size, from the font's glyph widths."""

    def __init__(self, pdf: FPDF, style: str, size: float):
        pdf.set_font("DejaVu", style, size)
        self.style, self.size = style, size
        self.cw = pdf.current_font.cw
        self.scale = size * 0.001 / pdf.k
        self.cache: dict[str, float] = {}

    def width(self, text: str) -> float:
        w = self.cache.get(text)
        if w is None:
            w = self.cache[text] = sum(self.cw[ord(ch)] for ch in text) * self.scale
        return w

    def longest_word(self, text: str) -> float:
        return max((self.width(word) for word in text.split()), default=0.0)

    def wrap(self, text: str, width: float) -> list[str]:
        if "\n" not in text and self.width(text) <= width:
            return [text]
        lines = []
        for paragraph in text.split("\n"):
            line = ""
            for word in paragraph.split():
                candidate = f"{line} {word}" if line else word
                if self.width(candidate) <= width:
                    line = candidate
                    continue
                if line:
                    lines.append(line)
                while self.width(word) > width and len(word) > 1:
                    cut = len(word) - 1
                    while cut > 1 and self.width(word[:cut]) > width:
                        cut -= 1
                    lines.append(word[:cut])
                    word = word[cut:]
                line = word
            lines.append(line)
        return lines


def _pdf_value(value, lang: str) -> str:
    if _blank(value):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        text = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
        # kk/ru: 1 234,56 (a no-break space groups the thousands); en: 1,234.56
        return text if lang == "en" else text.replace(",", "\u00a0").replace(".", ",")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def _pdf_widths(header, cells, kinds, body: _Metrics, bold: _Metrics, total: float) -> list[float]:
    """Column widths filling the page that make the table as short as can be.

    Each column needs at least its longest word (numbers and dates: their whole text). The rest of the
    page's width goes, step by step, to the column where it saves the most height per millimetre (a row
    is as tall as its cell with the most lines; a cell of one-line width `t` in a column of inner width
    `w` takes about ceil(t / w) lines). Steps one column at a time stall where a row needs two columns
    widened to lose a line, so the steps also start from widths that put the same share (quantile) of
    every column's cells on one line and none on more than 2 (3, 4) lines; the shortest layout wins."""
    pad = 2 * PDF_PAD_X
    narrow, one_line = [], []
    for i, kind in enumerate(kinds):
        texts = [row[i] for row in cells]
        head = min(bold.longest_word(header[i]), PDF_MAX_WORD)
        full = [body.width(t) for t in texts]
        if kind == TEXT:
            word = min(max((body.longest_word(t) for t in texts if t), default=0.0), PDF_MAX_WORD)
        else:
            word = max(full, default=0.0)
        narrow.append(max(word, head) + pad + 0.05)
        one_line.append(full)
    if sum(narrow) >= total:
        return [w * total / sum(narrow) for w in narrow]
    rows = range(len(cells))

    def lines(full: list[float], width: float) -> list[int]:
        inner = (width - pad) * 0.9  # words do not fill a line to the last millimetre
        return [1 if t <= width - pad else math.ceil(t / inner) for t in full]

    def height(widths: list[float]) -> int:
        counts = [lines(full, w) for full, w in zip(one_line, widths, strict=True)]
        return sum(max(c[r] for c in counts) for r in rows)

    # Widths at which some cell of a column loses a line: t / k (+ padding) for k lines.
    breaks = [sorted({t / k / 0.9 + pad for t in full for k in range(1, 6)}) for full in one_line]

    def grow(widths: list[float]) -> list[float]:
        widths = widths[:]
        counts = [lines(full, w) for full, w in zip(one_line, widths, strict=True)]
        while True:
            spare = total - sum(widths)
            # Per row: its tallest cell's column and lines, and the runner-up's lines.
            tallest = []
            for r in rows:
                ranked = sorted(((c[r], j) for j, c in enumerate(counts)), reverse=True)
                tallest.append((ranked[0][1], ranked[0][0], ranked[1][0] if len(ranked) > 1 else 1))
            best = None
            for i, full in enumerate(one_line):
                others = [second if top == i else h for top, h, second in tallest]
                steps = breaks[i][bisect.bisect_right(breaks[i], widths[i]) :]
                for target in [s for s in steps[:4] if s <= widths[i] + spare]:
                    new = lines(full, target)
                    saved = sum(h - max(o, n) for (_top, h, _second), o, n in zip(tallest, others, new, strict=True))
                    if saved > 0 and (best is None or saved / (target - widths[i]) > best[0]):
                        best = (saved / (target - widths[i]), i, target, new)
            if best is None:
                break
            _gain, i, target, new = best
            widths[i], counts[i] = target, new
        # What no step can use: to the columns still short of one line, in proportion; if none, to text.
        spare = total - sum(widths)
        lack = [max(max(full, default=0.0) + pad, w) - w for w, full in zip(widths, one_line, strict=True)]
        if sum(lack) <= 0:
            lack = [w if kind == TEXT else 0.0 for w, kind in zip(widths, kinds, strict=True)]
        if sum(lack) <= 0:
            lack = widths
        return [w + spare * gap / sum(lack) for w, gap in zip(widths, lack, strict=True)]

    ranked = [sorted(full) for full in one_line]

    def at(q: float, most: int) -> list[float]:
        """Widths that put a share `q` of each column's cells on one line and none on more than `most`."""
        return [
            max(n, r[int(q * (len(r) - 1))] + pad, r[-1] / most / 0.9 + pad) if r else n
            for n, r in zip(narrow, ranked, strict=True)
        ]

    layouts = [grow(narrow)]
    for most in (2, 3, 4):
        if sum(at(0.0, most)) > total:
            continue
        low, high = 0.0, 1.0
        for _step in range(10):
            mid = (low + high) / 2
            low, high = (mid, high) if sum(at(mid, most)) <= total else (low, mid)
        layouts.append(grow(at(high if sum(at(high, most)) <= total else low, most)))
    return min(layouts, key=height)


def _pdf_table(pdf: FPDF, header, rows, kinds, totals, lang: str) -> None:
    body = _Metrics(pdf, "", PDF_FONT_SIZE)
    bold = _Metrics(pdf, "B", PDF_FONT_SIZE)
    cells = [[_pdf_value(v, lang) for v in row] for row in rows]
    total_cells = [_pdf_value(v, lang) for v in totals] if totals else None
    widths = _pdf_widths(header, [*cells, *([total_cells] if total_cells else [])], kinds, body, bold, pdf.epw)
    align = ["R" if k == NUMBER else "C" if k == DATE else "L" for k in kinds]
    inner = [w - 2 * PDF_PAD_X for w in widths]
    pdf.set_draw_color(*PDF_RULE)
    pdf.set_line_width(0.1)

    def draw(texts: list[str], metrics: _Metrics, fill, aligns) -> None:
        lines = [metrics.wrap(t, w) if t else [] for t, w in zip(texts, inner, strict=True)]
        height = max(1, *map(len, lines)) * PDF_LINE + 2 * PDF_PAD_Y
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
            if texts is not header:
                draw(header, bold, PDF_HEADER_FILL, ["C"] * len(header))
        pdf.set_font("DejaVu", metrics.style, metrics.size)
        x, y = pdf.l_margin, pdf.get_y()
        if fill:
            pdf.set_fill_color(*fill)
            pdf.rect(x, y, sum(widths), height, style="F")
        for cell_lines, w, a in zip(lines, widths, aligns, strict=True):
            for n, line in enumerate(cell_lines):
                if a == "L":
                    tx = x + PDF_PAD_X
                elif a == "R":
                    tx = x + w - PDF_PAD_X - metrics.width(line)
                else:
                    tx = x + (w - metrics.width(line)) / 2
                pdf.text(tx, y + PDF_PAD_Y + n * PDF_LINE + PDF_LINE * 0.75, line)
            pdf.rect(x, y, w, height)
            x += w
        pdf.set_y(y + height)

    draw(header, bold, PDF_HEADER_FILL, ["C"] * len(header))
    for n, row in enumerate(cells):
        draw(row, body, PDF_STRIPE_FILL if n % 2 else None, align)
    if total_cells:
        draw(total_cells, bold, PDF_TOTAL_FILL, align)


def render_pdf(data: dict, lang: str) -> bytes:
    """A4 landscape: an introduction, then each section as a table whose header row repeats on every page;
    the title, as-of and DEMO lines on every page and "page X of Y" in the footer."""
    lines = _header_lines(data, lang)
    with translation.override(lang):
        pdf = _ReportPDF(
            title=lines[0],
            as_of=_as_of_line(data),
            demo=_demo_line() if data["is_demo"] else "",
            page=_("Page %(page)s of %(pages)s"),
            generated=lines[2],
        )
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 13)
    pdf.multi_cell(0, 6, lines[0], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8)
    pdf.multi_cell(0, 4, lines[3], new_x="LMARGIN", new_y="NEXT")
    for name, header, rows, kinds, totals in _sections(data, lang, printed=True):
        # A section starts on a new page unless its heading, header row and a few rows fit.
        if pdf.get_y() + 25 > pdf.page_break_trigger:
            pdf.add_page()
        pdf.ln(1.5)
        pdf.set_font("DejaVu", "B", 9)
        pdf.cell(0, 5, name, new_x="LMARGIN", new_y="NEXT")
        if not rows:
            pdf.set_font("DejaVu", "", PDF_FONT_SIZE)
            pdf.cell(0, 4, "—", new_x="LMARGIN", new_y="NEXT")
            continue
        _pdf_table(pdf, header, rows, kinds, totals, lang)
    return bytes(pdf.output())


RENDERERS = {
    "xlsx": (render_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pdf": (render_pdf, "application/pdf"),
    "csv": (render_csv, "text/csv; charset=utf-8"),
}


def report_filename(data: dict, lang: str, fmt: str) -> str:
    scope = data["region_kato"] or data["body"] or "KZ"
    safe = "".join(ch if ch.isalnum() else "_" for ch in scope)
    return f"report_{data['kind']}_{safe}_{data['as_of']}_{lang}.{fmt}"


@dataclass(frozen=True)
class ReportFile:
    content: bytes
    filename: str
    content_type: str


def report_file_build(
    *,
    kind: str,
    as_of: date,
    fmt: str,
    language: str,
    known_at: date | None = None,
    region: Region | None = None,
    body: ResponsibleBody | None = None,
) -> ReportFile:
    """A live (not frozen) report file, as the reports page offers it and `manage.py semiannual_report` writes it."""
    data = report_data_build(kind=kind, as_of=as_of, known_at=known_at, region=region, body=body)
    render, content_type = RENDERERS[fmt]
    return ReportFile(render(data, language), report_filename(data, language, fmt), content_type)
