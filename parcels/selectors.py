"""Reads of parcels and infrastructure links (all spatial maths in PostGIS).

CRS: geometries are EPSG:4326 (UTM zones for areas and lengths: parcels.geometry);
the geometry checks of writes are in parcels.checks.

Stable names used by other apps (maps, construction tracking):
`parcel_infrastructure_readiness`, `facility_parcel_status`.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date

from django.contrib.gis.db.models.functions import AsWKT
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from accounts import layer_access
from accounts.permissions import Action, may_create_parcel, scope_queryset
from facilities.models import Facility, Measure
from gis_portal.geo.collections import collection_get
from gis_portal.geo.features import ALL_ROWS, collection_feature_collection
from gis_portal.geo.geojson import feature_page
from layers.models import Region
from parcels.crs import LocalCrs, LocalCrsOptions
from parcels.export import CSV_GEOMETRY_COLUMN, EXPORT_COLUMNS, geojson_convert
from parcels.io import FileRejected
from parcels.models import (
    IMPORT_CHOICE_FIELDS,
    ImportColumnChoice,
    LinkStatus,
    LocalCoordinateSystem,
    Parcel,
    ParcelStatus,
)
from parcels.services.imports import ImportOutcome

LAND_MEASURE = 5


# ---------------------------------------------------------------------------
# Stable selectors for other apps
# ---------------------------------------------------------------------------


def parcel_infrastructure_readiness(*, parcel_ids: list[int] | None = None) -> dict[int, bool]:
    """{parcel id: ready?} — ready when the parcel has at least one link recorded and every required link is connected.

    A parcel with no links recorded is not ready: nobody has assessed its needs yet.
    One query.
    """
    qs = Parcel.objects.all()
    if parcel_ids is not None:
        qs = qs.filter(pk__in=parcel_ids)
    rows = qs.annotate(
        n_links=Count("links"),
        n_open=Count("links", filter=Q(links__required=True) & ~Q(links__status=LinkStatus.CONNECTED)),
    ).values_list("pk", "n_links", "n_open")
    return {pk: n_links > 0 and n_open == 0 for pk, n_links, n_open in rows}


def facility_parcel_status(*, facility_ids: list[int] | None = None) -> dict[int, str | None]:
    """{facility id: status of its current (non-revoked) parcel, or None when it has none}. One query."""
    qs = Facility.objects.all()
    if facility_ids is not None:
        qs = qs.filter(pk__in=facility_ids)
    result: dict[int, str | None] = dict.fromkeys(qs.values_list("pk", flat=True))
    parcels = Parcel.objects.exclude(status=ParcelStatus.REVOKED).filter(facility_id__in=list(result))
    for facility_id, status in parcels.values_list("facility_id", "status"):
        result[facility_id] = status
    return result


def layer_geojson(*, layer: str, queryset: QuerySet, user) -> str:
    """The rows of `queryset` that `user` may read, as GeoJSON of the layer `layer` ("parcels" or
    "infrastructure-links", parcels/collections.py): the properties of the API, tiles and maps (EPSG:4326)."""
    collection = collection_get(layer)
    rows = queryset & layer_access.collection_queryset(collection, user=user)
    return collection_feature_collection(collection, rows.filter(**{f"{collection.geometry}__isnull": False}))


# ---------------------------------------------------------------------------
# Local coordinate systems of the import
# ---------------------------------------------------------------------------


def local_crs_offered(*, user) -> QuerySet[LocalCoordinateSystem]:
    """The active local systems `user` may import in: national ones (no region) and those of the regions
    `user` may edit (an akimat: its own; an administrator: all). Nobody else imports."""
    if not may_create_parcel(user):
        return LocalCoordinateSystem.objects.none()
    active = LocalCoordinateSystem.objects.filter(is_active=True)
    return (active.filter(region__isnull=True) | scope_queryset(user, active, action=Action.EDIT)).order_by("name")


def local_crs_options(*, user, chosen: LocalCoordinateSystem | None) -> LocalCrsOptions:
    """The stored definitions handed to parcels.io: the chosen system and every one a .prj may match.

    Raises FileRejected when the chosen system is no longer offered (deactivated since the upload).
    """
    registered = tuple(
        LocalCrs(pk=pk, name=name, definition=definition)
        for pk, name, definition in local_crs_offered(user=user).values_list("pk", "name", "definition")
    )
    picked = None
    if chosen is not None:
        picked = next((r for r in registered if r.pk == chosen.pk), None)
        if picked is None:
            raise FileRejected(
                _("The local coordinate system “%(n)s” is no longer offered; choose the coordinate system again.")
                % {"n": chosen.name}
            )
    return LocalCrsOptions(chosen=picked, registered=registered)


# ---------------------------------------------------------------------------
# Lists scoped by role
# ---------------------------------------------------------------------------


def parcel_list(*, user, filters: dict | None = None, action: Action = Action.VIEW) -> QuerySet:
    """Parcels `user` may see (or edit), filtered by region KATO, status, facility, text."""
    filters = filters or {}
    qs = scope_queryset(user, Parcel.objects.all(), action=action).select_related("facility", "region", "district")
    if filters.get("region"):
        qs = qs.filter(region__kato=filters["region"])
    if filters.get("status"):
        qs = qs.filter(status=filters["status"])
    if filters.get("facility"):
        qs = qs.filter(facility_id=filters["facility"])
    if filters.get("q"):
        text = filters["q"]
        qs = qs.filter(Q(cadastral_number__icontains=text) | Q(act_number__icontains=text) | Q(notes__icontains=text))
    if filters.get("active"):
        qs = qs.exclude(status=ParcelStatus.REVOKED)
    return qs


# ---------------------------------------------------------------------------
# Measure 5 compliance
# ---------------------------------------------------------------------------


@dataclass
class ComplianceRow:
    region: Region
    planned: int
    with_act: int
    missing: list[Facility]


def measure5_compliance(*, user, today: date | None = None) -> tuple[Measure, bool, list[ComplianceRow]]:
    """Planned facilities still lacking a parcel with an issued act, per region, vs measure 5's deadline.

    Returns (measure, deadline passed?, rows for the regions the user may see). Two queries.
    """
    measure = Measure.objects.get(number=LAND_MEASURE)
    today = today or date.today()
    has_act = Parcel.objects.filter(facility=OuterRef("pk"), status=ParcelStatus.ACT_ISSUED)
    facilities = (
        scope_queryset(user, Facility.objects.all())
        .select_related("region", "kind", "district")
        .annotate(has_act=Exists(has_act))
        .order_by("region__kato", "measure_id", "id")
    )
    rows: dict[int, ComplianceRow] = {}
    for facility in facilities:
        row = rows.setdefault(facility.region_id, ComplianceRow(facility.region, 0, 0, []))
        row.planned += 1
        if facility.has_act:
            row.with_act += 1
        else:
            row.missing.append(facility)
    return measure, today > measure.deadline_end, list(rows.values())


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------


def parcel_export(*, queryset: QuerySet, fmt: str) -> tuple[bytes, str, str]:
    """(content, media type, file name) of the parcels in `queryset` (already scoped and filtered), EPSG:4326.

    Every format has the columns of parcels.export.EXPORT_COLUMNS, in their order, one
    feature or row per parcel by id. GeoJSON is built in PostGIS; GeoPackage and zipped
    Shapefile are converted from it by ogr2ogr; CSV adds the boundary as WKT (column `wkt`).
    """
    queryset = queryset.order_by("pk")
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([*EXPORT_COLUMNS, CSV_GEOMETRY_COLUMN])
        rows = queryset.annotate(_wkt=AsWKT("geom", precision=7)).values_list(*EXPORT_COLUMNS.values(), "_wkt")
        for row in rows:
            writer.writerow(row)
        return buffer.getvalue().encode("utf-8"), "text/csv; charset=utf-8", "parcels.csv"
    page = feature_page(
        queryset,
        geometry="geom",
        properties=EXPORT_COLUMNS,
        limit=ALL_ROWS,
        check_more=False,
        precision=7,
        multi=True,
    )
    text = '{"type": "FeatureCollection", "features": ' + page.features.decode() + "}"
    if fmt == "geojson":
        return text.encode("utf-8"), "application/geo+json", "parcels.geojson"
    if fmt == "gpkg":
        return geojson_convert(geojson_text=text, driver="GPKG"), "application/geopackage+sqlite3", "parcels.gpkg"
    if fmt == "shp":
        return geojson_convert(geojson_text=text, driver="ESRI Shapefile"), "application/zip", "parcels_shp.zip"
    raise ValueError(fmt)


# ---------------------------------------------------------------------------
# Import preview
# ---------------------------------------------------------------------------


def import_preview_feature_collection(*, outcome: ImportOutcome) -> dict:
    """GeoJSON FeatureCollection (EPSG:4326) of the readable features of an import, for the preview map.

    Each feature carries its number in the file (`n`) and whether it is ready to save (`ok`: no
    problem, no choice left). A repaired row shows its repaired boundary.
    """
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": json.loads(row.geom.json),
                "properties": {"n": row.number, "ok": not row.problems and row.action != "choose"},
            }
            for row in outcome.rows
            if row.geom is not None and row.action != "skip"
        ],
    }


def import_preview_repaired_collection(*, outcome: ImportOutcome) -> dict:
    """GeoJSON FeatureCollection (EPSG:4326) of the file's boundaries that Repair replaced, as they were drawn."""
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": json.loads(row.original_geom.json), "properties": {"n": row.number}}
            for row in outcome.rows
            if row.original_geom is not None and row.action != "skip"
        ],
    }


def import_column_choices(*, user) -> dict[str, str]:
    """{normalised column name: field} the user chose in earlier import previews ("" = not used)."""
    if not getattr(user, "pk", None):
        return {}  # the system actor of management commands has made no choices
    return dict(ImportColumnChoice.objects.filter(user=user).values_list("column", "field"))


def import_field_labels() -> dict[str, str]:
    """{field: label} of every field a column of an imported file can feed, in the import's order."""
    return {
        f: _("facility (its id or reference number in the file)")
        if f == "facility_ref"
        else str(Parcel._meta.get_field(f).verbose_name)
        for f in IMPORT_CHOICE_FIELDS
    }
