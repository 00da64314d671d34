"""Consolidated plans of measures 12 and 13: draft versions, their rows, validation against the order,
approval (which links or creates the tracked facilities)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.permissions import Action, can
from facilities.checks import facility_location_check
from facilities.models import ConstructionQuota, Facility
from tracking.models import PLAN_MEASURES, Plan, PlanItem, TrackedFacility
from tracking.selectors.plan_locations import plan_location_problems
from tracking.services.errors import PermissionDeniedError, TrackingError


@dataclass(frozen=True)
class Violation:
    rule: str
    measure: int | None
    message: str
    # The row the violation is about (None: the plan's totals); `excess`: more than the order requires.
    item_id: int | None = None
    excess: bool = False


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
                    item_id=item.id,
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
                    item_id=item.id,
                )
            )
        if item.district_id and item.district.region_id != item.region_id:
            out.append(
                Violation(
                    "district_outside_region",
                    item.measure_id,
                    _("district %(d)s is not in the region %(r)s") % {"d": item.district.name, "r": item.region.name},
                    item_id=item.id,
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
                    item_id=item.id,
                )
            )
    for number, quota in sorted(quotas.items()):
        if counts[number] != quota.count:
            out.append(
                Violation(
                    "count_mismatch",
                    number,
                    ngettext(
                        "measure %(m)s: the plan has %(n)s object, the order requires %(q)s",
                        "measure %(m)s: the plan has %(n)s objects, the order requires %(q)s",
                        counts[number],
                    )
                    % {"m": number, "n": counts[number], "q": quota.count},
                    excess=counts[number] > quota.count,
                )
            )
        if ppp[number] != quota.ppp_count:
            out.append(
                Violation(
                    "ppp_mismatch",
                    number,
                    ngettext(
                        "measure %(m)s: the plan has %(n)s PPP object, the order requires %(q)s",
                        "measure %(m)s: the plan has %(n)s PPP objects, the order requires %(q)s",
                        ppp[number],
                    )
                    % {"m": number, "n": ppp[number], "q": quota.ppp_count},
                    excess=ppp[number] > quota.ppp_count,
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
                ngettext(
                    "the plan has %(n)s object in all, the order requires %(q)s",
                    "the plan has %(n)s objects in all, the order requires %(q)s",
                    total,
                )
                % {"n": total, "q": total_required},
                excess=total > total_required,
            )
        )
    return out


def _require_plan_rights(user) -> None:
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
                    location=i.location,
                    name_kk=i.name_kk,
                    name_ru=i.name_ru,
                    name_en=i.name_en,
                )
                for i in copy_from.items.all()
            ]
        )
    return plan


def _editable(plan: Plan) -> None:
    if plan.status not in (Plan.Status.DRAFT, Plan.Status.CHECKED):
        raise TrackingError(_("an approved plan is not edited: create a new version"))


def plan_item_problems(
    *,
    plan: Plan,
    measure: int,
    year: int,
    count: int,
    ppp_count: int,
    places_each: int,
    region_id: int | None = None,
    district_id: int | None = None,
    location: Point | None = None,
) -> dict[str, list[str]]:
    """The checks of a plan row (added, restored or imported) by field; empty when it may be saved.

    A location (EPSG:4326) is for a row of one object and must lie in the row's region and district.
    """
    problems: dict[str, list[str]] = {}
    if location is not None:
        if count != 1:
            problems["location"] = [_("a location is given only for a row of one object")]
        elif region_id is not None:
            location_problems = plan_location_problems(location=location, region_id=region_id, district_id=district_id)
            if location_problems:
                problems["location"] = location_problems
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
    return problems


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
    location: Point | None = None,
    names: dict[str, str] | None = None,
    user=None,
) -> PlanItem:
    """Add a row to a draft plan; `names` maps "kk"/"ru"/"en" to the object's name (optional)."""
    _require_plan_rights(user)
    _editable(plan)
    problems = plan_item_problems(
        plan=plan,
        measure=measure,
        year=year,
        count=count,
        ppp_count=ppp_count,
        places_each=places_each,
        region_id=region_id,
        district_id=district_id,
        location=location,
    )
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
                location=location,
                **{f"name_{lang}": name for lang, name in (names or {}).items()},
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
        if item.count > len(chosen):
            # Every facility written passes the location check (the row's point in its region and district).
            located = facility_location_check(location=item.location, region=item.region, district=item.district)
            if located.problems:
                raise TrackingError({"__all__": [p.message for p in located.problems]})
        for _n in range(item.count - len(chosen)):
            kind = item.measure.quota.object_kind
            place = item.district or item.region
            f = Facility.objects.create(
                kind=kind,
                measure_id=item.measure_id,
                region_id=item.region_id,
                district_id=item.district_id,
                name_kk=item.name_kk or f"{kind.name_kk} — {place.name_kk}",
                name_ru=item.name_ru or f"{kind.name_ru} — {place.name_ru}",
                name_en=item.name_en or f"{kind.name_en} — {place.name_en}",
                location=item.location,
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
