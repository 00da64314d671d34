"""Routable road networks (pgRouting): networks, their vertices and edges, and the speed table.

Geometry is stored in EPSG:4326. Lengths are metres on the WGS 84 spheroid (PostGIS geography);
costs are seconds of travel; speeds are km/h. Edge `source`/`target` columns hold RoadVertex ids,
which are the vertex ids pgRouting sees (unique across networks, so several networks share the tables).
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RoadNetwork(models.Model):
    """One loaded road network (e.g. the summer or the winter one), its source and what loading dropped."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    label = models.CharField(_("label (e.g. summer, winter)"), max_length=50, blank=True)
    source_file = models.CharField(_("source file name"), max_length=300)
    source_description = models.CharField(_("source (as the user describes it)"), max_length=500, blank=True)
    source_date = models.DateField(_("date of the source data"), null=True, blank=True)
    loaded_at = models.DateTimeField(_("loaded at"), auto_now_add=True)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("loaded by")
    )
    edge_count = models.PositiveIntegerField(_("edges"), default=0)
    vertex_count = models.PositiveIntegerField(_("vertices"), default=0)
    component_count = models.PositiveIntegerField(_("connected pieces"), default=0)
    main_component = models.BigIntegerField(_("largest connected piece"), null=True, blank=True)
    length_km = models.FloatField(_("total length (km)"), default=0.0)
    report = models.JSONField(_("load report (drops, disconnected pieces, speeds used)"), default=dict, blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("road network")
        verbose_name_plural = _("road networks")
        constraints = [
            models.CheckConstraint(condition=Q(length_km__gte=0), name="roadnetwork_length_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.label})" if self.label else self.name


class RoadVertex(models.Model):
    """A node of a network: where edges meet (pgRouting vertex id = this row's id)."""

    network = models.ForeignKey(RoadNetwork, on_delete=models.CASCADE, related_name="vertices")
    geom = models.PointField(srid=4326)

    class Meta:
        verbose_name = _("road vertex")
        verbose_name_plural = _("road vertices")
        indexes = [models.Index(fields=["network"], name="roadvertex_network")]

    def __str__(self) -> str:
        return f"vertex {self.pk}"


class RoadEdge(models.Model):
    """A stretch of road between two vertices, with its travel cost in each direction.

    `reverse_cost_s` is NULL where the road is one-way (travel from target to source is closed);
    pgRouting is given -1 there (a negative cost means "no edge" to pgRouting).
    """

    network = models.ForeignKey(RoadNetwork, on_delete=models.CASCADE, related_name="edges")
    geom = models.LineStringField(srid=4326)  # GiST index (GeoDjango's spatial_index default)
    road_class = models.CharField(_("road class"), max_length=50)
    surface = models.CharField(_("surface"), max_length=50, blank=True)
    maxspeed_kmh = models.FloatField(_("speed limit given (km/h)"), null=True, blank=True)
    oneway = models.BooleanField(_("one-way"), default=False)
    length_m = models.FloatField(_("length (m, on the WGS 84 spheroid)"))
    source = models.ForeignKey(RoadVertex, on_delete=models.CASCADE, related_name="+", db_column="source")
    target = models.ForeignKey(RoadVertex, on_delete=models.CASCADE, related_name="+", db_column="target")
    speed_kmh = models.FloatField(_("speed used (km/h)"))
    cost_s = models.FloatField(_("travel time source → target (s)"))
    reverse_cost_s = models.FloatField(_("travel time target → source (s)"), null=True, blank=True)
    component = models.BigIntegerField(_("connected piece"), null=True, blank=True)
    feature_id = models.CharField(_("feature in the source file"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("road edge")
        verbose_name_plural = _("road edges")
        indexes = [models.Index(fields=["network", "component"], name="roadedge_network_component")]
        constraints = [
            models.CheckConstraint(condition=Q(length_m__gt=0), name="roadedge_length_positive"),
            models.CheckConstraint(condition=Q(speed_kmh__gt=0), name="roadedge_speed_positive"),
            models.CheckConstraint(condition=Q(cost_s__gte=0), name="roadedge_cost_not_negative"),
            models.CheckConstraint(
                condition=Q(oneway=True, reverse_cost_s__isnull=True)
                | Q(oneway=False, reverse_cost_s__isnull=False, reverse_cost_s__gte=0),
                name="roadedge_reverse_cost_iff_two_way",
            ),
            models.CheckConstraint(
                condition=Q(maxspeed_kmh__isnull=True) | Q(maxspeed_kmh__gt=0), name="roadedge_maxspeed_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.road_class} {self.pk}"


class RoadSpeed(models.Model):
    """Travel speeds the planner may edit (km/h).

    A row is one of:
    - a road class's speed (`road_class` set, `surface` blank);
    - a surface's cap for every class (`road_class` blank, `surface` set: gravel, unpaved, soft);
    - a class on a surface (both set): replaces the two above for that pair;
    - the off-network speed (`kind` = off_network, both blank): one row only, the speed over the
      stretch from a settlement or facility to the nearest road.
    Costs are computed when a network is loaded; the report of each network keeps the speeds it used.
    """

    class Kind(models.TextChoices):
        ROAD = "road", _("road")
        OFF_NETWORK = "off_network", _("off the network (to the nearest road)")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.ROAD)
    road_class = models.CharField(_("road class"), max_length=50, blank=True)
    surface = models.CharField(_("surface"), max_length=50, blank=True)
    speed_kmh = models.FloatField(_("speed (km/h)"))
    label_kk = models.CharField(_("label (Kazakh)"), max_length=200)
    label_ru = models.CharField(_("label (Russian)"), max_length=200)
    label_en = models.CharField(_("label (English)"), max_length=200)
    reasoning = models.TextField(_("why this speed"), blank=True)

    class Meta:
        ordering = ["kind", "road_class", "surface"]
        verbose_name = _("road speed")
        verbose_name_plural = _("road speeds")
        constraints = [
            models.CheckConstraint(condition=Q(speed_kmh__gt=0, speed_kmh__lte=200), name="roadspeed_speed_range"),
            models.CheckConstraint(
                condition=Q(kind="off_network", road_class="", surface="")
                | (Q(kind="road") & (~Q(road_class="") | ~Q(surface=""))),
                name="roadspeed_kind_fields",
            ),
            models.UniqueConstraint(fields=["kind", "road_class", "surface"], name="roadspeed_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.label_en}: {self.speed_kmh:g} km/h"


class RoadBarrier(models.Model):
    """An area or line travel cannot cross off the roads (water, a border, a closed area), of one network.

    Barriers belong to a network because they are seasonal like it (a river is a barrier in summer, crossed on
    the ice in winter). A friction grid (accessibility.friction_grid) makes every cell a barrier touches
    impassable, then burns the network's roads over them: a road across a barrier is a bridge or a ferry.
    Exactly one of `area` (polygons) and `line` (lines) is set: two typed columns rather than one generic
    geometry, so that PostGIS itself refuses points or mixed collections and each column has its GiST index.
    Geometry EPSG:4326. The file it came from is kept on each row (several files, one kind each, per network).
    """

    network = models.ForeignKey(RoadNetwork, on_delete=models.CASCADE, related_name="barriers")
    kind = models.CharField(_("kind (e.g. water, border, closed area)"), max_length=50)
    area = models.MultiPolygonField(_("area"), srid=4326, null=True, blank=True)
    line = models.MultiLineStringField(_("line"), srid=4326, null=True, blank=True)
    feature_id = models.CharField(_("feature in the source file"), max_length=100, blank=True)
    source_file = models.CharField(_("source file name"), max_length=300)
    source_description = models.CharField(_("source (as the user describes it)"), max_length=500, blank=True)
    source_date = models.DateField(_("date of the source data"), null=True, blank=True)
    loaded_at = models.DateTimeField(_("loaded at"), auto_now_add=True)

    class Meta:
        ordering = ["network", "kind", "id"]
        verbose_name = _("road barrier")
        verbose_name_plural = _("road barriers")
        indexes = [models.Index(fields=["network", "kind"], name="roadbarrier_network_kind")]
        constraints = [
            models.CheckConstraint(
                condition=Q(area__isnull=False, line__isnull=True) | Q(area__isnull=True, line__isnull=False),
                name="roadbarrier_area_or_line",
            ),
            models.CheckConstraint(condition=~Q(kind=""), name="roadbarrier_kind_given"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk}"
