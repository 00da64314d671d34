"""What a plan workbook holds (tracking.plan_xlsx writes it): the rows of plan versions, the choices of
its validation lists and the lines of its read-me, in the active language."""

from __future__ import annotations

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from facilities.models import ConstructionQuota, FacilityKind, Measure
from layers.models import District, Region
from tracking.models import PLAN_MEASURES, Plan, PlanItem
from tracking.plan_xlsx import ReadMe, TemplateLists, row_key, workbook_write

PLAN_ROW_MEASURES = [n for measures in PLAN_MEASURES.values() for n in measures]
YEARS = [2024, 2025, 2026]


def plans_current_approved() -> list[Plan]:
    """The approved version of each consolidated plan (12, 13) that has one."""
    return list(Plan.objects.filter(status=Plan.Status.APPROVED).order_by("plan_measure_id"))


def plan_rows_for_export(*, plans: list[Plan]) -> list[dict[str, object]]:
    """The rows of `plans` keyed by tracking.plan_xlsx.COLUMNS' keys: numbers as numbers, the location as
    longitude/latitude in degrees (EPSG:4326), names of regions, districts and kinds in the active language."""
    kinds = {q.measure_id: q.object_kind for q in ConstructionQuota.objects.select_related("object_kind")}
    items = (
        PlanItem.objects.filter(plan__in=plans)
        .select_related("region", "district")
        .order_by("plan__plan_measure_id", "measure_id", "region__kato", "year", "district__kato", "id")
    )
    out = []
    for item in items:
        district_kato = item.district.kato if item.district_id else None
        kind = kinds.get(item.measure_id)
        out.append(
            {
                "key": row_key(
                    measure=item.measure_id, region_kato=item.region.kato, district_kato=district_kato, year=item.year
                ),
                "measure": item.measure_id,
                "region_kato": item.region.kato,
                "region_name": item.region.name,
                "district_kato": district_kato,
                "district_name": item.district.name if item.district_id else None,
                "year": item.year,
                "count": item.count,
                "ppp_count": item.ppp_count,
                "places_each": item.places_each,
                "longitude": item.location.x if item.location else None,
                "latitude": item.location.y if item.location else None,
                "facility_kind": kind.name if kind else None,
                "name_kk": item.name_kk,
                "name_ru": item.name_ru,
                "name_en": item.name_en,
            }
        )
    return out


def plan_template_lists() -> TemplateLists:
    """The choices of the workbook's validation lists: measures 14–26, regions, districts, years, kinds."""
    measures = Measure.objects.filter(number__in=PLAN_ROW_MEASURES).order_by("number")
    kind_codes = ConstructionQuota.objects.filter(measure_id__in=PLAN_ROW_MEASURES).values("object_kind")
    return TemplateLists(
        measures=[(m.number, m.localized("title")) for m in measures],
        regions=[(r.kato, r.name) for r in Region.objects.order_by("kato")],
        districts=[(d.kato, d.name, d.region.name) for d in District.objects.select_related("region").order_by("kato")],
        years=YEARS,
        kinds=[(k.code, k.name) for k in FacilityKind.objects.filter(code__in=kind_codes).order_by("code")],
    )


def plan_readme(*, plans: list[Plan]) -> ReadMe:
    """The read-me of a workbook of `plans` (an empty list: a blank template)."""
    now = timezone.localtime()
    lines = [
        _(
            "Consolidated plans of measures 12 (health centres, measures 14–17) and 13 (creative objects, "
            "measures 18–26) of the roadmap approved by Order No. 191-ө; source of the rows: this portal."
        )
    ]
    for plan in plans:
        lines.append(
            _("Plan of measure %(m)s, version %(v)s (%(status)s).")
            % {"m": plan.plan_measure_id, "v": plan.version, "status": plan.get_status_display()}
        )
    if not plans:
        lines.append(_("Blank template: no plan rows."))
    lines.append(_("Data as of %(when)s.") % {"when": date_format(now, "DATETIME_FORMAT")})
    lines.append(
        _(
            "Upload the filled sheet on a plan's page (ministry planners): every row is checked like a row added "
            "on the page, all errors are listed with their row and column, and nothing is saved unless every row "
            "is valid. A row with a row key updates that row of the draft; a row without one is added; rows of the "
            "draft missing from the file are removed only when “remove the rows the file does not list” is ticked. "
            "An approved plan is never changed: the upload makes a new draft version of it."
        )
    )
    demo = ""
    if any(p.is_demo for p in plans):
        demo = _("DEMO DATA: these plan rows are invented for demonstration, not official records.")
    return ReadMe(title=_("Consolidated plan: read me"), lines=lines, demo=demo)


def plan_workbook(*, plans: list[Plan]) -> bytes:
    """The workbook of `plans` in the active language (no plans: the blank template)."""
    return workbook_write(
        rows=plan_rows_for_export(plans=plans), lists=plan_template_lists(), readme=plan_readme(plans=plans)
    )
