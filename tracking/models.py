"""Consolidated plans (measures 12, 13), the stages of every facility, non-construction measures and reports.

Plans, plan items and the tracked facilities' current state are also historised
by django-pghistory triggers (who changed a plan's status, an executor or a reason).

Stage records are append-only: a correction is a new row, so the state of any
facility "as of" a past date (events dated ≤ that date and recorded by then) can
always be reproduced. `TrackedFacility` holds the current state of the stages,
on which the order of stages is enforced by CHECK constraints.
"""

import pghistory
from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from facilities.models import Facility, KpiIndicator, Measure, ResponsibleBody
from gis_portal.i18n import LocalizedNameMixin
from layers.models import District, Region


class Stage(models.TextChoices):
    PARCEL = "parcel", _("land parcel allocated")
    INFRASTRUCTURE = "infrastructure", _("engineering infrastructure")
    DESIGN = "design", _("design and estimate documentation")
    EXPERTISE = "expertise", _("state expertise conclusion")
    CONSTRUCTION_STARTED = "construction_started", _("construction started")
    CONSTRUCTION_PROGRESS = "construction_progress", _("construction in progress")
    ACCEPTED = "accepted", _("accepted into operation")
    OPENED = "opened", _("open (places in use)")


STAGE_ORDER: list[str] = [s.value for s in Stage]
# Snapshot column of TrackedFacility holding each stage's actual date.
STAGE_FIELD = {
    Stage.PARCEL: "parcel_on",
    Stage.INFRASTRUCTURE: "infrastructure_on",
    Stage.DESIGN: "design_on",
    Stage.EXPERTISE: "expertise_on",
    Stage.CONSTRUCTION_STARTED: "construction_started_on",
    Stage.CONSTRUCTION_PROGRESS: "construction_progress_on",
    Stage.ACCEPTED: "accepted_on",
    Stage.OPENED: "opened_on",
}
# The stage each stage must follow (infrastructure is needed only "where needed",
# measure 6, so design follows the parcel directly).
STAGE_PREDECESSOR = {
    Stage.INFRASTRUCTURE: Stage.PARCEL,
    Stage.DESIGN: Stage.PARCEL,
    Stage.EXPERTISE: Stage.DESIGN,
    Stage.CONSTRUCTION_STARTED: Stage.EXPERTISE,
    Stage.CONSTRUCTION_PROGRESS: Stage.CONSTRUCTION_STARTED,
    Stage.ACCEPTED: Stage.CONSTRUCTION_STARTED,
    Stage.OPENED: Stage.ACCEPTED,
}
# ConstructionQuota.target_stage -> stage that completes the measure.
TARGET_STAGE = {"acceptance": Stage.ACCEPTED, "expertise": Stage.EXPERTISE}
NON_CONSTRUCTION_MEASURES = (1, 2, 3, 4, 7, 8, 9, 10, 11)
PLAN_MEASURES = {12: range(14, 18), 13: range(18, 27)}


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Plan(models.Model):
    """A version of a consolidated plan: measure 12 (50 health centres) or 13 (100 creative objects)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        CHECKED = "checked", _("checked")
        APPROVED = "approved", _("approved")
        SUPERSEDED = "superseded", _("superseded")

    plan_measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="plans")
    version = models.PositiveSmallIntegerField(_("version"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    note = models.TextField(_("note"), blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    checked_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["plan_measure_id", "-version"]
        verbose_name = _("consolidated plan")
        verbose_name_plural = _("consolidated plans")
        constraints = [
            models.CheckConstraint(condition=Q(plan_measure_id__in=[12, 13]), name="plan_measure_12_or_13"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "checked", "approved", "superseded"]), name="plan_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "checked"]) | Q(approved_at__isnull=False),
                name="plan_approved_has_date",
            ),
            models.UniqueConstraint(fields=["plan_measure", "version"], name="plan_unique_version"),
            models.UniqueConstraint(
                fields=["plan_measure"], condition=Q(status="approved"), name="plan_one_approved_per_measure"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_measure_id} v{self.version} ({self.status})"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class PlanItem(LocalizedNameMixin, models.Model):
    """Objects of one construction measure in one region/district and year."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="items")
    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    district = models.ForeignKey(District, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    year = models.PositiveSmallIntegerField(_("year"))
    count = models.PositiveSmallIntegerField(_("number of objects"))
    ppp_count = models.PositiveSmallIntegerField(_("of them PPP"), default=0)
    places_each = models.PositiveIntegerField(_("planned places per object"), default=300)
    # A row of one object may say where it will stand (EPSG:4326, degrees) and what it is called;
    # approval gives a facility created for the row this location and these names.
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    name_kk = models.CharField(_("name (Kazakh)"), max_length=300, blank=True)
    name_ru = models.CharField(_("name (Russian)"), max_length=300, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=300, blank=True)

    class Meta:
        ordering = ["measure_id", "region__kato", "year", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(location__isnull=True) | Q(count=1), name="planitem_location_one_object"
            ),
            models.CheckConstraint(condition=Q(measure_id__gte=14, measure_id__lte=26), name="planitem_construction"),
            models.CheckConstraint(condition=Q(count__gt=0), name="planitem_count_positive"),
            models.CheckConstraint(condition=Q(ppp_count__lte=F("count")), name="planitem_ppp_within_count"),
            models.CheckConstraint(condition=Q(year__gte=2024, year__lte=2026), name="planitem_year_roadmap"),
            models.CheckConstraint(condition=Q(places_each__gt=0), name="planitem_places_positive"),
            models.UniqueConstraint(
                fields=["plan", "measure", "region", "district", "year"],
                nulls_distinct=False,
                name="planitem_unique_cell",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.measure_id}/{self.region_id}/{self.year}: {self.count}"


def _after(field: str, previous: str) -> Q:
    return Q(**{f"{field}__isnull": True}) | Q(**{f"{previous}__isnull": False, f"{field}__gte": F(previous)})


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class TrackedFacility(models.Model):
    """A facility of an approved plan and the current state of its stages.

    The *_on columns mirror the latest stage records; their CHECK constraints
    enforce the order of stages (no expertise before design, no acceptance
    before construction started, which needs the expertise, …). Where the
    facility has a land parcel, its parcel and infrastructure stages are the
    parcel data's (tracking.lifecycle), not these columns.
    """

    facility = models.OneToOneField(Facility, on_delete=models.CASCADE, related_name="tracking")
    plan_item = models.ForeignKey(PlanItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="tracked")
    in_plan = models.BooleanField(_("in the approved plan"), default=True)
    executor = models.CharField(_("responsible executor"), max_length=300, blank=True)
    overdue_reason = models.TextField(_("reason for delay (entered by the executor)"), blank=True)
    version = models.PositiveIntegerField(default=1)
    # Hand-entered only for facilities without a parcel record; with one, the parcel data decides.
    parcel_on = models.DateField(null=True, blank=True)
    infrastructure_on = models.DateField(null=True, blank=True)
    design_on = models.DateField(null=True, blank=True)
    expertise_on = models.DateField(null=True, blank=True)
    construction_started_on = models.DateField(null=True, blank=True)
    construction_progress_on = models.DateField(null=True, blank=True)
    accepted_on = models.DateField(null=True, blank=True)
    opened_on = models.DateField(null=True, blank=True)
    progress_percent = models.PositiveSmallIntegerField(null=True, blank=True)
    places_in_use = models.PositiveIntegerField(null=True, blank=True)
    is_demo = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["facility__measure_id", "facility__region__kato", "facility_id"]
        verbose_name = _("tracked facility")
        verbose_name_plural = _("tracked facilities")
        constraints = [
            # No constraint ties design to parcel_on: where a parcel exists, the parcel stage is its
            # act (tracking.lifecycle), which may be recorded, corrected or revoked after the design;
            # stage_record_add checks the order against those dates.
            models.CheckConstraint(condition=_after("expertise_on", "design_on"), name="tf_expertise_after_design"),
            models.CheckConstraint(
                condition=_after("construction_started_on", "expertise_on"), name="tf_start_after_expertise"
            ),
            models.CheckConstraint(
                condition=_after("construction_progress_on", "construction_started_on"), name="tf_progress_after_start"
            ),
            models.CheckConstraint(
                condition=_after("accepted_on", "construction_started_on"), name="tf_accepted_after_start"
            ),
            models.CheckConstraint(condition=_after("opened_on", "accepted_on"), name="tf_opened_after_accepted"),
            models.CheckConstraint(
                condition=Q(progress_percent__isnull=True) | Q(progress_percent__lte=100), name="tf_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return str(self.facility)


def _upload_stage(instance, filename: str) -> str:
    return f"tracking/stages/{instance.tracked_id}/{filename}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class StageRecord(models.Model):
    """One append-only statement about a stage: planned/actual date, proving document, executor.

    For "construction in progress" each record is a dated progress update
    (percent, photo). `recorded_at` is when the portal learnt it.
    """

    tracked = models.ForeignKey(TrackedFacility, on_delete=models.CASCADE, related_name="records")
    stage = models.CharField(_("stage"), max_length=24, choices=Stage.choices)
    planned_date = models.DateField(_("planned date"), null=True, blank=True)
    actual_date = models.DateField(_("actual date"), null=True, blank=True)
    percent = models.PositiveSmallIntegerField(_("percent complete"), null=True, blank=True)
    places_in_use = models.PositiveIntegerField(_("places in use"), null=True, blank=True)
    doc_number = models.CharField(_("document number"), max_length=100, blank=True)
    doc_date = models.DateField(_("document date"), null=True, blank=True)
    doc_file = models.FileField(_("document file"), upload_to=_upload_stage, blank=True)
    photo = models.FileField(_("photo"), upload_to=_upload_stage, blank=True)
    executor = models.CharField(_("responsible executor"), max_length=300, blank=True)
    note = models.TextField(_("note"), blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # A hand-entered "land parcel allocated" / "engineering infrastructure" record of a facility that
    # has a parcel: kept as history, no longer counted (the parcel data decide, tracking.lifecycle).
    superseded_by_parcel = models.BooleanField(_("superseded by the parcel data"), default=False)
    # A planner's review of a superseded record that disagreed with the parcel data.
    reviewed_at = models.DateTimeField(_("disagreement reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["tracked_id", "recorded_at", "id"]
        verbose_name = _("stage record")
        verbose_name_plural = _("stage records")
        indexes = [models.Index(fields=["tracked", "stage", "recorded_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(stage__in=STAGE_ORDER), name="stage_record_stage_valid"),
            models.CheckConstraint(
                condition=Q(planned_date__isnull=False) | Q(actual_date__isnull=False), name="stage_record_has_a_date"
            ),
            models.CheckConstraint(
                condition=Q(percent__isnull=True) | (Q(stage="construction_progress") & Q(percent__lte=100)),
                name="stage_record_percent_progress_only",
            ),
            # A stage is done only with the document that proves it (progress updates need none).
            models.CheckConstraint(
                condition=Q(actual_date__isnull=True)
                | Q(stage="construction_progress")
                | (~Q(doc_number="") & Q(doc_date__isnull=False)),
                name="stage_record_done_has_document",
            ),
            models.CheckConstraint(
                condition=Q(actual_date__isnull=True) | Q(actual_date__gte="2023-01-01"),
                name="stage_record_actual_in_roadmap",
            ),
            models.CheckConstraint(
                condition=Q(superseded_by_parcel=False) | Q(stage__in=["parcel", "infrastructure"]),
                name="stage_record_superseded_only_derived",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tracked_id} {self.stage} {self.actual_date or self.planned_date}"


def _upload_measure(instance, filename: str) -> str:
    return f"tracking/measures/{instance.measure_id}/{filename}"


class MeasureRecord(models.Model):
    """Append-only progress of a non-construction measure (1–4, 7–11), nationally or for one region.

    Measure 11 is reported every June and December: `period_end` names the half-year.
    """

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("in progress")
        DONE = "done", _("done")

    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    period_end = models.DateField(_("reporting period end (measure 11)"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    doc_kind = models.CharField(_("completion form"), max_length=40)
    doc_number = models.CharField(_("document number"), max_length=100, blank=True)
    doc_date = models.DateField(_("document date"), null=True, blank=True)
    doc_file = models.FileField(_("document file"), upload_to=_upload_measure, blank=True)
    executor = models.CharField(_("responsible executor"), max_length=300, blank=True)
    note = models.TextField(_("note"), blank=True)
    is_demo = models.BooleanField(default=False)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["measure_id", "region_id", "period_end", "recorded_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(measure_id__in=NON_CONSTRUCTION_MEASURES), name="measure_record_non_construction"
            ),
            models.CheckConstraint(condition=Q(status__in=["in_progress", "done"]), name="measure_record_status"),
            models.CheckConstraint(
                condition=~Q(status="done") | (~Q(doc_number="") & Q(doc_date__isnull=False)),
                name="measure_record_done_has_document",
            ),
            models.CheckConstraint(
                condition=(Q(measure_id=11) & Q(period_end__isnull=False))
                | (~Q(measure_id=11) & Q(period_end__isnull=True)),
                name="measure_record_period_only_11",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.measure_id} {self.region_id or ''} {self.status}"


KPI_CODES = ("recreation_coverage", "additional_education_coverage")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class KpiMeasurement(models.Model):
    """A KPI value as measured and reported by the ministry for a half-year, nationally or for one region.

    One row per indicator, region and half-year (a correction updates it; the history keeps what was
    known when, so a past report is reproduced). The roadmap's own estimate is computed, never stored.
    """

    indicator = models.ForeignKey(KpiIndicator, on_delete=models.PROTECT, related_name="measurements")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    period_end = models.DateField(_("half-year end"))
    value = models.DecimalField(_("measured value, %"), max_digits=5, decimal_places=2)
    source = models.CharField(_("source"), max_length=300)
    source_date = models.DateField(_("source date"))
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    entered_at = models.DateTimeField(_("entered at"), default=timezone.now)
    is_demo = models.BooleanField(_("demo data"), default=False)

    class Meta:
        ordering = ["indicator_id", "period_end", "region_id"]
        verbose_name = _("measured KPI value")
        verbose_name_plural = _("measured KPI values")
        constraints = [
            models.CheckConstraint(condition=Q(indicator_id__in=KPI_CODES), name="kpi_measurement_indicator"),
            models.CheckConstraint(condition=Q(value__gte=0, value__lte=100), name="kpi_measurement_percent"),
            models.CheckConstraint(condition=~Q(source=""), name="kpi_measurement_has_source"),
            models.CheckConstraint(
                condition=(Q(period_end__month=6) & Q(period_end__day=30))
                | (Q(period_end__month=12) & Q(period_end__day=31)),
                name="kpi_measurement_half_year_end",
            ),
            models.CheckConstraint(condition=Q(period_end__year__gte=2023), name="kpi_measurement_roadmap_period"),
            models.UniqueConstraint(
                fields=["indicator", "region", "period_end"],
                nulls_distinct=False,
                name="kpi_measurement_unique_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator_id} {self.region_id or 'KZ'} {self.period_end}: {self.value}"


def _upload_report(instance, filename: str) -> str:
    return f"tracking/reports/{instance.as_of:%Y-%m-%d}/{filename}"


class Report(models.Model):
    """A submitted (frozen) semi-annual report: the files and the data snapshot they were made from."""

    class Kind(models.TextChoices):
        REGION = "region", _("executor report: region (akimat)")
        BODY = "body", _("executor report: responsible body")
        CONSOLIDATED = "consolidated", _("consolidated ministry report")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    body = models.ForeignKey(ResponsibleBody, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    as_of = models.DateField(_("as of"))
    known_at = models.DateField(_("data recorded by"))
    language = models.CharField(max_length=2, choices=settings.LANGUAGES)
    data = models.JSONField()
    xlsx_file = models.FileField(upload_to=_upload_report)
    pdf_file = models.FileField(upload_to=_upload_report)
    csv_file = models.FileField(upload_to=_upload_report)
    submitted_at = models.DateTimeField(default=timezone.now)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-as_of", "kind", "id"]
        verbose_name = _("submitted report")
        verbose_name_plural = _("submitted reports")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["region", "body", "consolidated"]), name="report_kind_valid"),
            models.CheckConstraint(
                condition=(Q(kind="region") & Q(region__isnull=False) & Q(body__isnull=True))
                | (Q(kind="body") & Q(region__isnull=True) & Q(body__isnull=False))
                | (Q(kind="consolidated") & Q(region__isnull=True) & Q(body__isnull=True)),
                name="report_scope_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(as_of__day=1) & Q(as_of__month__in=[1, 7]), name="report_as_of_1_jan_or_1_jul"
            ),
            models.CheckConstraint(condition=Q(known_at__gte=F("as_of")), name="report_known_after_as_of"),
            # Once submitted, a report is never overwritten.
            models.UniqueConstraint(
                fields=["kind", "region", "body", "as_of", "language"],
                nulls_distinct=False,
                name="report_unique_submission",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.as_of} {self.language}"


class DigestDelivery(models.Model):
    """One deadline digest sent to one user for one day: a second run that day sends nothing again."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("day"))
    items = models.PositiveIntegerField(_("items listed"))
    language = models.CharField(max_length=2, choices=settings.LANGUAGES)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-day", "user_id"]
        verbose_name = _("deadline digest sent")
        verbose_name_plural = _("deadline digests sent")
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="digest_once_per_user_and_day")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.day}"
