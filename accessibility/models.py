"""Accessibility of facilities to children: population rasters, analysis runs and their results.

Geometry is stored in EPSG:4326. Distances are metres on the WGS 84 ellipsoid
(computed by layers.analysis); children counts are floats because raster
cells hold fractional people.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.db.models import F, Func, Q, Value
from django.utils.translation import gettext_lazy as _

from layers.models import District, PopulationFigure, Region

# An equal-area CRS known to PostGIS for areas of polygons anywhere (WGS 84 / NSIDC EASE-Grid 2.0 Global).
EQUAL_AREA_SRID = 6933


class PopulationRaster(models.Model):
    """A registered population GeoTIFF (any CRS/resolution) and which bands add up to "children"."""

    name = models.CharField(_("name"), max_length=200)
    path = models.CharField(_("file path on the server"), max_length=500)
    children_bands = ArrayField(models.PositiveSmallIntegerField(), verbose_name=_("bands that make children"))
    band_descriptions = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    indicator = models.CharField(
        _("what the summed bands count"),
        max_length=20,
        choices=PopulationFigure.Indicator.choices,
        default=PopulationFigure.Indicator.CHILDREN_0_17,
    )
    year = models.PositiveSmallIntegerField(_("year"))
    source = models.CharField(_("source"), max_length=300)
    crs_wkt = models.TextField(_("CRS (WKT)"))
    crs_name = models.CharField(_("CRS"), max_length=200)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    band_count = models.PositiveSmallIntegerField()
    pixel_size_x = models.FloatField(_("pixel width (CRS units)"))
    pixel_size_y = models.FloatField(_("pixel height (CRS units)"))
    extent = models.PolygonField(_("extent"), srid=4326)
    is_demo = models.BooleanField(_("demo data"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("population raster")
        verbose_name_plural = _("population rasters")
        constraints = [
            models.CheckConstraint(condition=Q(children_bands__len__gt=0), name="raster_children_bands_not_empty"),
            models.CheckConstraint(condition=Q(year__gte=1990, year__lte=2100), name="raster_year_range"),
            models.CheckConstraint(condition=Q(width__gt=0, height__gt=0), name="raster_size_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class AnalysisRun(models.Model):
    """One analysis with its parameters, inputs, times, status and progress; reproducible from `parameters`."""

    class Kind(models.TextChoices):
        COVERAGE = "coverage", _("Distance coverage")
        FCA = "fca", _("Capacity-aware accessibility (2SFCA)")
        ROADMAP = "roadmap", _("Roadmap effect")
        SITES = "sites", _("Best new sites")
        UNDERSERVED = "underserved", _("Underserved areas")

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("analysis"), max_length=12, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(_("progress"), default=0.0)
    progress_note = models.CharField(max_length=200, blank=True)
    parameters = models.JSONField(_("parameters"))
    inputs = models.JSONField(_("inputs used"), default=dict, blank=True)
    notes = models.JSONField(_("notes"), default=list, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    raster = models.ForeignKey(PopulationRaster, on_delete=models.PROTECT, null=True, blank=True, related_name="runs")
    is_demo = models.BooleanField(_("demo data"), default=False)
    # The run this one repeats with one input changed (demand source, radii): the page compares them.
    repeat_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="repeats", verbose_name=_("repeat of")
    )
    task_id = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("analysis run")
        verbose_name_plural = _("analysis runs")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["coverage", "fca", "roadmap", "sites", "underserved"]), name="run_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "running", "done", "failed"]), name="run_status_valid"
            ),
            models.CheckConstraint(condition=Q(progress__gte=0, progress__lte=1), name="run_progress_0_1"),
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True) | Q(started_at__isnull=False), name="run_finished_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class ZoneResult(models.Model):
    """Children covered / accessibility in one district (or a region total when district is null)."""

    class Scenario(models.TextChoices):
        CURRENT = "current", _("as of the chosen date")
        BEFORE = "before", _("before the roadmap")
        AFTER = "after", _("all facilities of the plan open")

    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="zone_results")
    scenario = models.CharField(max_length=8, choices=Scenario.choices, default=Scenario.CURRENT)
    region = models.ForeignKey(Region, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    district = models.ForeignKey(District, on_delete=models.CASCADE, null=True, blank=True, related_name="access_rows")
    children = models.FloatField(_("children"))
    covered = models.FloatField(_("children covered"), null=True, blank=True)
    mean_distance_m = models.FloatField(_("mean distance to nearest facility, m"), null=True, blank=True)
    access_per_1000 = models.FloatField(_("places per 1 000 children reachable"), null=True, blank=True)
    without_access = models.FloatField(_("children with no facility in reach"), null=True, blank=True)
    scale_factor = models.FloatField(_("raster scale factor"), null=True, blank=True)
    # Children given a place within reach by the capacity-constrained assignment (maximum flow,
    # layers.analysis.capacity); `covered` is within reach whatever the capacity.
    served = models.FloatField(_("children served within capacity"), null=True, blank=True)
    # The explicit row of demand that lies outside every district (beyond the stated tolerance);
    # region and district are null on it, like the national row, which it is part of.
    outside = models.BooleanField(_("outside every district"), default=False)
    # Travel-time runs (issue 18): children within each of the run's thresholds (in the order of
    # parameters.travel.thresholds_min) and those farther than travel.max_snap_m from every road and facility.
    within_minutes = ArrayField(
        models.FloatField(), verbose_name=_("children within each travel-time threshold"), null=True, blank=True
    )
    not_reachable = models.FloatField(_("children not reachable from the road network"), null=True, blank=True)

    class Meta:
        ordering = ["scenario", "outside", "region__kato", "district__kato"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "scenario", "region", "district", "outside"],
                name="zone_result_unique",
                nulls_distinct=False,
            ),
            models.CheckConstraint(condition=Q(children__gte=0), name="zone_children_not_negative"),
            models.CheckConstraint(
                condition=Q(covered__isnull=True) | Q(covered__gte=0, covered__lte=F("children") * 1.000001 + 1e-6),
                name="zone_covered_within_children",
            ),
            models.CheckConstraint(
                condition=Q(scenario__in=["current", "before", "after"]), name="zone_scenario_valid"
            ),
            models.CheckConstraint(
                condition=Q(served__isnull=True)
                | Q(covered__isnull=False, served__gte=0, served__lte=F("covered") * 1.000001 + 1e-6),
                name="zone_served_within_covered",
            ),
            models.CheckConstraint(
                condition=Q(outside=False) | Q(region__isnull=True, district__isnull=True),
                name="zone_outside_row_has_no_zone",
            ),
            models.CheckConstraint(
                condition=Q(not_reachable__isnull=True)
                | Q(not_reachable__gte=0, not_reachable__lte=F("children") * 1.000001 + 1e-6),
                name="zone_not_reachable_within_children",
            ),
        ]

    @property
    def over_capacity(self) -> float | None:
        """Children within reach of a facility but beyond what its capacity serves."""
        if self.served is None or self.covered is None:
            return None
        return max(self.covered - self.served, 0.0)

    @property
    def not_covered(self) -> float | None:
        return self.uncovered

    @property
    def uncovered(self) -> float | None:
        return None if self.covered is None else max(self.children - self.covered, 0.0)

    @property
    def covered_pct(self) -> float | None:
        if self.covered is None or self.children <= 0:
            return None
        return 100.0 * self.covered / self.children


class DistanceBin(models.Model):
    """Children by distance to the nearest facility (the distribution), per run and scenario."""

    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="distance_bins")
    scenario = models.CharField(max_length=8, choices=ZoneResult.Scenario.choices, default="current")
    lower_m = models.FloatField()
    upper_m = models.FloatField(null=True, blank=True, help_text=_("empty: open-ended or no facility"))
    children = models.FloatField()

    class Meta:
        ordering = ["scenario", "lower_m"]
        constraints = [
            models.UniqueConstraint(fields=["run", "scenario", "lower_m"], name="distance_bin_unique"),
        ]


class SiteResult(models.Model):
    """A candidate site: children it would add alone (rank) and, when chosen, its greedy order and gain."""

    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="site_results")
    rank = models.PositiveIntegerField(_("rank by children added alone"))
    location = models.PointField(srid=4326)
    label = models.CharField(max_length=300, blank=True)
    candidate_ref = models.CharField(_("candidate reference"), max_length=100, blank=True)
    region = models.ForeignKey(Region, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    solo_gain = models.FloatField(_("children it would add alone"))
    selected_order = models.PositiveIntegerField(_("order chosen"), null=True, blank=True)
    marginal_gain = models.FloatField(_("children added when chosen"), null=True, blank=True)

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(fields=["run", "rank"], name="site_rank_unique"),
            models.CheckConstraint(condition=Q(solo_gain__gte=0), name="site_gain_not_negative"),
            models.CheckConstraint(
                condition=Q(selected_order__isnull=True, marginal_gain__isnull=True)
                | Q(selected_order__isnull=False, marginal_gain__isnull=False),
                name="site_selected_has_gain",
            ),
        ]


class AreaResult(models.Model):
    """A hexagon of the underserved-areas layer: children and uncovered children inside it."""

    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="area_results")
    rank = models.PositiveIntegerField()
    geom = models.PolygonField(srid=4326)
    # The region containing the hexagon's centroid (a hexagon may straddle a boundary), set in
    # PostGIS when the results are saved; it scopes the rows for akimat users.
    region = models.ForeignKey(Region, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    children = models.FloatField()
    uncovered = models.FloatField()

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.UniqueConstraint(fields=["run", "rank"], name="area_rank_unique"),
            models.CheckConstraint(condition=Q(uncovered__gte=0), name="area_uncovered_not_negative"),
        ]


class PointResult(models.Model):
    """Per-settlement results (when the demand comes from settlements): distance, covered, 2SFCA score."""

    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="point_results")
    scenario = models.CharField(max_length=8, choices=ZoneResult.Scenario.choices, default="current")
    settlement = models.ForeignKey("layers.Settlement", on_delete=models.CASCADE, related_name="+")
    children = models.FloatField()
    distance_m = models.FloatField(null=True, blank=True)
    covered = models.BooleanField(null=True)
    access_per_1000 = models.FloatField(null=True, blank=True)
    # Children of this settlement given a place within capacity (its share of the maximum flow).
    served = models.FloatField(null=True, blank=True)
    # What the settlement was classed as and the catchment radius that applied to it (metres;
    # the largest radius of the kinds in the run, for the urban or rural class).
    urban = models.BooleanField(null=True)
    radius_m = models.FloatField(null=True, blank=True)
    # Travel-time runs: seconds to the nearest facility (null beyond the largest threshold or not reachable), and
    # whether the settlement lies within travel.max_snap_m of a road node or a facility at all.
    travel_time_s = models.FloatField(null=True, blank=True)
    reachable = models.BooleanField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "scenario", "settlement"], name="point_result_unique"),
            models.CheckConstraint(
                condition=Q(travel_time_s__isnull=True) | Q(travel_time_s__gte=0), name="point_travel_time_not_negative"
            ),
        ]


class Isochrone(models.Model):
    """The area from which a facility is reached within `minutes` of travel (travel-time coverage runs).

    Geometry EPSG:4326 (layers.analysis.isochrones: home → facility over the run's road network, the
    off-network stretch included, drawn with the tolerance stated in the run's notes; with a population raster,
    layers.analysis.friction_isochrones: the friction grid's cells within the threshold, along their edges). The
    polygons of one facility are nested: a larger threshold covers the smaller one's. `area_km2` is measured by
    PostGIS in an equal-area CRS (WGS 84 / NSIDC EASE-Grid 2.0 Global, EPSG:6933), written on every write.
    """

    run = models.ForeignKey(AnalysisRun, on_delete=models.CASCADE, related_name="isochrones")
    facility = models.ForeignKey("facilities.Facility", on_delete=models.CASCADE, related_name="+")
    minutes = models.FloatField(_("minutes of travel"))
    geom = models.MultiPolygonField(srid=4326)
    area_km2 = models.GeneratedField(
        expression=Func(Func(F("geom"), Value(EQUAL_AREA_SRID), function="ST_Transform"), function="ST_Area")
        / Value(1e6),
        output_field=models.FloatField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["run", "facility", "-minutes"]
        constraints = [
            models.UniqueConstraint(fields=["run", "facility", "minutes"], name="isochrone_unique"),
            models.CheckConstraint(condition=Q(minutes__gt=0), name="isochrone_minutes_positive"),
        ]
