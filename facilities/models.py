"""The roadmap of Order No. 191-ө (measures, bodies, quotas, KPI targets) and its facilities.

Kazakh texts are verbatim from the order; Russian and English are working
translations. Locations are stored in EPSG:4326.
"""

import pghistory
import pgtrigger
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.core.validators import RegexValidator
from django.db.models import F, FloatField, Func, Q
from django.db.models.lookups import Range
from django.utils.translation import gettext_lazy as _

from gis_portal.geo.geojson import stored_geojson
from gis_portal.i18n import LocalizedNameMixin
from layers.models import District, Region

CONSTRUCTION_MEASURES = range(14, 27)
HEALTH_MEASURES = range(14, 18)
CREATIVE_MEASURES = range(18, 27)

# Kazakhstan's bounding box in EPSG:4326 degrees (west, south, east, north), rounded outwards from
# its extent (46.49°E–87.36°E, 40.57°N–55.44°N). The table refuses a facility's point outside it
# (facility_location_in_kazakhstan_bbox), so 0°, 0° and swapped axes cannot be stored by any write;
# facilities.checks applies the finer rule (inside its region and district) with readable messages.
KAZAKHSTAN_BBOX = (46.0, 40.0, 88.0, 56.0)


class PointX(Func):
    """ST_X of a point: its longitude in degrees for EPSG:4326 (used by a CHECK constraint)."""

    function = "ST_X"
    output_field = FloatField()


class PointY(Func):
    """ST_Y of a point: its latitude in degrees for EPSG:4326 (used by a CHECK constraint)."""

    function = "ST_Y"
    output_field = FloatField()


class ResponsibleBody(LocalizedNameMixin, models.Model):
    """A body the order makes responsible for a measure, by its abbreviation (ОМ, ЖАО, …)."""

    code = models.CharField(_("abbreviation"), max_length=40, unique=True)
    name_kk = models.CharField(_("name (Kazakh)"), max_length=300)
    name_ru = models.CharField(_("name (Russian)"), max_length=300)
    name_en = models.CharField(_("name (English)"), max_length=300)

    class Meta:
        ordering = ["id"]
        verbose_name = _("responsible body")
        verbose_name_plural = _("responsible bodies")

    def __str__(self) -> str:
        return self.code


class Section(LocalizedNameMixin, models.Model):
    code = models.CharField(max_length=8, primary_key=True)
    title_kk = models.TextField()
    title_ru = models.TextField()
    title_en = models.TextField()

    class Meta:
        ordering = ["code"]
        verbose_name = _("section")
        verbose_name_plural = _("sections")

    @property
    def title(self) -> str:
        return self.localized("title")

    def __str__(self) -> str:
        return f"{self.code}. {self.title}"


class Measure(LocalizedNameMixin, models.Model):
    """One of the 26 measures of the roadmap; its number is its key."""

    class DeadlineKind(models.TextChoices):
        MONTH = "month", _("month")
        QUARTER = "quarter", _("quarter")
        PERIOD = "period", _("period of years")
        RECURRING = "recurring", _("recurring")

    number = models.PositiveSmallIntegerField(_("number"), primary_key=True)
    section = models.ForeignKey(Section, on_delete=models.PROTECT, related_name="measures")
    title_kk = models.TextField(_("title (Kazakh, as in the order)"))
    title_ru = models.TextField(_("title (Russian)"))
    title_en = models.TextField(_("title (English)"))
    completion_form_code = models.CharField(_("completion form"), max_length=40)
    completion_form_kk = models.CharField(max_length=300)
    completion_form_ru = models.CharField(max_length=300)
    completion_form_en = models.CharField(max_length=300)
    deadline_text_kk = models.CharField(_("deadline as written in the order"), max_length=100)
    deadline_kind = models.CharField(_("deadline kind"), max_length=10, choices=DeadlineKind.choices)
    deadline_start = models.DateField(_("deadline period start"))
    deadline_end = models.DateField(_("deadline (last day)"))
    recurrence_months = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    responsible = models.ManyToManyField(ResponsibleBody, related_name="measures")
    responsible_text_kk = models.CharField(max_length=300)

    class Meta:
        ordering = ["number"]
        verbose_name = _("measure")
        verbose_name_plural = _("measures")
        constraints = [
            models.CheckConstraint(condition=Q(number__gte=1, number__lte=26), name="measure_number_1_26"),
            models.CheckConstraint(condition=Q(deadline_end__gte=F("deadline_start")), name="measure_deadline_ordered"),
            models.CheckConstraint(
                condition=Q(deadline_kind__in=["month", "quarter", "period", "recurring"]),
                name="measure_deadline_kind_valid",
            ),
        ]

    @property
    def title(self) -> str:
        return self.localized("title")

    @property
    def completion_form(self) -> str:
        return self.localized("completion_form")

    def __str__(self) -> str:
        return f"{self.number}. {self.title[:80]}"


class FacilityKind(LocalizedNameMixin, models.Model):
    """Kind of object the order builds (year-round health centre, art school, …)."""

    code = models.CharField(max_length=40, primary_key=True)
    name_kk = models.CharField(max_length=200)
    name_ru = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)
    # Children served per place per year (the KPI estimate's multiplier): a health camp runs several
    # shifts a year, a creative centre's place is taken by the same children all year. Data, loaded
    # with its basis from facilities/data/roadmap.json; `shifts_assumed` marks a figure that is not
    # from an official norm, and the pages label it so.
    shifts_per_year = models.PositiveSmallIntegerField(_("children per place per year (shifts)"), default=1)
    shifts_basis = models.TextField(_("basis of the shifts figure"), blank=True)
    shifts_assumed = models.BooleanField(_("shifts figure is assumed"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("facility kind")
        verbose_name_plural = _("facility kinds")
        constraints = [
            models.CheckConstraint(
                condition=Q(shifts_per_year__gte=1, shifts_per_year__lte=60), name="facility_kind_shifts_range"
            ),
        ]


class ConstructionQuota(models.Model):
    """What a construction measure (14–26) must deliver: count, kind, regions, PPP count."""

    class TargetStage(models.TextChoices):
        ACCEPTANCE = "acceptance", _("acceptance into operation")
        EXPERTISE = "expertise", _("state expertise conclusion")

    measure = models.OneToOneField(Measure, on_delete=models.CASCADE, primary_key=True, related_name="quota")
    count = models.PositiveSmallIntegerField(_("number of objects"))
    object_kind = models.ForeignKey(FacilityKind, on_delete=models.PROTECT, related_name="quotas")
    ppp_count = models.PositiveSmallIntegerField(_("of them by public-private partnership"), default=0)
    target_stage = models.CharField(_("target stage"), max_length=12, choices=TargetStage.choices)
    regions = models.ManyToManyField(Region, related_name="quotas")
    regions_text_kk = models.TextField()

    class Meta:
        ordering = ["measure"]
        verbose_name = _("construction quota")
        verbose_name_plural = _("construction quotas")
        constraints = [
            models.CheckConstraint(condition=Q(count__gt=0), name="quota_count_positive"),
            models.CheckConstraint(condition=Q(ppp_count__lte=F("count")), name="quota_ppp_within_count"),
            models.CheckConstraint(
                condition=Q(measure_id__gte=14, measure_id__lte=26), name="quota_construction_measure"
            ),
            models.CheckConstraint(
                condition=Q(target_stage__in=["acceptance", "expertise"]), name="quota_target_stage_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.measure_id}: {self.count} × {self.object_kind_id}"


class KpiIndicator(LocalizedNameMixin, models.Model):
    """An expected result of the roadmap (share of school-age children covered, %)."""

    code = models.CharField(max_length=40, primary_key=True)
    name_kk = models.TextField()
    name_ru = models.TextField()
    name_en = models.TextField()
    unit = models.CharField(max_length=10, default="%")
    baseline_year = models.PositiveSmallIntegerField()
    baseline = models.DecimalField(max_digits=6, decimal_places=2)

    class Meta:
        ordering = ["code"]
        verbose_name = _("KPI indicator")
        verbose_name_plural = _("KPI indicators")


class KpiTarget(models.Model):
    indicator = models.ForeignKey(KpiIndicator, on_delete=models.CASCADE, related_name="targets")
    year = models.PositiveSmallIntegerField()
    value = models.DecimalField(max_digits=6, decimal_places=2)

    class Meta:
        ordering = ["indicator", "year"]
        verbose_name = _("KPI target")
        verbose_name_plural = _("KPI targets")
        constraints = [
            models.UniqueConstraint(fields=["indicator", "year"], name="kpi_target_unique_year"),
            models.CheckConstraint(condition=Q(value__gte=0, value__lte=100), name="kpi_target_percent"),
            models.CheckConstraint(condition=Q(year__gte=2023, year__lte=2026), name="kpi_target_roadmap_year"),
        ]


# A Kazakh business identification number (БСН/БИН): 12 digits; the check digit is verified by
# facilities.services.bin_is_valid, the table only keeps the shape.
BIN_PATTERN = r"^[0-9]{12}$"


class FundingSource(models.TextChoices):
    """Where a facility's money comes from (the budget levels of the Budget Code of Kazakhstan, PPP, others)."""

    REPUBLICAN = "republican", _("republican budget")
    LOCAL = "local", _("local budget")
    PPP = "ppp", _("public-private partnership")
    PRIVATE = "private", _("private investor or sponsor")
    OTHER = "other", _("other source")


# History of facilities (restorable, facilities.services.facility_restore). The generated GeoJSON column
# is derived from the location, so it is not copied; the update condition compares whole rows, as for
# parcels (a per-column list compares geometries with `=`, which pg_restore cannot resolve).
@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(condition=pgtrigger.Condition("OLD.* IS DISTINCT FROM NEW.*")),
    pghistory.DeleteEvent(),
    exclude=["location_geojson"],
)
class Facility(LocalizedNameMixin, models.Model):
    """A health or creative object built under a construction measure (14–26)."""

    kind = models.ForeignKey(FacilityKind, on_delete=models.PROTECT, related_name="facilities")
    measure = models.ForeignKey(Measure, on_delete=models.PROTECT, related_name="facilities")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="facilities")
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="facilities", null=True, blank=True)
    name_kk = models.CharField(_("name (Kazakh)"), max_length=300)
    name_ru = models.CharField(_("name (Russian)"), max_length=300)
    name_en = models.CharField(_("name (English)"), max_length=300)
    places = models.PositiveIntegerField(_("places (capacity)"))
    is_ppp = models.BooleanField(_("public-private partnership"), default=False)
    location = models.PointField(_("location"), srid=4326, null=True, blank=True)
    # The geometry as the API serves it by default, written by PostgreSQL on every write (see gis_portal.geo.geojson).
    location_geojson = models.GeneratedField(
        expression=stored_geojson("location"), output_field=models.TextField(), db_persist=True
    )
    planned_year = models.PositiveSmallIntegerField(_("planned year"))
    # The number the plan or the akimat gives the object (e.g. in a land office's export), so a file
    # can name the facility without knowing the portal's internal id (parcels import, issue 15).
    reference = models.CharField(
        _("reference number"),
        max_length=60,
        blank=True,
        help_text=_("The plan's or the akimat's number of this object, as written in files; unique when given."),
    )
    is_demo = models.BooleanField(
        _("demo data"), default=False, help_text=_("Invented for demonstration, not an official record.")
    )
    # Optional finances (issue 21). Whole tenge: the budgets of such objects are stated in tenge (or
    # thousands) and an integer keeps them exact in JSON; a tiyn has no meaning at this scale.
    budget_kzt = models.BigIntegerField(
        _("budget, KZT"), null=True, blank=True, help_text=_("The object's estimated or allocated cost in tenge.")
    )
    funding_source = models.CharField(_("funding source"), max_length=12, choices=FundingSource.choices, blank=True)
    contractor_name = models.CharField(_("contractor"), max_length=300, blank=True)
    contractor_bin = models.CharField(
        _("contractor's BIN"),
        max_length=12,
        blank=True,
        validators=[RegexValidator(BIN_PATTERN, _("A BIN has 12 digits."))],
    )
    # The editor decides whether the budget, funding source and contractor are public; until then
    # only signed-in users see them (the public collection properties are conditional on this flag).
    finances_published = models.BooleanField(
        _("publish the finances"),
        default=False,
        help_text=_("Show the budget, funding source and contractor to the public and in the open data."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["measure_id", "region__kato", "id"]
        verbose_name = _("facility")
        verbose_name_plural = _("facilities")
        constraints = [
            models.CheckConstraint(
                condition=Q(measure_id__gte=14, measure_id__lte=26), name="facility_construction_measure"
            ),
            models.CheckConstraint(condition=Q(places__gt=0), name="facility_places_positive"),
            models.CheckConstraint(
                condition=Q(planned_year__gte=2023, planned_year__lte=2026), name="facility_planned_year_roadmap"
            ),
            models.CheckConstraint(
                condition=~Q(name_kk="") & ~Q(name_ru="") & ~Q(name_en=""), name="facility_names_not_empty"
            ),
            models.UniqueConstraint(fields=["reference"], condition=~Q(reference=""), name="facility_reference_unique"),
            models.CheckConstraint(
                condition=Q(budget_kzt__isnull=True) | Q(budget_kzt__gte=0), name="facility_budget_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(funding_source="") | Q(funding_source__in=FundingSource.values),
                name="facility_funding_source_valid",
            ),
            models.CheckConstraint(
                condition=Q(contractor_bin="") | Q(contractor_bin__regex=BIN_PATTERN), name="facility_contractor_bin_12"
            ),
            models.CheckConstraint(
                condition=Q(location__isnull=True)
                | Q(
                    Range(PointX("location"), (KAZAKHSTAN_BBOX[0], KAZAKHSTAN_BBOX[2])),
                    Range(PointY("location"), (KAZAKHSTAN_BBOX[1], KAZAKHSTAN_BBOX[3])),
                ),
                name="facility_location_in_kazakhstan_bbox",
            ),
        ]
        indexes = [
            models.Index(fields=["region", "measure"]),
            # The API's count and Last-Modified of an unfiltered page read this index alone.
            models.Index(fields=["updated_at"], name="facility_updated_at_idx"),
        ]
