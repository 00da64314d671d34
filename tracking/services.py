"""Writes of tracking: consolidated plans, stage updates, measure records, population, demo data."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import Action, can
from facilities.models import ConstructionQuota, Facility, Measure
from layers.models import District, PopulationFigure, Region
from tracking.models import (
    NON_CONSTRUCTION_MEASURES,
    PLAN_MEASURES,
    STAGE_FIELD,
    STAGE_ORDER,
    STAGE_PREDECESSOR,
    MeasureRecord,
    Plan,
    PlanItem,
    Stage,
    StageRecord,
    TrackedFacility,
)


class TrackingError(Exception):
    """A request that breaks a rule; `problems` maps a field (or "__all__") to messages."""

    def __init__(self, problems: dict[str, list[str]] | str):
        if isinstance(problems, str):
            problems = {"__all__": [problems]}
        self.problems = problems
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in problems.items()))


class PermissionDeniedError(TrackingError):
    pass


class StaleVersionError(TrackingError):
    pass


# --- consolidated plans ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    rule: str
    measure: int | None
    message: str


def plan_validate(*, plan: Plan) -> list[Violation]:
    """Every violation of the order by the plan's items (empty list = the plan is consistent).

    Rules: items only for the plan's measures (12 → 14–17, 13 → 18–26); only regions
    the measure names; every named region gets an object; a district lies in its
    region; a year between 2024 and the measure's deadline year; per measure the
    objects add up to the quota and the PPP objects to the quota's PPP count;
    overall 50 health / 100 creative objects.
    """
    out: list[Violation] = []
    allowed = PLAN_MEASURES[plan.plan_measure_id]
    quotas = {
        q.measure_id: q
        for q in ConstructionQuota.objects.filter(measure_id__in=allowed)
        .select_related("measure")
        .prefetch_related("regions")
    }
    quota_regions = {m: {r.id: r for r in q.regions.all()} for m, q in quotas.items()}
    items = list(plan.items.select_related("region", "district"))
    counts: dict[int, int] = defaultdict(int)
    ppp: dict[int, int] = defaultdict(int)
    regions_used: dict[int, set[int]] = defaultdict(set)
    for item in items:
        if item.measure_id not in allowed:
            out.append(
                Violation(
                    "measure_not_in_plan",
                    item.measure_id,
                    _("measure %(m)s does not belong to the plan of measure %(p)s")
                    % {"m": item.measure_id, "p": plan.plan_measure_id},
                )
            )
            continue
        counts[item.measure_id] += item.count
        ppp[item.measure_id] += item.ppp_count
        regions_used[item.measure_id].add(item.region_id)
        if item.region_id not in quota_regions[item.measure_id]:
            out.append(
                Violation(
                    "region_not_named",
                    item.measure_id,
                    _("measure %(m)s does not name the region %(r)s") % {"m": item.measure_id, "r": item.region.name},
                )
            )
        if item.district_id and item.district.region_id != item.region_id:
            out.append(
                Violation(
                    "district_outside_region",
                    item.measure_id,
                    _("district %(d)s is not in the region %(r)s") % {"d": item.district.name, "r": item.region.name},
                )
            )
        last_year = quotas[item.measure_id].measure.deadline_end.year
        if not 2024 <= item.year <= last_year:
            out.append(
                Violation(
                    "year_after_deadline",
                    item.measure_id,
                    _("measure %(m)s: year %(y)s is outside 2024–%(last)s (the measure's deadline)")
                    % {"m": item.measure_id, "y": item.year, "last": last_year},
                )
            )
    for number, quota in sorted(quotas.items()):
        if counts[number] != quota.count:
            out.append(
                Violation(
                    "count_mismatch",
                    number,
                    _("measure %(m)s: the plan has %(n)s objects, the order requires %(q)s")
                    % {"m": number, "n": counts[number], "q": quota.count},
                )
            )
        if ppp[number] != quota.ppp_count:
            out.append(
                Violation(
                    "ppp_mismatch",
                    number,
                    _("measure %(m)s: the plan has %(n)s PPP objects, the order requires %(q)s")
                    % {"m": number, "n": ppp[number], "q": quota.ppp_count},
                )
            )
        missing = [r.name for rid, r in quota_regions[number].items() if rid not in regions_used[number]]
        if missing:
            out.append(
                Violation(
                    "region_without_objects",
                    number,
                    _("measure %(m)s: no objects in the named region(s) %(r)s")
                    % {"m": number, "r": ", ".join(sorted(missing))},
                )
            )
    total_required = sum(q.count for q in quotas.values())
    total = sum(counts.values())
    if total != total_required:
        out.append(
            Violation(
                "total_mismatch",
                None,
                _("the plan has %(n)s objects in all, the order requires %(q)s") % {"n": total, "q": total_required},
            )
        )
    return out


def _require_plan_rights(user, plan_measure: int | None = None) -> None:
    if user is not None and not can(user, Action.PLAN, region_id=None):
        raise PermissionDeniedError(_("only the ministry may edit consolidated plans"))


@transaction.atomic
def plan_create(*, plan_measure: int, user=None, copy_from: Plan | None = None, is_demo: bool = False) -> Plan:
    """A new draft version of the plan of measure 12 or 13 (copying `copy_from`'s items if given)."""
    _require_plan_rights(user)
    if plan_measure not in PLAN_MEASURES:
        raise TrackingError({"plan_measure": [_("a consolidated plan is measure 12 or 13")]})
    last = Plan.objects.select_for_update().filter(plan_measure_id=plan_measure).order_by("-version").first()
    plan = Plan.objects.create(
        plan_measure_id=plan_measure,
        version=(last.version + 1) if last else 1,
        created_by=user,
        is_demo=is_demo,
    )
    if copy_from is not None:
        PlanItem.objects.bulk_create(
            [
                PlanItem(
                    plan=plan,
                    measure_id=i.measure_id,
                    region_id=i.region_id,
                    district_id=i.district_id,
                    year=i.year,
                    count=i.count,
                    ppp_count=i.ppp_count,
                    places_each=i.places_each,
                )
                for i in copy_from.items.all()
            ]
        )
    return plan


def _editable(plan: Plan) -> None:
    if plan.status not in (Plan.Status.DRAFT, Plan.Status.CHECKED):
        raise TrackingError(_("an approved plan is not edited: create a new version"))


@transaction.atomic
def plan_item_add(
    *,
    plan: Plan,
    measure: int,
    region_id: int,
    year: int,
    count: int,
    ppp_count: int = 0,
    district_id: int | None = None,
    places_each: int = 300,
    user=None,
) -> PlanItem:
    _require_plan_rights(user)
    _editable(plan)
    problems: dict[str, list[str]] = {}
    if measure not in PLAN_MEASURES[plan.plan_measure_id]:
        problems["measure"] = [_("measure %(m)s is not in this plan") % {"m": measure}]
    if count < 1:
        problems["count"] = [_("at least one object")]
    if ppp_count < 0 or ppp_count > count:
        problems["ppp_count"] = [_("PPP objects must be between 0 and the number of objects")]
    if not 2024 <= year <= 2026:
        problems["year"] = [_("year must be 2024, 2025 or 2026")]
    if places_each < 1:
        problems["places_each"] = [_("must be positive")]
    if problems:
        raise TrackingError(problems)
    try:
        with transaction.atomic():
            item = PlanItem.objects.create(
                plan=plan,
                measure_id=measure,
                region_id=region_id,
                district_id=district_id,
                year=year,
                count=count,
                ppp_count=ppp_count,
                places_each=places_each,
            )
    except IntegrityError as exc:
        raise TrackingError(_("this plan already has a row for that measure, region, district and year")) from exc
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.DRAFT, checked_at=None)
    plan.status = Plan.Status.DRAFT
    return item


@transaction.atomic
def plan_item_delete(*, item: PlanItem, user=None) -> None:
    _require_plan_rights(user)
    _editable(item.plan)
    Plan.objects.filter(pk=item.plan_id).update(status=Plan.Status.DRAFT, checked_at=None)
    item.delete()


@transaction.atomic
def plan_check(*, plan: Plan, user=None) -> list[Violation]:
    """Validate; a plan without violations becomes "checked", otherwise stays a draft."""
    _require_plan_rights(user)
    _editable(plan)
    violations = plan_validate(plan=plan)
    plan.status = Plan.Status.DRAFT if violations else Plan.Status.CHECKED
    plan.checked_at = None if violations else timezone.now()
    plan.save(update_fields=["status", "checked_at"])
    return violations


@transaction.atomic
def plan_approve(*, plan: Plan, user=None) -> dict[str, int]:
    """Approve a checked plan: supersede the previous version and link/create its facilities.

    Facilities already tracked for the same measure, region, district and year are
    kept (their stage history stays); missing ones are created; ones no longer in
    the plan are kept but marked out of plan.
    """
    _require_plan_rights(user)
    plan = Plan.objects.select_for_update().get(pk=plan.pk)
    if plan.status != Plan.Status.CHECKED:
        raise TrackingError(_("only a checked plan can be approved"))
    violations = plan_validate(plan=plan)
    if violations:
        raise TrackingError({"__all__": [v.message for v in violations]})
    Plan.objects.filter(plan_measure_id=plan.plan_measure_id, status=Plan.Status.APPROVED).update(
        status=Plan.Status.SUPERSEDED
    )
    plan.status = Plan.Status.APPROVED
    plan.approved_at = timezone.now()
    plan.approved_by = user
    plan.save(update_fields=["status", "approved_at", "approved_by"])

    measures = list(PLAN_MEASURES[plan.plan_measure_id])
    # Candidate facilities: every facility of these measures, tracked ones first, then the oldest.
    pool: dict[tuple, list[Facility]] = defaultdict(list)
    for f in (
        Facility.objects.filter(measure_id__in=measures)
        .select_related("tracking")
        .order_by("measure_id", "-is_ppp", "id")
    ):
        pool[(f.measure_id, f.region_id, f.district_id, f.planned_year)].append(f)
        pool[(f.measure_id, f.region_id, None, f.planned_year, "any")].append(f)
    used: set[int] = set()
    links: list[tuple[Facility, PlanItem]] = []
    created = 0
    for item in plan.items.select_related("measure__quota__object_kind", "region", "district").order_by("id"):
        key = (item.measure_id, item.region_id, item.district_id, item.year)
        if item.district_id is None:
            key = (item.measure_id, item.region_id, None, item.year, "any")
        candidates = [f for f in pool.get(key, []) if f.id not in used]
        chosen = candidates[: item.count]
        ppp_left = item.ppp_count
        for f in chosen:
            used.add(f.id)
        for _n in range(item.count - len(chosen)):
            kind = item.measure.quota.object_kind
            place = item.district or item.region
            f = Facility.objects.create(
                kind=kind,
                measure_id=item.measure_id,
                region_id=item.region_id,
                district_id=item.district_id,
                name_kk=f"{kind.name_kk} — {place.name_kk}",
                name_ru=f"{kind.name_ru} — {place.name_ru}",
                name_en=f"{kind.name_en} — {place.name_en}",
                places=item.places_each,
                planned_year=item.year,
                is_demo=plan.is_demo,
            )
            used.add(f.id)
            chosen.append(f)
            created += 1
        for f in chosen:
            is_ppp = ppp_left > 0
            ppp_left -= int(is_ppp)
            if f.is_ppp != is_ppp:
                Facility.objects.filter(pk=f.pk).update(is_ppp=is_ppp)
            links.append((f, item))
    existing = {t.facility_id: t for t in TrackedFacility.objects.filter(facility__measure_id__in=measures)}
    new_rows = []
    for f, item in links:
        t = existing.get(f.id)
        if t is None:
            new_rows.append(TrackedFacility(facility=f, plan_item=item, in_plan=True, is_demo=plan.is_demo))
        else:
            t.plan_item, t.in_plan = item, True
    TrackedFacility.objects.bulk_create(new_rows)
    TrackedFacility.objects.bulk_update(
        [t for t in existing.values() if t.facility_id in used], ["plan_item", "in_plan"]
    )
    dropped = TrackedFacility.objects.filter(facility__measure_id__in=measures).exclude(facility_id__in=used)
    dropped_count = dropped.update(in_plan=False, plan_item=None)
    return {"linked": len(links) - created, "created": created, "dropped": dropped_count}


@transaction.atomic
def demo_plans_build_and_approve() -> dict[int, Plan]:
    """Build plans 12 and 13 from the DEMO facilities (grouped by measure, region, district, year)
    and approve them; previous demo plans are removed first. Flagged demo."""
    Plan.objects.filter(is_demo=True).update(status=Plan.Status.SUPERSEDED)
    TrackedFacility.objects.filter(is_demo=True).delete()
    Plan.objects.filter(is_demo=True).delete()
    plans = {}
    for plan_measure, measures in PLAN_MEASURES.items():
        plan = plan_create(plan_measure=plan_measure, is_demo=True)
        groups: dict[tuple, list[Facility]] = defaultdict(list)
        for f in Facility.objects.filter(is_demo=True, measure_id__in=measures).order_by("id"):
            groups[(f.measure_id, f.region_id, f.district_id, f.planned_year)].append(f)
        PlanItem.objects.bulk_create(
            [
                PlanItem(
                    plan=plan,
                    measure_id=m,
                    region_id=r,
                    district_id=d,
                    year=max(y, 2024),
                    count=len(fs),
                    ppp_count=sum(1 for f in fs if f.is_ppp),
                    places_each=round(sum(f.places for f in fs) / len(fs)),
                )
                for (m, r, d, y), fs in groups.items()
            ]
        )
        violations = plan_check(plan=plan)
        if violations:
            raise TrackingError({"__all__": [v.message for v in violations]})
        plan.refresh_from_db()
        plan_approve(plan=plan)
        plans[plan_measure] = plan
    return plans


# --- stages ----------------------------------------------------------------------------------------


def _today() -> date:
    return timezone.localdate()


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
    if actual_date is not None:
        pred = STAGE_PREDECESSOR.get(Stage(stage))
        while pred is not None:
            pred_on = getattr(tracked, STAGE_FIELD[pred])
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
                later_on = getattr(tracked, STAGE_FIELD[later])
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


@transaction.atomic
def overdue_reason_set(*, tracked: TrackedFacility, reason: str, user=None, version: int | None = None) -> None:
    tracked = TrackedFacility.objects.select_for_update().select_related("facility").get(pk=tracked.pk)
    if user is not None and not can(user, Action.EDIT, region_id=tracked.facility.region_id):
        raise PermissionDeniedError(_("you may update only the facilities of your own region"))
    if version is not None and version != tracked.version:
        raise StaleVersionError({"version": [_("the facility was changed by someone else: reload")]})
    TrackedFacility.objects.filter(pk=tracked.pk).update(overdue_reason=reason, version=F("version") + 1)


# --- non-construction measures ---------------------------------------------------------------------


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
        elif doc_date > _today():
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


# --- population --------------------------------------------------------------------------------------

TOTALS_FILE = "kz_population_by_region_2000-2023_stat.gov.kz.csv"
AGES_FILE = "kz_population_by_region_age_sex_2020-01-01_data.egov.kz.csv"
TOTALS_SOURCE = (
    "stat.gov.kz (Bureau of National Statistics), population at the start of the year, "
    "via open-data-kazakhstan/population-projections-by-regions"
)
AGES_SOURCE = (
    "data.egov.kz, population by age groups and sex on 1 January 2020, via open-data-kazakhstan/demographics-kz"
)
ESTIMATE_SOURCE = "ESTIMATE by gis_portal (not official)"
ESTIMATE_METHOD = (
    "School-age 6–17 estimated as total population of the year × share of children 0–15 in the total "
    "on 1 Jan 2020 (data.egov.kz; for Abai, Zhetisu and Ulytau the share of the pre-2022 region they were "
    "part of: East Kazakhstan, Almaty region, Karaganda) × 12/16 (ages 6–17 assumed as populous as an "
    "average year of ages 0–15)."
)
# Russian names in the two files -> KATO of the order's regions.
RU_NAME_TO_KATO = {
    "Абай": "100000000",
    "Акмолинская": "110000000",
    "Актюбинская": "150000000",
    "Алматинская": "190000000",
    "Атырауская": "230000000",
    "Западно-Казахстанская": "270000000",
    "Жамбылская": "310000000",
    "Жетісу": "330000000",
    "Карагандинская": "350000000",
    "Костанайская": "390000000",
    "Кызылординская": "430000000",
    "Мангистауская": "470000000",
    "Павлодарская": "550000000",
    "Северо-Казахстанская": "590000000",
    "Туркестанская": "610000000",
    "Туркестанская 1": "610000000",
    "Ұлытау": "620000000",
    "Восточно-Казахстанская": "630000000",
    "г. Астана": "710000000",
    "город Нур-Султан": "710000000",
    "г. Алматы": "750000000",
    "город Алматы": "750000000",
    "г. Шымкент": "790000000",
    "город Шымкент": "790000000",
}
# Regions created in 2022 and the pre-2022 region their territory came from.
PARENT_2020 = {"100000000": "630000000", "330000000": "190000000", "620000000": "350000000"}


@transaction.atomic
def population_load(*, stats_dir: Path, estimate_years: tuple[int, ...] = (2020, 2021, 2022, 2023)) -> dict[str, int]:
    """Load official totals (2000–2023) and children 0–15 (1 Jan 2020) by region, with their sources,
    then store school-age 6–17 ESTIMATES (is_official=False, method in `note`) unless an official
    figure exists for that region and year. Idempotent."""
    regions = {r.kato: r for r in Region.objects.all()}
    loaded = {"total": 0, "children_0_15": 0, "school_age_estimates": 0}
    totals: dict[tuple[str, int], int] = {}
    with open(stats_dir / TOTALS_FILE, encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            kato = RU_NAME_TO_KATO.get((row.get("Область") or "").strip())
            try:
                year, value = int(row["Год"]), int(float(row["Население"]))
            except (TypeError, ValueError):
                continue
            if kato is None or kato not in regions:
                continue
            totals[(kato, year)] = value
            PopulationFigure.objects.update_or_create(
                region=regions[kato],
                district=None,
                year=year,
                indicator=PopulationFigure.Indicator.TOTAL,
                defaults={
                    "value": value,
                    "is_official": True,
                    "source": TOTALS_SOURCE,
                    "source_date": date(year, 1, 1),
                    "note": "",
                },
            )
            loaded["total"] += 1
    children: dict[str, int] = {}
    with open(stats_dir / AGES_FILE, encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            kato = RU_NAME_TO_KATO.get(row["region"].strip())
            if kato is None:
                continue
            value = int(row["men_0-15"]) + int(row["women_0-15"])
            children[kato] = value
            PopulationFigure.objects.update_or_create(
                region=regions[kato],
                district=None,
                year=2020,
                indicator=PopulationFigure.Indicator.CHILDREN_0_15,
                defaults={
                    "value": value,
                    "is_official": True,
                    "source": AGES_SOURCE,
                    "source_date": date(2020, 1, 1),
                    "note": "Boundaries before 2022 (17 units)",
                },
            )
            loaded["children_0_15"] += 1
    for kato, region in regions.items():
        parent = PARENT_2020.get(kato, kato)
        if parent not in children or (parent, 2020) not in totals:
            continue
        share = children[parent] / totals[(parent, 2020)]
        for year in estimate_years:
            if (kato, year) not in totals:
                continue
            official = PopulationFigure.objects.filter(
                region=region, district=None, year=year, indicator="school_age_6_17", is_official=True
            ).exists()
            if official:
                continue
            PopulationFigure.objects.update_or_create(
                region=region,
                district=None,
                year=year,
                indicator=PopulationFigure.Indicator.SCHOOL_AGE_6_17,
                defaults={
                    "value": round(totals[(kato, year)] * share * 12 / 16),
                    "is_official": False,
                    "source": ESTIMATE_SOURCE,
                    "source_date": date(year, 1, 1),
                    "note": ESTIMATE_METHOD,
                },
            )
            loaded["school_age_estimates"] += 1
    return loaded


@transaction.atomic
def school_age_official_set(
    *, region_id: int, year: int, value: int, source: str, source_date: date | None = None, user=None
) -> PopulationFigure:
    """The ministry enters an official school-age (6–17) figure; it replaces an estimate."""
    if user is not None and not can(user, Action.PLAN, region_id=None):
        raise PermissionDeniedError(_("only the ministry enters official population figures"))
    problems = {}
    if value <= 0:
        problems["value"] = [_("must be positive")]
    if not source.strip():
        problems["source"] = [_("an official figure needs its source")]
    if not 1990 <= year <= 2100:
        problems["year"] = [_("invalid year")]
    if problems:
        raise TrackingError(problems)
    figure, _created = PopulationFigure.objects.update_or_create(
        region_id=region_id,
        district=None,
        year=year,
        indicator=PopulationFigure.Indicator.SCHOOL_AGE_6_17,
        defaults={
            "value": value,
            "is_official": True,
            "source": source.strip(),
            "source_date": source_date,
            "note": "",
        },
    )
    return figure


# --- demo ------------------------------------------------------------------------------------------


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=10))


@transaction.atomic
def demo_tracking_create(*, today: date | None = None, seed: int = 191) -> dict[str, int]:
    """Approve demo plans from the demo facilities and give them a realistic spread of stage
    histories (done on time, late, on track, at risk, overdue). Every record is dated as if it
    had been entered a few days after the event, so "as of" views of the past work. Flagged demo."""
    today = today or timezone.localdate()
    rng = random.Random(seed)
    demo_plans_build_and_approve()
    StageRecord.objects.filter(tracked__is_demo=True).delete()
    MeasureRecord.objects.filter(is_demo=True).delete()
    tracked = list(
        TrackedFacility.objects.filter(is_demo=True, in_plan=True)
        .select_related("facility__measure__quota", "facility__region")
        .order_by("facility_id")
    )
    records = 0
    for t in tracked:
        deadline = t.facility.measure.deadline_end
        target = t.facility.measure.quota.target_stage
        # Profile: how far along and how fast, drawn per facility.
        roll = rng.random()
        start = date(2024, 1, 15) + timedelta(days=rng.randrange(0, 120))
        if deadline < date(2024, 6, 1):  # measures 14 and 18 were due in Jan 2024: built before the order
            start = date(2023, 1, 10) + timedelta(days=rng.randrange(0, 60))
        pace = rng.uniform(0.55, 1.35) if roll > 0.15 else rng.uniform(1.5, 2.4)
        sequence = [Stage.PARCEL, Stage.DESIGN, Stage.EXPERTISE]
        if rng.random() < 0.6:
            sequence.insert(1, Stage.INFRASTRUCTURE)
        if target == "acceptance":
            sequence += [Stage.CONSTRUCTION_STARTED, Stage.CONSTRUCTION_PROGRESS, Stage.ACCEPTED, Stage.OPENED]
        span = max((deadline - start).days, 120)
        weights = {
            Stage.PARCEL: 0.05,
            Stage.INFRASTRUCTURE: 0.12,
            Stage.DESIGN: 0.28,
            Stage.EXPERTISE: 0.40,
            Stage.CONSTRUCTION_STARTED: 0.48,
            Stage.CONSTRUCTION_PROGRESS: 0.6,
            Stage.ACCEPTED: 0.95,
            Stage.OPENED: 1.0,
        }
        executor = f"{t.facility.region.name_ru}: управление строительства (демо)"
        # About one in six facilities stalls at some stage (land, design, expertise or the works).
        stall_at = rng.choice(sequence[1:5]) if rng.random() < 0.17 else None
        for stage in sequence:
            if stage == stall_at:
                StageRecord.objects.create(
                    tracked=t,
                    stage=stage,
                    planned_date=start + timedelta(days=round(span * weights[stage])),
                    recorded_at=_aware(min(start, today)),
                    executor=executor,
                )
                records += 1
                break
            planned = start + timedelta(days=round(span * weights[stage]))
            actual = start + timedelta(days=round(span * weights[stage] * pace))
            if stage == Stage.OPENED:
                actual = actual + timedelta(days=rng.randrange(5, 40))
            # Planned date, entered when the plan was approved.
            StageRecord.objects.create(
                tracked=t, stage=stage, planned_date=planned, recorded_at=_aware(min(start, today)), executor=executor
            )
            records += 1
            if actual > today - timedelta(days=3):
                break
            lag = rng.randrange(1, 10) if rng.random() > 0.1 else rng.randrange(20, 45)  # some report late
            recorded = _aware(min(actual + timedelta(days=lag), today))
            if stage == Stage.CONSTRUCTION_PROGRESS:
                started = t.construction_started_on
                for step, pct in enumerate((20, 45, 70, 90)):
                    day = actual + timedelta(days=step * 45)
                    if day > today - timedelta(days=3):
                        break
                    stage_record_add(
                        tracked=t,
                        stage=stage,
                        actual_date=max(day, started),
                        percent=pct,
                        executor=executor,
                        recorded_at=_aware(min(day + timedelta(days=3), today)),
                    )
                    records += 1
                t.refresh_from_db()
                continue
            stage_record_add(
                tracked=t,
                stage=stage,
                actual_date=actual,
                doc_number=f"DEMO-{t.facility_id}-{STAGE_ORDER.index(stage) + 1}",
                doc_date=actual,
                places_in_use=round(t.facility.places * rng.uniform(0.7, 1.0)) if stage == Stage.OPENED else None,
                executor=executor,
                recorded_at=recorded,
            )
            records += 1
            t.refresh_from_db()
        if t.accepted_on is None and deadline < today and rng.random() < 0.7:
            TrackedFacility.objects.filter(pk=t.pk).update(
                overdue_reason="Демо: задержка поставки материалов / Demo: delayed supply of materials"
            )
    # Non-construction measures: most ministry ones done, a few regional ones missing.
    for m in Measure.objects.filter(number__in=NON_CONSTRUCTION_MEASURES).prefetch_related("responsible"):
        regional = any(b.code == "ЖАО" for b in m.responsible.all())
        scopes = list(Region.objects.order_by("kato")) if regional else [None]
        periods = [p for p in _m11_periods() if p < today] if m.number == 11 else [None]
        for region in scopes:
            for period in periods:
                due = period or m.deadline_end
                lateness = rng.choice([-20, -5, 0, 10, 40, None])
                if lateness is None:
                    continue
                done_on = due + timedelta(days=lateness)
                if done_on >= today:
                    continue
                measure_record_add(
                    measure=m.number,
                    status=MeasureRecord.Status.DONE,
                    region_id=region.id if region else None,
                    period_end=period,
                    doc_number=f"DEMO-M{m.number}-{region.kato if region else 'KZ'}",
                    doc_date=done_on,
                    executor="демо",
                    recorded_at=_aware(min(done_on + timedelta(days=2), today)),
                    is_demo=True,
                )
                records += 1
    return {"facilities": len(tracked), "records": records}


def _m11_periods() -> list[date]:
    from tracking.selectors import measure11_periods

    return measure11_periods()


def district_of(*, district_id: int | None) -> District | None:
    return District.objects.filter(pk=district_id).first() if district_id else None


# --- reports ---------------------------------------------------------------------------------------


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
    from django.core.files.base import ContentFile

    from tracking.models import Report
    from tracking.reports import RENDERERS, report_data_build, report_filename

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
