"""Land parcels allocated for the roadmap's facilities (measure 5) and the utilities brought to them (measure 6).

Geometry is stored in EPSG:4326 (WGS 84, degrees, x = longitude). Areas and
lengths are measured in the UTM zone (WGS 84 / UTM 39N–45N, EPSG:32639–32645)
that contains the geometry's centroid, clamped to the zones over Kazakhstan
(see parcels.geometry.utm_srid_sql); they are stored in hectares / metres.

Every change of parcels, infrastructure links and documents is recorded by
django-pghistory database triggers, so QuerySet.update() and bulk writes are
seen too. Concurrent edits are detected through the `version` integer (see
parcels.services.parcel_update).
"""

from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.core.files.storage import Storage, default_storage
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from facilities.models import Facility
from gis_portal.geo.geojson import StoredProperties, stored_geojson
from gis_portal.i18n import LocalizedNameMixin
from layers.models import District, Region

# Kazakh cadastral number: region (2 digits) - district (3) - cadastral quarter (3) - parcel (3 or 4),
# e.g. 21-320-101-1234 (Land Code of the RK, art. 152; format of the Unified State Real Estate Cadastre).
CADASTRAL_REGEX = r"^[0-9]{2}-[0-9]{3}-[0-9]{3}-[0-9]{3,4}$"

# The properties of the parcels and links layers (parcels.collections) that are the row's own
# columns, kept as JSON text by PostgreSQL on every write (StoredProperties): a page of the
# layer reads them as one text. A parcel keeps its region's and district's KATO codes in columns
# of its own (Parcel.region_kato, district_kato); the links layer adds its region's code at read.
PARCEL_STORED_PROPERTIES = StoredProperties(
    column="properties_json",
    members={
        "facility": "facility_id",
        "cadastral_number": "cadastral_number",
        "status": "status",
        "declared_area_ha": "declared_area_ha",
        "computed_area_ha": "computed_area_ha",
        "land_category": "land_category",
        "right_type": "right_type",
        "act_number": "act_number",
        "act_date": "act_date",
        "is_demo": "is_demo",
        "version": "version",
        "updated_at": "updated_at",
        "region": "region_kato",
        "district": "district_kato",
    },
)
LINK_STORED_PROPERTIES = StoredProperties(
    column="properties_json",
    members={
        "parcel": "parcel_id",
        "utility": "utility_id",
        "required": "required",
        "status": "status",
        "route_length_m": "route_length_m",
        "planned_connection_date": "planned_connection_date",
        "actual_connection_date": "actual_connection_date",
        "is_demo": "is_demo",
        "version": "version",
        "updated_at": "updated_at",
    },
)

# The attributes of a parcel that its writers (forms, API, imports) set; the rest is derived.
PARCEL_FIELDS = [
    "cadastral_number",
    "declared_area_ha",
    "land_category",
    "right_type",
    "act_number",
    "act_date",
    "issuing_akimat",
    "term_years",
    "status",
    "notes",
]
# What a column of an imported file can feed (parcels.import_columns): the parcel fields and
# "facility_ref", the file's reference to a facility.
IMPORT_CHOICE_FIELDS = (*PARCEL_FIELDS, "facility_ref")


def document_storage() -> Storage:
    # Scans go to the configured default storage (MEDIA_ROOT/parcel_documents, or the S3-compatible
    # store of a multi-node deployment), outside the static web root (no URL serves MEDIA_ROOT);
    # parcels.views.document_download serves them after a permission check.
    return default_storage


class ParcelStatus(models.TextChoices):
    CANDIDATE = "candidate", _("candidate")
    ALLOCATED = "allocated", _("allocated")
    ACT_ISSUED = "act_issued", _("act issued")
    REVOKED = "revoked", _("revoked / replaced")


class LandCategory(models.TextChoices):
    SETTLEMENT = "settlement", _("lands of settlements")
    INDUSTRY = "industry", _("lands of industry, transport and other non-agricultural purposes")
    AGRICULTURAL = "agricultural", _("agricultural lands")
    PROTECTED = "protected", _("specially protected natural areas, health and recreation lands")
    FOREST = "forest", _("forest fund lands")
    WATER = "water", _("water fund lands")
    RESERVE = "reserve", _("reserve lands")


class LandRight(models.TextChoices):
    TEMPORARY_PAID = "temporary_paid", _("temporary paid land use")
    TEMPORARY_FREE = "temporary_free", _("temporary free land use")
    OTHER = "other", _("other")


# The generated GeoJSON column is derived from the geometry: history keeps the geometry, not its
# copy. The update condition stays the whole-row comparison: a per-column list (pghistory's default
# once a field is excluded) compares geometries with `=`, which pg_restore cannot resolve (its
# search_path is empty: "operator is not unique: public.geometry = public.geometry").
ROW_CHANGED = pgtrigger.Condition("OLD.* IS DISTINCT FROM NEW.*")

# Parcel.region_kato and district_kato from the parcel's region and district, before every write.
PARCEL_KATO_CODES = """
    NEW.region_kato := (SELECT kato FROM layers_region WHERE id = NEW.region_id);
    NEW.district_kato := (SELECT kato FROM layers_district WHERE id = NEW.district_id);
    RETURN NEW;
"""


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(condition=ROW_CHANGED),
    pghistory.DeleteEvent(),
    exclude=["geom_geojson", "properties_json", "region_kato", "district_kato"],
)
class Parcel(models.Model):
    """A land parcel allocated (or proposed) for one facility.

    `region`/`district` are derived from the geometry by parcels.services; they
    are stored for scoping and must match the facility's region.
    """

    # SET_NULL, not CASCADE: a land act outlives a facility struck from the plan (and the demo
    # facilities can be reloaded); such a parcel keeps its region and history.
    facility = models.ForeignKey(Facility, on_delete=models.SET_NULL, null=True, related_name="parcels")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="parcels")
    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="parcels", null=True, blank=True)
    # The KATO codes of `region` and `district`, written by PostgreSQL: trigger parcel_kato_codes on every
    # insert and update, and a region's or district's changed code is carried to its parcels (migration
    # 0012). Stored, a page of the layer reads them with the other stored properties: joining the two
    # tables for every row cost 0.2–0.4 ms of a 438-parcel page (issue 21). What the ORM writes here is
    # replaced; after a write, refresh_from_db() reads them.
    region_kato = models.CharField(max_length=9, editable=False, default="")
    district_kato = models.CharField(max_length=9, editable=False, null=True, blank=True)
    cadastral_number = models.CharField(_("cadastral number"), max_length=20, blank=True)
    geom = models.MultiPolygonField(_("boundary"), srid=4326)
    # The geometry as the API serves it by default, written by PostgreSQL on every write (see gis_portal.geo.geojson).
    geom_geojson = models.GeneratedField(
        expression=stored_geojson("geom", multi=True), output_field=models.TextField(), db_persist=True
    )
    declared_area_ha = models.DecimalField(_("declared area, ha"), max_digits=10, decimal_places=4)
    computed_area_ha = models.DecimalField(
        _("area computed from the boundary, ha"), max_digits=12, decimal_places=4, editable=False
    )
    area_srid = models.PositiveIntegerField(_("metric CRS of the computed area (EPSG)"), editable=False)
    land_category = models.CharField(_("land category"), max_length=20, choices=LandCategory.choices)
    right_type = models.CharField(_("right granted"), max_length=20, choices=LandRight.choices)
    act_number = models.CharField(_("act number"), max_length=60, blank=True)
    act_date = models.DateField(_("act date"), null=True, blank=True)
    issuing_akimat = models.CharField(_("issuing akimat"), max_length=300, blank=True)
    term_years = models.PositiveSmallIntegerField(_("term, years"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=ParcelStatus.choices, default="candidate")
    replaced_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaces", verbose_name=_("replaced by")
    )
    notes = models.TextField(_("notes"), blank=True)
    is_demo = models.BooleanField(
        _("demo data"), default=False, help_text=_("Invented for demonstration, not an official record.")
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The layer's own-column properties as JSON text (PARCEL_STORED_PROPERTIES), written by PostgreSQL.
    properties_json = models.GeneratedField(
        expression=PARCEL_STORED_PROPERTIES.expression(), output_field=models.TextField(), db_persist=True
    )

    class Meta:
        ordering = ["region_kato", "facility_id", "id"]  # the stored code: the same order, no join
        verbose_name = _("land parcel")
        verbose_name_plural = _("land parcels")
        triggers = [
            pgtrigger.Trigger(
                name="parcel_kato_codes",
                operation=pgtrigger.Insert | pgtrigger.Update,
                when=pgtrigger.Before,
                func=PARCEL_KATO_CODES,
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(cadastral_number="") | Q(cadastral_number__regex=CADASTRAL_REGEX),
                name="parcel_cadastral_format",
            ),
            models.UniqueConstraint(
                fields=["cadastral_number"],
                condition=~Q(status="revoked") & ~Q(cadastral_number=""),
                name="parcel_cadastral_unique_active",
            ),
            # One current parcel per facility; revoked/replaced ones stay as its history.
            models.UniqueConstraint(
                fields=["facility"], condition=~Q(status="revoked"), name="parcel_one_active_per_facility"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["candidate", "allocated", "act_issued", "revoked"]), name="parcel_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(land_category__in=[c for c, _ in LandCategory.choices]), name="parcel_land_category_valid"
            ),
            models.CheckConstraint(
                condition=Q(right_type__in=[c for c, _ in LandRight.choices]), name="parcel_right_type_valid"
            ),
            # "Act issued" means the act exists: a number, a date and a cadastral number.
            models.CheckConstraint(
                condition=~Q(status="act_issued")
                | (~Q(act_number="") & Q(act_date__isnull=False) & ~Q(cadastral_number="")),
                name="parcel_act_issued_has_act",
            ),
            models.CheckConstraint(condition=Q(declared_area_ha__gt=0), name="parcel_declared_area_positive"),
            models.CheckConstraint(
                condition=Q(term_years__isnull=True) | Q(term_years__gte=1, term_years__lte=99),
                name="parcel_term_years_range",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="parcel_version_positive"),
        ]
        indexes = [
            models.Index(fields=["region", "status"]),
            # Last-Modified (max) and numberMatched of the API: an index-only scan instead of reading
            # every wide row (geometry, stored GeoJSON) when a collection is counted unfiltered.
            models.Index(fields=["updated_at"], name="parcel_updated_at_idx"),
        ]

    def __str__(self) -> str:
        return self.cadastral_number or f"#{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status != ParcelStatus.REVOKED


class Utility(LocalizedNameMixin, models.Model):
    """A kind of engineering network (water, sewerage, …).

    A table rather than TextChoices so an administrator can add a network (for
    example district cooling) without a code change; each row lists the
    capacity units that fit it.
    """

    code = models.CharField(max_length=30, primary_key=True)
    name_kk = models.CharField(max_length=100)
    name_ru = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100)
    capacity_units = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("utility network")
        verbose_name_plural = _("utility networks")


class LinkStatus(models.TextChoices):
    NOT_REQUIRED = "not_required", _("not required")
    PLANNED = "planned", _("planned")
    DESIGN = "design", _("design")
    UNDER_CONSTRUCTION = "under_construction", _("under construction")
    CONNECTED = "connected", _("connected")


@pghistory.track(
    pghistory.InsertEvent(),
    pghistory.UpdateEvent(condition=ROW_CHANGED),
    pghistory.DeleteEvent(),
    exclude=["route_geojson", "properties_json"],
)
class InfrastructureLink(models.Model):
    """How one utility reaches one parcel. The route runs from the network's connection point to the parcel."""

    parcel = models.ForeignKey(Parcel, on_delete=models.CASCADE, related_name="links")
    utility = models.ForeignKey(Utility, on_delete=models.PROTECT, related_name="links")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="infrastructure_links")
    required = models.BooleanField(_("required"), default=True)
    status = models.CharField(_("status"), max_length=20, choices=LinkStatus.choices, default="planned")
    route = models.LineStringField(_("route"), srid=4326, null=True, blank=True)
    # The geometry as the API serves it by default, written by PostgreSQL on every write (see gis_portal.geo.geojson).
    route_geojson = models.GeneratedField(
        expression=stored_geojson("route"), output_field=models.TextField(), db_persist=True
    )
    route_length_m = models.DecimalField(
        _("route length, m"), max_digits=10, decimal_places=1, null=True, blank=True, editable=False
    )
    capacity = models.DecimalField(_("required capacity"), max_digits=12, decimal_places=3, null=True, blank=True)
    capacity_unit = models.CharField(_("capacity unit"), max_length=20, blank=True)
    provider = models.CharField(_("provider organisation"), max_length=300, blank=True)
    balance_act_number = models.CharField(_("balance-delimitation act number"), max_length=60, blank=True)
    balance_act_date = models.DateField(_("balance-delimitation act date"), null=True, blank=True)
    planned_connection_date = models.DateField(_("planned connection date"), null=True, blank=True)
    actual_connection_date = models.DateField(_("actual connection date"), null=True, blank=True)
    cost_kzt = models.DecimalField(_("cost, KZT"), max_digits=16, decimal_places=2, null=True, blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    # The layer's own-column properties as JSON text (LINK_STORED_PROPERTIES), written by PostgreSQL.
    properties_json = models.GeneratedField(
        expression=LINK_STORED_PROPERTIES.expression(), output_field=models.TextField(), db_persist=True
    )

    class Meta:
        ordering = ["parcel_id", "utility__sort_order"]
        # See Parcel.Meta: the API's count and Last-Modified read this index alone.
        indexes = [models.Index(fields=["updated_at"], name="link_updated_at_idx")]
        verbose_name = _("infrastructure link")
        verbose_name_plural = _("infrastructure links")
        constraints = [
            models.UniqueConstraint(fields=["parcel", "utility"], name="link_one_per_utility_per_parcel"),
            models.CheckConstraint(
                condition=Q(status__in=[c for c, _ in LinkStatus.choices]), name="link_status_valid"
            ),
            # "Connected" requires the balance-delimitation act (number and date) and the connection date.
            models.CheckConstraint(
                condition=~Q(status="connected")
                | (
                    ~Q(balance_act_number="")
                    & Q(balance_act_date__isnull=False)
                    & Q(actual_connection_date__isnull=False)
                ),
                name="link_connected_has_act",
            ),
            # The act delimits what was physically connected: not before the connection.
            models.CheckConstraint(
                condition=Q(balance_act_date__isnull=True)
                | Q(actual_connection_date__isnull=True)
                | Q(balance_act_date__gte=F("actual_connection_date")),
                name="link_act_not_before_connection",
            ),
            models.CheckConstraint(
                condition=Q(capacity__isnull=True) | (Q(capacity__gt=0) & ~Q(capacity_unit="")),
                name="link_capacity_has_unit",
            ),
            models.CheckConstraint(
                condition=Q(cost_kzt__isnull=True) | Q(cost_kzt__gte=0), name="link_cost_not_negative"
            ),
            # "Not required" is both a flag and a status; they must agree.
            models.CheckConstraint(
                condition=(Q(required=True) & ~Q(status="not_required"))
                | (Q(required=False) & Q(status="not_required")),
                name="link_required_matches_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.parcel} — {self.utility}"


class DocumentKind(models.TextChoices):
    ACT = "act", _("land-use right act")
    DECISION = "decision", _("akimat decision")
    PLAN = "plan", _("parcel plan / scheme")
    BALANCE_ACT = "balance_act", _("balance-delimitation act")
    OTHER = "other", _("other")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ParcelDocument(models.Model):
    """A scan attached to a parcel: PDF, JPEG or PNG, type checked by its magic bytes."""

    parcel = models.ForeignKey(Parcel, on_delete=models.CASCADE, related_name="documents")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="parcel_documents")
    kind = models.CharField(_("kind"), max_length=12, choices=DocumentKind.choices, default="act")
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(storage=document_storage, upload_to="parcel_documents/%Y/%m/", max_length=200)
    content_type = models.CharField(max_length=40)
    size_bytes = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["parcel_id", "-uploaded_at"]
        verbose_name = _("parcel document")
        verbose_name_plural = _("parcel documents")
        constraints = [
            models.CheckConstraint(
                condition=Q(content_type__in=["application/pdf", "image/jpeg", "image/png"]),
                name="document_content_type_allowed",
            ),
        ]

    def __str__(self) -> str:
        return self.title


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(condition=ROW_CHANGED), pghistory.DeleteEvent())
class LocalCoordinateSystem(models.Model):
    """A local coordinate system (МСК) of a land office, registered once by an administrator as trusted.

    `definition` is a PROJ string or WKT checked by parcels.services.local_crs_save with pyproj (no
    file or network references; projected; the test point lands on the given longitude/latitude
    within `tolerance_m`). Imports transform with this stored definition, never with a file's text.
    A system without a region is national: offered to every region's land office.
    """

    name = models.CharField(_("name"), max_length=200, unique=True)
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="local_coordinate_systems",
        verbose_name=_("region"),
        help_text=_("Empty: offered to every region."),
    )
    definition = models.TextField(
        _("definition (PROJ string or WKT)"),
        help_text=_("For example +proj=tmerc +lat_0=0 +lon_0=… +k=1 +x_0=… +y_0=… +ellps=krass +towgs84=… +units=m"),
    )
    test_x = models.FloatField(_("test point x (easting), m"))
    test_y = models.FloatField(_("test point y (northing), m"))
    test_lon = models.FloatField(_("test point longitude, WGS 84"))
    test_lat = models.FloatField(_("test point latitude, WGS 84"))
    tolerance_m = models.FloatField(_("tolerance, m"), default=1.0)
    is_active = models.BooleanField(_("active"), default=True, help_text=_("Offered in the import's choice."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("local coordinate system")
        verbose_name_plural = _("local coordinate systems")
        constraints = [
            models.CheckConstraint(
                condition=Q(tolerance_m__gt=0) & Q(tolerance_m__lte=10), name="local_crs_tolerance_range"
            ),
            models.CheckConstraint(
                condition=Q(test_lon__gte=-180, test_lon__lte=180, test_lat__gte=-90, test_lat__lte=90),
                name="local_crs_test_lonlat_range",
            ),
            models.CheckConstraint(condition=~Q(definition=""), name="local_crs_definition_not_empty"),
        ]

    def __str__(self) -> str:
        return self.name


class ParcelImportUpload(models.Model):
    """A file uploaded for import, kept until the preview is confirmed or discarded.

    The file lives in the default storage, so the preview and the confirmation may be served by
    different nodes. Uploads older than PARCEL_IMPORT_PREVIEW_MAX_AGE_HOURS are removed by
    `manage.py cleanup_uploads` (run hourly by the scheduler), together with any file under
    parcel_imports/ that no live upload refers to.
    """

    token = models.CharField(max_length=32, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    filename = models.CharField(max_length=200)
    srid = models.PositiveIntegerField(null=True, blank=True)
    # PROTECT: a pending preview must not silently lose its coordinate system (and move its parcels);
    # an administrator retires a system by deactivating it, and uploads expire within hours.
    local_crs = models.ForeignKey(
        LocalCoordinateSystem, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    file = models.FileField(upload_to="parcel_imports/", max_length=200)
    size_bytes = models.PositiveBigIntegerField()
    # The user's choices in the preview, per row number of the file (parcels.uploads.import_choices_save):
    # {"rows": {"3": {"facility": 17}, "4": {"skip": true}, "5": {"repair": true}}}.
    choices = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("parcel import upload")
        verbose_name_plural = _("parcel import uploads")
        constraints = [
            models.CheckConstraint(condition=Q(token__regex=r"^[0-9a-f]{32}$"), name="import_token_hex"),
            # One chosen coordinate system: an EPSG code or a registered local system.
            models.CheckConstraint(
                condition=Q(srid__isnull=True) | Q(local_crs__isnull=True), name="import_one_crs_choice"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.token})"


class ImportColumnChoice(models.Model):
    """A user's choice, made in an import preview, of the field a column not recognised by name feeds.

    `column` is the name as parcels.import_columns.column_key normalises it, so the choice applies to the
    same column in the user's next files whatever its case or punctuation. `field` is a parcel field the
    import reads, "facility_ref" (the file's reference to a facility) or "" (the column is not used).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    column = models.CharField(_("column"), max_length=200)
    field = models.CharField(_("field"), max_length=30, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user_id", "column"]
        verbose_name = _("import column choice")
        verbose_name_plural = _("import column choices")
        constraints = [
            models.UniqueConstraint(fields=["user", "column"], name="import_column_choice_one_per_column"),
            models.CheckConstraint(condition=~Q(column=""), name="import_column_choice_column_named"),
            models.CheckConstraint(
                condition=Q(field__in=[*IMPORT_CHOICE_FIELDS, ""]), name="import_column_choice_field_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.column} → {self.field or '—'}"
