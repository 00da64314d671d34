"""Reads behind the map pages. Layers come from their one declaration (gis_portal.geo.collections):
the same property names and GeoJSON as the API (gis_portal.geo.features); statuses, stages and
KPIs from tracking's selectors, parcels and routes from the parcels layers.

Geometry is EPSG:4326; simplification tolerances are in metres (see feature_collection).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.contrib.gis.db.models import Extent
from django.db.models import F, QuerySet
from django.urls import reverse

from accounts import layer_access
from accounts.permissions import Action, can, scope_queryset, user_role
from facilities.collections import FACILITY_FINANCES_PUBLIC
from facilities.models import Facility, FacilityKind, FundingSource
from facilities.selectors import facility_list
from gis_portal.geo.collections import collection_get
from gis_portal.geo.features import collection_feature_collection
from gis_portal.geo.geojson import feature_collection
from layers.models import District, Region
from parcels.models import InfrastructureLink, Parcel, ParcelDocument
from tracking import selectors as tracking_selectors
from tracking.models import StageRecord

# The status of a facility that tracking does not follow (not in an approved consolidated plan).
PLANNED = "planned"
# Tolerances for the zoom each page opens at: the national map shows all of Kazakhstan
# (~2 km per pixel at zoom 5), a region map one region (~200 m per pixel at zoom 8).
NATIONAL_SIMPLIFY_M = 2000
REGION_SIMPLIFY_M = 150

KIND_COLORS = {
    "year_round_health_centre": "#0b3954",
    "health_centre": "#087e8b",
    "art_school": "#c81d25",
    "music_school": "#8e44ad",
    "palace_of_schoolchildren": "#ff5a5f",
    "childrens_technopark": "#3d5a80",
    "young_technicians_station": "#6b4226",
    "innovative_creative_centre": "#e07a5f",
}
# Choropleth classes per metric (upper bounds, in % or percentage points), shared by the map and its legend.
METRIC_BREAKS = {
    "progress": [10, 25, 50, 75],
    "recreation_coverage": [0.1, 0.25, 0.5, 1],
    "additional_education_coverage": [0.1, 0.25, 0.5, 1],
}
CHOROPLETH_COLORS = ["#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d"]
NO_DATA_COLOR = "#e0e0e0"


def status_labels() -> dict[str, str]:
    """Status code -> label, in tracking's words."""
    return {str(code): str(label) for code, label in tracking_selectors.STATUS_LABELS.items()}


def status_colors() -> dict[str, str]:
    return {str(code): str(colour) for code, colour in tracking_selectors.STATUS_COLOURS.items()}


def kind_labels() -> dict[str, str]:
    return {k.code: k.name for k in FacilityKind.objects.all()}


def region_labels() -> dict[str, str]:
    return {r.kato: r.name for r in Region.objects.only("kato", "name_kk", "name_ru", "name_en")}


def map_viewer_allowed(user) -> bool:
    """Planner, administrator and akimat users see the working maps (accounts.permissions decides roles)."""
    return user_role(user) is not None


def facility_queryset(
    *,
    user=None,
    measure: int | None = None,
    kind: str | None = None,
    region_kato: str | None = None,
) -> QuerySet[Facility]:
    """Facilities for a map: for the public (no `user`) those of the current approved plans, with public
    fields only (serialised later); else scoped to what `user` may view."""
    qs = facility_list(region_kato=region_kato, measure=measure, kind=kind)
    if user is not None:
        return scope_queryset(user, qs, action=Action.VIEW)
    return layer_access.public_rows_apply(collection_get("facilities"), qs, user=None)


def facility_visible(*, user, facility_id: int) -> bool:
    """May `user` see this facility on the maps? The public: only a facility of the approved plans."""
    qs = Facility.objects.filter(pk=facility_id)
    return layer_access.public_rows_apply(collection_get("facilities"), qs, user=user).exists()


def vector_tiles_threshold() -> int:
    """Number of features above which a working map draws a layer from the vector tiles."""
    return settings.MAP_VECTOR_TILES_THRESHOLD


def tile_url_template(layer: str) -> str | None:
    """Leaflet URL template ('/tiles/<layer>/{z}/{x}/{y}.pbf', under any script prefix) of a layer with tiles."""
    collection = collection_get(layer)
    if collection is None or not collection.tiles:
        return None
    # Distinct placeholder numbers, so only the tile address is replaced (never part of a prefix).
    url = reverse("tiles", kwargs={"layer": layer, "z": 9901, "x": 9902, "y": 9903})
    return url.replace("/9901/9902/9903.pbf", "/{z}/{x}/{y}.pbf")


def _tiles_url_above_threshold(layer: str, count: int) -> str | None:
    """The tile URL template of `layer` when `count` features are too many to embed, else None.

    Embedding stays the default: it needs no further request.
    """
    if count <= vector_tiles_threshold():
        return None
    return tile_url_template(layer)


def _statuses(states: dict, facility_ids: list[int]) -> dict[int, str]:
    # "planned" for a facility that tracking does not track.
    return {pk: states[pk].status if pk in states else PLANNED for pk in facility_ids}


def _opened_on(states: dict, facility_ids: list[int], as_of: date) -> dict[int, date]:
    opened = {pk: states[pk].reached.get("opened") for pk in facility_ids if pk in states}
    return {pk: day for pk, day in opened.items() if day is not None and day <= as_of}


def facility_statuses(*, as_of: date, facility_ids: list[int]) -> dict[int, str]:
    """{facility id: status code as of `as_of`} (tracking's; "planned" for a facility it does not track)."""
    return _statuses(tracking_selectors.facility_states_as_of(as_of=as_of, facility_ids=facility_ids), facility_ids)


# The facility's optional finances, in the names of the facilities collection's properties.
FINANCE_NAMES = tuple(FACILITY_FINANCES_PUBLIC)


@dataclass(frozen=True)
class Finances:
    budget_kzt: int | None
    funding_source: str
    funding_source_label: str
    contractor_name: str
    contractor_bin: str
    published: bool


def facility_finances(*, facility_id: int, authorised: bool) -> Finances | None:
    """The budget (whole tenge, KZT), funding source and contractor of a facility; None when none is shown.

    Users who may view its region see what is recorded; everybody else what the facilities
    collection's public properties give (recorded and published only), the rule of the open API.
    """
    if authorised:
        columns = {name: F(name) for name in FINANCE_NAMES}
    else:
        public = collection_get("facilities").public_properties
        columns = {name: public[name] for name in FINANCE_NAMES}
    row = (
        Facility.objects.filter(pk=facility_id)
        .values(published=F("finances_published"), **{f"_{k}": v for k, v in columns.items()})
        .first()
    )
    if row is None:
        return None
    values = {name: row[f"_{name}"] for name in FINANCE_NAMES}
    if values["budget_kzt"] is None and not any(values[n] for n in FINANCE_NAMES[1:]):
        return None
    source = values["funding_source"] or ""
    return Finances(
        budget_kzt=values["budget_kzt"],
        funding_source=source,
        funding_source_label=str(FundingSource(source).label) if source else "",
        contractor_name=values["contractor_name"] or "",
        contractor_bin=values["contractor_bin"] or "",
        published=row["published"],
    )


def facility_status_and_opened(*, as_of: date, facility_id: int) -> tuple[str, date | None]:
    """The facility's status as of `as_of` and the date it opened (on or before `as_of`), from one
    evaluation of its tracked state."""
    states = tracking_selectors.facility_states_as_of(as_of=as_of, facility_ids=[facility_id])
    return _statuses(states, [facility_id])[facility_id], _opened_on(states, [facility_id], as_of).get(facility_id)


@dataclass(frozen=True)
class FacilityMapData:
    geojson: str | None  # None when the layer is drawn from `tiles_url` instead
    statuses: dict[int, str]
    opened: dict[int, str]
    count: int
    tiles_url: str | None = None


def facility_map_data(
    *, queryset: QuerySet[Facility], as_of: date, status: str | None = None, tiles: bool = False
) -> FacilityMapData:
    """Public GeoJSON of `queryset` (located facilities only), their statuses and opening dates as of `as_of`.

    `status` keeps only the facilities with that status on that date. With `tiles`, more than
    MAP_VECTOR_TILES_THRESHOLD facilities are not serialised: `tiles_url` is set instead and
    `statuses` (every facility to draw, by id) is what the browser filters and colours the tiles by.
    """
    located = queryset.filter(location__isnull=False)
    ids = list(located.values_list("pk", flat=True))
    # One evaluation of the tracked states gives both the statuses and the opening dates.
    states = tracking_selectors.facility_states_as_of(as_of=as_of, facility_ids=ids)
    statuses = _statuses(states, ids)
    if status:
        ids = [pk for pk in ids if statuses[pk] == status]
        located = located.filter(pk__in=ids)
        statuses = {pk: statuses[pk] for pk in ids}
    opened = _opened_on(states, ids, as_of)
    tiles_url = _tiles_url_above_threshold("facilities", len(ids)) if tiles else None
    return FacilityMapData(
        geojson=None if tiles_url else collection_feature_collection(collection_get("facilities"), located),
        statuses=statuses,
        opened={pk: d.isoformat() for pk, d in opened.items()},
        count=len(ids),
        tiles_url=tiles_url,
    )


def facility_count(*, queryset: QuerySet[Facility], as_of: date, status: str | None = None) -> int:
    """Number of located facilities of `queryset` (with `status` on `as_of`, if given): what the map draws."""
    located = queryset.filter(location__isnull=False)
    if not status:
        return located.count()
    ids = list(located.values_list("pk", flat=True))
    return sum(1 for code in facility_statuses(as_of=as_of, facility_ids=ids).values() if code == status)


def region_metrics(*, queryset: QuerySet[Facility], as_of: date) -> dict[str, dict]:
    """Per region KATO: facilities, done (target stage reached) and progress = done / facilities (%),
    for the facilities of `queryset`; and the KPI coverage of tracking's kpi_as_of (percentage
    points of school-age children covered by the places of facilities open as of `as_of`, all
    facilities), None where unknown (no tracking, no population figure).
    """
    rows = list(queryset.values_list("pk", "region__kato"))
    statuses = facility_statuses(as_of=as_of, facility_ids=[pk for pk, _kato in rows])
    done_codes = {str(s) for s in tracking_selectors.DONE_STATUSES}
    kpi: dict[str, dict[str, float | None]] = defaultdict(dict)
    for row in tracking_selectors.kpi_as_of(as_of=as_of):
        if row.region is not None:
            kpi[row.region.kato][row.code] = row.added_pp
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for pk, kato in rows:
        totals[kato][0] += 1
        totals[kato][1] += statuses.get(pk) in done_codes
    result = {}
    for kato in Region.objects.values_list("kato", flat=True):
        facilities, done = totals[kato]
        coverage = kpi.get(kato, {})
        result[kato] = {
            "facilities": facilities,
            "done": done,
            "progress": round(100 * done / facilities, 1) if facilities else None,
            "recreation_coverage": coverage.get("recreation_coverage"),
            "additional_education_coverage": coverage.get("additional_education_coverage"),
        }
    return result


def regions_geojson(*, simplify_m: float = NATIONAL_SIMPLIFY_M, queryset: QuerySet[Region] | None = None) -> str:
    qs = queryset if queryset is not None else Region.objects.all()
    return feature_collection(
        qs.filter(geom__isnull=False),
        geometry="geom",
        properties=["kato", "name_kk", "name_ru", "name_en"],
        precision=4,
        simplify_m=simplify_m,
    )


def districts_geojson(*, region: Region, simplify_m: float = REGION_SIMPLIFY_M) -> str:
    return feature_collection(
        District.objects.filter(region=region, geom__isnull=False),
        geometry="geom",
        properties=["kato", "name_kk", "name_ru", "name_en"],
        precision=5,
        simplify_m=simplify_m,
    )


@dataclass(frozen=True)
class ParcelLayers:
    parcels: str | None  # GeoJSON; None when drawn from `parcels_tiles_url` (or without the app)
    links: str | None
    parcels_tiles_url: str | None = None


def _layer_geojson(layer: str, queryset, *, user) -> str:
    """A working map's layer of parcels or routes: the rows `user` may read, in the API's property names."""
    collection = collection_get(layer)
    scoped = queryset & layer_access.collection_queryset(collection, user=user)
    return collection_feature_collection(collection, scoped.filter(**{f"{collection.geometry}__isnull": False}))


def region_parcel_layers(*, user, region: Region, tiles: bool = False) -> ParcelLayers | None:
    """Parcels and infrastructure routes of `region` that `user` may view, or None without permission.
    With `tiles`, more than MAP_VECTOR_TILES_THRESHOLD parcels are not serialised: `parcels_tiles_url`
    is set instead (the tiles apply the same scope for the user)."""
    if not can(user, Action.VIEW, region_id=region.pk):
        return None
    parcels = Parcel.objects.filter(region=region)
    tiles_url = _tiles_url_above_threshold("parcels", parcels.count()) if tiles else None
    return ParcelLayers(
        parcels=None if tiles_url else _layer_geojson("parcels", parcels, user=user),
        links=_layer_geojson("infrastructure-links", InfrastructureLink.objects.filter(region=region), user=user),
        parcels_tiles_url=tiles_url,
    )


def facility_parcel_layers(*, user, facility: Facility) -> ParcelLayers | None:
    """Parcels and routes of one facility (always embedded: a handful), for users who may view its region."""
    if not can(user, Action.VIEW, region_id=facility.region_id):
        return None
    links = InfrastructureLink.objects.filter(parcel__facility=facility)
    return ParcelLayers(
        parcels=_layer_geojson("parcels", Parcel.objects.filter(facility=facility), user=user),
        links=_layer_geojson("infrastructure-links", links, user=user),
    )


def facility_parcel_bounds(*, user, facility: Facility) -> list[list[float]] | None:
    """[[south, west], [north, east]] (degrees, EPSG:4326) of the facility's parcels and routes, or None."""
    parcels = scope_queryset(user, Parcel.objects.filter(facility=facility), action=Action.VIEW)
    extent = parcels.aggregate(e=Extent("geom"))["e"]
    if extent is None:
        return None
    west, south, east, north = extent
    if facility.location:
        west, east = min(west, facility.location.x), max(east, facility.location.x)
        south, north = min(south, facility.location.y), max(north, facility.location.y)
    return [[south, west], [north, east]]


def choice_labels(choices) -> dict[str, str]:
    return {str(code): str(label) for code, label in choices}


@dataclass(frozen=True)
class DocumentRow:
    kind: str
    title: str
    number: str
    date: date | None
    url: str | None


def facility_documents(*, user, facility: Facility) -> list[DocumentRow]:
    """Documents proving the facility's stages and its parcels' documents that `user` may view."""
    rows: list[DocumentRow] = []
    if not can(user, Action.VIEW, region_id=facility.region_id):
        return rows
    records = scope_queryset(
        user,
        StageRecord.objects.filter(tracked__facility=facility).exclude(doc_number=""),
        region_field="tracked__facility__region",
    ).order_by("recorded_at", "pk")
    for r in records:
        rows.append(
            DocumentRow(
                kind=r.get_stage_display(),
                title=r.note[:80],
                number=r.doc_number,
                date=r.doc_date,
                url=reverse("tracking:stage_document", kwargs={"pk": r.pk}) if r.doc_file else None,
            )
        )
    acts = scope_queryset(user, Parcel.objects.filter(facility=facility).exclude(act_number=""))
    for p in acts.order_by("act_date", "pk"):
        rows.append(
            DocumentRow(
                kind=str(Parcel._meta.get_field("act_number").verbose_name),
                title=p.cadastral_number,
                number=p.act_number,
                date=p.act_date,
                url=None,
            )
        )
    docs = scope_queryset(user, ParcelDocument.objects.filter(parcel__facility=facility)).select_related("parcel")
    for d in docs:
        rows.append(
            DocumentRow(
                kind=d.get_kind_display(),
                title=d.title,
                number=d.parcel.act_number if d.kind == "act" else "",
                date=None,
                url=reverse("parcels:document_download", kwargs={"pk": d.pk}) if d.file else None,
            )
        )
    return rows
