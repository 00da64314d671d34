"""Semi-annual reports of the order (clauses 2–3): data as of a date, rendered as XLSX, PDF and CSV.

`report_data_build` returns a JSON-serialisable snapshot holding the texts in all
three languages, so a frozen report can be rendered again from its snapshot
alone. The renderers read nothing from the database.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.fonts import FontFace
from openpyxl import Workbook
from openpyxl.styles import Font

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


def report_tables(data: dict, lang: str) -> dict[str, tuple[list[str], list[list]]]:
    """The report's tables (header, rows) in `lang`; shared by the XLSX, PDF and CSV renderers."""
    with translation.override(lang):
        status = {code: str(label) for code, label in STATUS_LABELS.items()}
        measures = (
            [
                _("Measure"),
                _("Deadline"),
                _("Target stage"),
                _("Planned objects"),
                _("Done"),
                *[status[c] for c in STATUS_ORDER],
                _("Stage reached"),
            ],
            [
                [
                    f"{m['number']}. {m['title'][lang][:90]}",
                    m["deadline"],
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
                    f["deadline"],
                    _stage_label(f["stage_reached"]) + (f" ({f['percent']} %)" if f["percent"] is not None else ""),
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
            [_("Measure"), _("Region"), _("Period"), _("Due"), _("Status"), _("Completion form"), _("Document")],
            [
                [
                    f"{o['number']}. {o['title'][lang][:70]}",
                    o["region"][lang],
                    o["period_end"],
                    o["due"],
                    status[o["status"]],
                    o["doc_kind"],
                    f"{o['doc_number']} {o['doc_date']}".strip(),
                ]
                for o in data["other_measures"]
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
        tables.update(_compliance_tables(data, lang, status))
        return tables


def _compliance_tables(data: dict, lang: str, status: dict[str, str]) -> dict[str, tuple[list[str], list[list]]]:
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
                    f"{m['number']}. {m['title'][lang][:90]}",
                    m["deadline"],
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
                    for r in m5["rows"]
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
            _("As of %(as_of)s (data recorded by %(known)s); due %(due)s. Order No. 191-ө, clauses 2–3.")
            % {"as_of": data["as_of"], "known": data["known_at"], "due": data["due"]},
            _("Generated %(at)s") % {"at": data["generated_at"]},
            _(
                "KPI method: children covered = places in use of the roadmap's open facilities; national value = "
                "the order's 2023 baseline + those places as a share of the school-age (6–17) population. "
                "Population figures marked ESTIMATE are not official."
            ),
        ]
        if data["is_demo"]:
            lines.append(_("DEMO DATA: the facilities and their stages are invented, not official records."))
        return lines


def render_xlsx(data: dict, lang: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    with translation.override(lang):
        ws.title = str(_("Summary"))[:31]
    for line in _header_lines(data, lang):
        ws.append([line])
    ws["A1"].font = Font(bold=True, size=14)
    for name, (header, rows) in report_tables(data, lang).items():
        sheet = wb.create_sheet(name[:31])
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def render_csv(data: dict, lang: str) -> bytes:
    """One table for machines: a `section` column, then the section's columns."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "as_of", "known_at", "columns..."])
    for name, (header, rows) in report_tables(data, lang).items():
        writer.writerow([name, data["as_of"], data["known_at"], *header])
        for row in rows:
            writer.writerow([name, data["as_of"], data["known_at"], *row])
    return out.getvalue().encode("utf-8-sig")


def render_pdf(data: dict, lang: str) -> bytes:
    pdf = FPDF(orientation="L", format="A4")
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.add_font("DejaVu", "", getattr(settings, "REPORT_PDF_FONT", PDF_FONT))
    pdf.add_font("DejaVu", "B", getattr(settings, "REPORT_PDF_FONT_BOLD", PDF_FONT_BOLD))
    pdf.add_page()
    lines = _header_lines(data, lang)
    pdf.set_font("DejaVu", "B", 14)
    pdf.multi_cell(0, 7, lines[0], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    for line in lines[1:]:
        pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    for name, (header, rows) in report_tables(data, lang).items():
        pdf.ln(3)
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 7, name, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 7)
        if not rows:
            pdf.cell(0, 5, "—", new_x="LMARGIN", new_y="NEXT")
            continue
        with pdf.table(headings_style=FontFace(emphasis="BOLD"), line_height=4) as table:
            table.row([str(h) for h in header])
            for row in rows:
                table.row(["" if v is None else str(v) for v in row])
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
