"""The report's tables in one language, shared by every renderer: typed cells (dates, counts), short
measure labels, the header lines, and per-section layout hints."""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date

from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from layers.population import basis_text
from tracking.models import Report, Stage
from tracking.reports.data import LANGS
from tracking.selectors import (
    POPULATION_LEVEL_LABELS,
    STATUS_LABELS,
    STATUS_ORDER,
    UNIT_LABELS,
    Status,
    rollup_status,
)

# fpdf2 subsets fonts through fontTools, which logs every glyph at INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)


# --- rendering ---------------------------------------------------------------------------------------


def report_title(data: dict, lang: str) -> str:
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


def _kpi_row(k: dict, lang: str, names: dict, region_names: dict[str, str] | None = None) -> list:
    """One KPI row of a report: target, measured value (or "not reported") and the labelled estimate.
    Snapshots frozen before measured values existed lack their keys and read as "not reported"; those
    frozen before district figures lack the population's basis and show the level alone."""
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
        ": ".join(
            part
            for part in (
                str(POPULATION_LEVEL_LABELS[level]) if level in POPULATION_LEVEL_LABELS else "",
                basis_text(k["population_basis"], region_names=region_names) if k.get("population_basis") else "",
            )
            if part
        ),
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
        region_names = {k["region_kato"]: k["region"][lang] for k in data["kpis"] if k["region_kato"]}
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
            [_kpi_row(k, lang, kpi_names, region_names) for k in data["kpis"]],
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
        n = group["regions"]
        group["region"] = dict.fromkeys(LANGS, ngettext("%(n)s region", "%(n)s regions", n) % {"n": n})
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


def header_lines(data: dict, lang: str) -> list[str]:
    with translation.override(lang):
        lines = [
            report_title(data, lang),
            as_of_line(data),
            _("Generated %(at)s") % {"at": data["generated_at"]},
            _(
                "KPI method: children covered = places in use of the roadmap's open facilities; national value = "
                "the order's 2023 baseline + those places as a share of the school-age (6–17) population. "
                "Population figures marked ESTIMATE are not official."
            ),
        ]
        if data["is_demo"]:
            lines.append(demo_line())
        return lines


def as_of_line(data: dict) -> str:
    return _("As of %(as_of)s (data recorded by %(known)s); due %(due)s. Order No. 191-ө, clauses 2–3.") % {
        "as_of": data["as_of"],
        "known": data["known_at"],
        "due": data["due"],
    }


def demo_line() -> str:
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


def is_blank(value) -> bool:
    return value is None or value == ""


def _column_kinds(header: list, rows: list[list]) -> list[str]:
    kinds = []
    for i in range(len(header)):
        values = [row[i] for row in rows if not is_blank(row[i])]
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
        values = [row[i] for row in rows if not is_blank(row[i])]
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            total[i] = sum(values)
            summed = True
    return total if summed else None


def report_sections(
    data: dict, lang: str, *, printed: bool = False
) -> list[tuple[str, list, list[list], list[str], list | None]]:
    """(name, header, rows, column kinds, totals row or None) of every section of the report."""
    out = []
    for name, (header, rows) in report_tables(data, lang, printed=printed).items():
        header = [str(h) for h in header]
        totals = _totals_row(header, rows, lang) if _hints(name, lang).totals else None
        out.append((name, header, rows, _column_kinds(header, rows), totals))
    return out
