"""DEMO data of tracking: approved plans built from the demo facilities and invented stage histories.

Every row written here is flagged `is_demo`. Seeders only: the pages, the API and the reports never call
this module (management command `load_demo_tracking`, scripts/run, tests).
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from facilities.models import Facility, Measure
from gis_portal.demo import register
from layers.models import Region
from tracking.lifecycle import DERIVED_STAGES, parcel_facts_as_of
from tracking.models import (
    NON_CONSTRUCTION_MEASURES,
    PLAN_MEASURES,
    STAGE_ORDER,
    KpiMeasurement,
    MeasureRecord,
    Plan,
    PlanItem,
    Report,
    Stage,
    StageRecord,
    TrackedFacility,
)
from tracking.selectors import measure11_periods
from tracking.services.errors import TrackingError
from tracking.services.kpi import kpi_measurement_set
from tracking.services.measures import measure_record_add
from tracking.services.plans import plan_approve, plan_check, plan_create
from tracking.services.stages import stage_record_add


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
    # Facilities with a (demo) parcel take their parcel and infrastructure stages from it
    # (tracking.lifecycle): their timeline starts at the parcel's act, or stops before design
    # while the act is not issued.
    parcels = parcel_facts_as_of(facility_ids=[t.facility_id for t in tracked], as_of=today, cutoff=timezone.now())
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
        facts = parcels.get(t.facility_id)
        if facts is not None:
            if facts.parcel_on is None:
                continue  # no land-use act yet: nothing can follow
            start = facts.parcel_on
            sequence = [stage for stage in sequence if stage not in DERIVED_STAGES]
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
        periods = [p for p in measure11_periods() if p < today] if m.number == 11 else [None]
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


DEMO_KPI_SOURCE = "DEMO: invented value, not a ministry figure"


@transaction.atomic
def demo_kpi_measurements_create(*, today: date | None = None) -> int:
    """Invent national measured KPI values for every half-year ended before `today`: a path from the
    order's 2023 baseline that falls a little short of each year's target (regions stay "not
    reported"). Flagged demo, source says so; previous demo values are replaced."""
    today = today or timezone.localdate()
    KpiMeasurement.objects.filter(is_demo=True).delete()
    paths = {
        "recreation_coverage": {2023: 7.6, 2024: 7.9, 2025: 9.6, 2026: 11.5},
        "additional_education_coverage": {2023: 81.1, 2024: 85.2, 2025: 88.9, 2026: 93.8},
    }
    count = 0
    for code, by_year in paths.items():
        for year, december in by_year.items():
            previous = by_year.get(year - 1, december)
            for period_end, value in (
                (date(year, 6, 30), (previous + december) / 2),
                (date(year, 12, 31), december),
            ):
                source_date = period_end + timedelta(days=20)
                if source_date >= today:
                    continue
                kpi_measurement_set(
                    indicator=code,
                    region_id=None,
                    period_end=period_end,
                    value=round(value, 2),
                    source=DEMO_KPI_SOURCE,
                    source_date=source_date,
                    entered_at=_aware(source_date),
                    is_demo=True,
                )
                count += 1
    return count


# --- removal (manage.py demo_data --remove): reports made of demo data, records, the tracked facilities,
# then the plans -----------------------------------------------------------------------------------------
def _report_files_remove(reports) -> None:
    for report in reports:
        for field in (report.xlsx_file, report.pdf_file, report.csv_file):
            if field:
                field.delete(save=False)


register(
    label="tracking.Report",
    order=19,
    rows=lambda: Report.objects.filter(data__is_demo=True),
    before_delete=_report_files_remove,
)
register(label="tracking.StageRecord", order=20, rows=lambda: StageRecord.objects.filter(tracked__is_demo=True))
register(label="tracking.MeasureRecord", order=21, rows=lambda: MeasureRecord.objects.filter(is_demo=True))
register(label="tracking.KpiMeasurement", order=21, rows=lambda: KpiMeasurement.objects.filter(is_demo=True))
register(label="tracking.TrackedFacility", order=22, rows=lambda: TrackedFacility.objects.filter(is_demo=True))
register(label="tracking.Plan", order=23, rows=lambda: Plan.objects.filter(is_demo=True))
