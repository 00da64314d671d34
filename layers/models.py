"""Administrative units of Kazakhstan: the 20 regions of the order and their districts.

All geometry is stored in EPSG:4326 (WGS 84, degrees); areas and distances are
measured after transforming to a metric CRS (see selectors).
"""

from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gis_portal.geo.geojson import stored_geojson
from gis_portal.i18n import LocalizedNameMixin

KATO_REGEX = r"^[0-9]{9}$"


class Region(LocalizedNameMixin, models.Model):
    """An oblast or a city of republican significance, keyed by its 9-digit KATO code."""

    class Kind(models.TextChoices):
        OBLAST = "oblast", _("Region (oblast)")
        CITY = "city", _("City of republican significance")

    kato = models.CharField(_("KATO code"), max_length=9, unique=True)
    iso_3166_2 = models.CharField(_("ISO 3166-2 code"), max_length=6, unique=True)
    kind = models.CharField(_("type"), max_length=8, choices=Kind.choices)
    name_kk = models.CharField(_("name (Kazakh)"), max_length=100)
    name_ru = models.CharField(_("name (Russian)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_in_order_kk = models.CharField(_("name as written in the order"), max_length=150)
    geom = models.MultiPolygonField(_("boundary"), srid=4326, null=True, blank=True)
    # The geometry as the API serves it by default, written by PostgreSQL on every write (see gis_portal.geo.geojson).
    geom_geojson = models.GeneratedField(
        expression=stored_geojson("geom", multi=True), output_field=models.TextField(), db_persist=True
    )
    centre = models.PointField(_("administrative centre"), srid=4326, null=True, blank=True)
    centre_name_kk = models.CharField(max_length=100, blank=True)
    centre_name_ru = models.CharField(max_length=100, blank=True)
    centre_name_en = models.CharField(max_length=100, blank=True)
    boundary_source = models.CharField(_("boundary source and licence"), max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kato"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        constraints = [
            models.CheckConstraint(condition=Q(kato__regex=KATO_REGEX), name="region_kato_9_digits"),
            models.CheckConstraint(
                condition=Q(iso_3166_2__regex=r"^KZ-[A-Z0-9]{2,3}$"), name="region_iso_3166_2_format"
            ),
            models.CheckConstraint(condition=Q(kind__in=["oblast", "city"]), name="region_kind_valid"),
        ]

    @property
    def centre_name(self) -> str:
        return self.localized("centre_name")


class District(LocalizedNameMixin, models.Model):
    """A district (audan) or a city of regional significance inside a region."""

    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="districts")
    kato = models.CharField(_("KATO code"), max_length=9, unique=True)
    name_kk = models.CharField(_("name (Kazakh)"), max_length=100)
    name_ru = models.CharField(_("name (Russian)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    geom = models.MultiPolygonField(_("boundary"), srid=4326, null=True, blank=True)
    # The geometry as the API serves it by default, written by PostgreSQL on every write (see gis_portal.geo.geojson).
    geom_geojson = models.GeneratedField(
        expression=stored_geojson("geom", multi=True), output_field=models.TextField(), db_persist=True
    )
    boundary_source = models.CharField(_("boundary source and licence"), max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kato"]
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        constraints = [
            models.CheckConstraint(condition=Q(kato__regex=KATO_REGEX), name="district_kato_9_digits"),
        ]


class Settlement(models.Model):
    """A populated place (city, town, village…) with its population, for demo siting and analysis.

    `source`/`source_id` name where the place (its point and name) comes from: the bundled GeoNames or
    OpenStreetMap layers, or an imported settlement list. `population_kind` says what its figure is; an
    official list matched to a bundled place replaces that place's figure in place (`population_source`,
    `population_date` name the list), so a town is one row whatever its figures' origin. Which layers an
    analysis counts: layers.settlement_selectors.settlements_counted (GeoNames only without OSM places).
    """

    class PlaceClass(models.TextChoices):
        CITY = "city", _("city")
        TOWN = "town", _("town")
        VILLAGE = "village", _("village")
        HAMLET = "hamlet", _("hamlet")
        ISOLATED_DWELLING = "isolated_dwelling", _("isolated dwelling")

    class PopulationKind(models.TextChoices):
        OFFICIAL = "official", _("official figure")
        OSM_TAG = "osm_tag", _("OpenStreetMap population tag (not official)")
        GAZETTEER = "gazetteer", _("GeoNames figure (not official)")
        ESTIMATE = "estimate", _("estimate (not official)")
        UNKNOWN = "unknown", _("no figure")

    name = models.CharField(max_length=200)
    name_local = models.CharField(max_length=200, blank=True)
    name_kk = models.CharField(_("name (Kazakh)"), max_length=200, blank=True)
    name_ru = models.CharField(_("name (Russian)"), max_length=200, blank=True)
    place_class = models.CharField(_("place class"), max_length=20, choices=PlaceClass.choices, blank=True)
    population = models.PositiveIntegerField()
    child_population = models.PositiveIntegerField(null=True, blank=True)
    # Official age groups when the list gives them: {"0-5": 120, "6-17": 340, …} (label as in the file → persons).
    population_by_age = models.JSONField(_("population by age group"), default=dict, blank=True)
    population_kind = models.CharField(
        _("kind of population figure"), max_length=10, choices=PopulationKind.choices, default=PopulationKind.OFFICIAL
    )
    population_source = models.CharField(_("source of the population figure"), max_length=300, blank=True)
    population_date = models.DateField(_("date of the population figure"), null=True, blank=True)
    location = models.PointField(srid=4326)
    kato = models.CharField(max_length=9, blank=True)
    region = models.ForeignKey(Region, on_delete=models.SET_NULL, null=True, blank=True, related_name="settlements")
    district = models.ForeignKey(District, on_delete=models.SET_NULL, null=True, blank=True, related_name="settlements")
    source = models.CharField(max_length=300)
    source_id = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-population", "name"]
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="settlement_unique_source_id"),
            models.CheckConstraint(
                condition=Q(place_class__in=["", "city", "town", "village", "hamlet", "isolated_dwelling"]),
                name="settlement_place_class_valid",
            ),
            models.CheckConstraint(
                condition=Q(population_kind__in=["official", "osm_tag", "gazetteer", "estimate", "unknown"]),
                name="settlement_population_kind_valid",
            ),
            # A place without a figure counts nobody until it is estimated.
            models.CheckConstraint(
                condition=~Q(population_kind="unknown") | Q(population=0), name="settlement_unknown_has_no_population"
            ),
            models.CheckConstraint(
                condition=Q(child_population__isnull=True) | Q(child_population__lte=models.F("population")),
                name="settlement_children_within_population",
            ),
        ]
        indexes = [models.Index(fields=["kato"], name="settlement_kato_idx")]

    def __str__(self) -> str:
        return self.name


class PopulationFigure(models.Model):
    """An official (or explicitly estimated) population figure of a region or district for a year.

    Every row names its source; `is_official` is False for estimates derived by
    the portal (e.g. an age band scaled from another year), which pages must label.
    The named indicators have fixed ages (INDICATOR_AGES); any other age band is stored as
    indicator "age_band" with its ages `age_from`–`age_to` (years, both inclusive). A district's
    figure also names the date of its source document (`source_issued`).
    """

    class Indicator(models.TextChoices):
        TOTAL = "total", _("total population")
        CHILDREN_0_15 = "children_0_15", _("children aged 0–15")
        CHILDREN_0_17 = "children_0_17", _("children aged 0–17")
        SCHOOL_AGE_6_17 = "school_age_6_17", _("school-age children (6–17)")

    # Not one of the Indicator choices: analyses and forms offer the named indicators only.
    AGE_BAND = "age_band"

    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="population_figures")
    district = models.ForeignKey(
        District, on_delete=models.CASCADE, null=True, blank=True, related_name="population_figures"
    )
    year = models.PositiveSmallIntegerField()
    indicator = models.CharField(
        max_length=20, choices=[*Indicator.choices, (AGE_BAND, _("population of an age band (ages given)"))]
    )
    age_from = models.PositiveSmallIntegerField(_("from age"), null=True, blank=True)
    age_to = models.PositiveSmallIntegerField(_("to age (inclusive)"), null=True, blank=True)
    value = models.PositiveIntegerField()
    is_official = models.BooleanField(default=True)
    source = models.CharField(max_length=300)
    source_date = models.DateField(null=True, blank=True, help_text=_("date the figure refers to"))
    source_issued = models.DateField(
        _("date of the source"), null=True, blank=True, help_text=_("date the source document was issued")
    )
    note = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["region__kato", "year", "indicator"]
        verbose_name = _("population figure")
        verbose_name_plural = _("population figures")
        constraints = [
            # NULL ages (the named indicators) compare equal, so a figure is one row per key.
            models.UniqueConstraint(
                fields=["region", "year", "indicator", "age_from", "age_to"],
                condition=models.Q(district__isnull=True),
                nulls_distinct=False,
                name="population_unique_region_year_indicator",
            ),
            models.UniqueConstraint(
                fields=["district", "year", "indicator", "age_from", "age_to"],
                condition=models.Q(district__isnull=False),
                nulls_distinct=False,
                name="population_unique_district_year_indicator",
            ),
            models.CheckConstraint(condition=models.Q(year__gte=1990, year__lte=2100), name="population_year_range"),
            models.CheckConstraint(
                condition=models.Q(
                    indicator__in=["total", "children_0_15", "children_0_17", "school_age_6_17", "age_band"]
                ),
                name="population_indicator_valid",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(
                        indicator="age_band",
                        age_from__isnull=False,
                        age_to__isnull=False,
                        age_from__lte=models.F("age_to"),
                        age_to__lte=120,
                    )
                    | (~models.Q(indicator="age_band") & models.Q(age_from__isnull=True, age_to__isnull=True))
                ),
                name="population_age_band_ages",
            ),
            models.CheckConstraint(condition=~models.Q(source__regex=r"^\s*$"), name="population_source_required"),
            models.CheckConstraint(
                condition=models.Q(district__isnull=True) | models.Q(source_issued__isnull=False),
                name="population_district_source_dated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region} {self.year} {self.indicator}: {self.value}"


# Ages (inclusive) of the named child indicators; an age band with these ages is stored as the indicator.
INDICATOR_AGES: dict[str, tuple[int, int]] = {
    PopulationFigure.Indicator.CHILDREN_0_15: (0, 15),
    PopulationFigure.Indicator.CHILDREN_0_17: (0, 17),
    PopulationFigure.Indicator.SCHOOL_AGE_6_17: (6, 17),
}


class BaseLayer(LocalizedNameMixin, models.Model):
    """A tile service an administrator trusts as a map background or overlay (imagery, cadastral map).

    Tiles are requested by the user's browser in Web Mercator (EPSG:3857, Leaflet's and OpenLayers'
    default): a WMS must serve EPSG:3857 and a WMTS its GoogleMapsCompatible tile matrix set. Written
    only through layers.services.base_layer_save / base_layer_delete, which validate the URL and
    refresh the cached list of layers and their hosts (the maps' Content-Security-Policy).
    """

    class Kind(models.TextChoices):
        XYZ = "xyz", _("XYZ tiles")
        WMS = "wms", _("WMS")
        WMTS = "wmts", _("WMTS (REST or KVP URL template)")

    class Offer(models.TextChoices):
        EDITORS = "editors", _("parcel and facility editors only")
        ALL_MAPS = "all_maps", _("every map")

    name_kk = models.CharField(_("name (Kazakh)"), max_length=100)
    name_ru = models.CharField(_("name (Russian)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    kind = models.CharField(_("service type"), max_length=8, choices=Kind.choices)
    url = models.CharField(
        _("URL"),
        max_length=500,
        help_text=_(
            "https only, no user name or password. XYZ: a template with {z}, {x} and {y}, e.g. "
            "https://imagery.example.kz/tiles/{z}/{x}/{y}.jpg?key=… (a licensed satellite imagery service; "
            "the key is visible to the map's users). WMTS: a REST or KVP template with {z}/{x}/{y} or "
            "{TileMatrix}/{TileRow}/{TileCol} of the GoogleMapsCompatible matrix set. WMS: the service's base "
            "URL without SERVICE/REQUEST/LAYERS parameters, e.g. the national cadastral map's "
            "https://wms.example.kz/geoserver/cadastre/wms."
        ),
    )
    wms_layers = models.CharField(
        _("WMS layers"),
        max_length=300,
        blank=True,
        help_text=_("WMS only: comma-separated layer names, e.g. cadastre:parcels."),
    )
    wms_format = models.CharField(
        _("WMS image format"),
        max_length=30,
        choices=[("image/png", "PNG"), ("image/jpeg", "JPEG")],
        default="image/png",
    )
    wms_transparent = models.BooleanField(_("WMS transparent"), default=True)
    wms_version = models.CharField(
        _("WMS version"), max_length=5, choices=[("1.1.1", "1.1.1"), ("1.3.0", "1.3.0")], default="1.1.1"
    )
    attribution = models.CharField(
        _("attribution"),
        max_length=300,
        help_text=_("The licence holder's text shown on the map (plain text), e.g. © Kazakhstan land cadastre, 2025."),
    )
    min_zoom = models.PositiveSmallIntegerField(_("minimum zoom"), default=0)
    max_zoom = models.PositiveSmallIntegerField(_("maximum zoom"), default=19)
    is_overlay = models.BooleanField(
        _("overlay"),
        default=False,
        help_text=_("An overlay is drawn over the chosen background (e.g. cadastral boundaries over imagery)."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0, help_text=_("Lower numbers come first."))
    offered_on = models.CharField(_("offered on"), max_length=8, choices=Offer.choices, default=Offer.EDITORS)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("base layer")
        verbose_name_plural = _("base layers")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["xyz", "wms", "wmts"]), name="base_layer_kind_valid"),
            models.CheckConstraint(condition=Q(offered_on__in=["editors", "all_maps"]), name="base_layer_offer_valid"),
            models.CheckConstraint(condition=Q(url__regex=r"^https?://[^\s]+$"), name="base_layer_url_http"),
            models.CheckConstraint(condition=~Q(attribution__regex=r"^\s*$"), name="base_layer_attribution_required"),
            models.CheckConstraint(condition=~Q(kind="wms") | ~Q(wms_layers=""), name="base_layer_wms_has_layers"),
            models.CheckConstraint(
                condition=Q(min_zoom__lte=models.F("max_zoom"), max_zoom__lte=24), name="base_layer_zoom_range"
            ),
        ]
