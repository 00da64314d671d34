"""The classification table of tests/test_permission_matrix.py: who may read and who may write each route.

Every route of the URL configuration (walked from django.urls.get_resolver()) must have an entry
here, keyed by its (namespaced) URL name, or by its pattern when it has none; the admin site is
classified per registered model in ADMIN_MODELS. A new route or admin model fails the matrix
test until it is classified, and an entry whose route disappeared fails it too.

Access levels (who gets HTTP 200 on GET):
- PUBLIC: everybody, anonymous included (public fields only);
- ROLE: any signed-in user with a portal role (akimat, planner, admin);
- MINISTRY: planner and admin;
- ADMIN: admin only;
- NOBODY: no role gets 200 (POST-only routes, unknown collections, session-bound tokens);
- REGION: an object of one region: planner, admin and the akimat of that region;
- REGION_EDIT: an object of one region, editing: admin and the akimat of that region (not planners);
- AKIMAT_EDIT: creating akimat records: admin and any akimat (not planners).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

PUBLIC = "public"
ROLE = "role"
MINISTRY = "ministry"
ADMIN = "admin"
NOBODY = "nobody"
REGION = "region"
REGION_EDIT = "region_edit"
AKIMAT_EDIT = "akimat_edit"

ROLES = ("anonymous", "akimat_a", "akimat_b", "planner", "admin")
SIDES = ("a", "b")  # a = Astana city (akimat_a's region), b = Turkistan region (akimat_b's)


def allowed(access: str, role: str, side: str | None) -> bool:
    """May `role` get a 2xx from a route of `access` level for an object of region `side`?"""
    if access == PUBLIC:
        return True
    if role == "anonymous":
        return False
    if access == ROLE:
        return True
    if access == MINISTRY:
        return role in ("planner", "admin")
    if access == ADMIN:
        return role == "admin"
    if access == NOBODY:
        return False
    own = role == f"akimat_{side}"
    if access == REGION:
        return role in ("planner", "admin") or own
    if access == REGION_EDIT:
        return role == "admin" or own
    if access == AKIMAT_EDIT:
        return role in ("admin", "akimat_a", "akimat_b")
    raise ValueError(f"unknown access level {access!r}")


@dataclass(frozen=True)
class Write:
    """Writes a route accepts: the HTTP methods, who may make them, and a minimal body."""

    access: str
    methods: tuple[str, ...] = ("post",)
    data: Callable | None = None  # data(world, side) -> dict


@dataclass(frozen=True)
class Rule:
    access: str
    # kwargs(world, side) -> URL kwargs; `sided` routes are requested for an own and an other region object.
    kwargs: Callable | None = None
    sided: bool = False
    query: Callable | None = None  # query(world, side) -> dict of GET parameters
    write: Write | None = None
    # Public forms whose POST is meant for anonymous users (sign-in, password reset, language).
    public_post: bool = False
    # Variants of one route (e.g. each tile layer): variants(world) -> [(label, kwargs, query, side, access)].
    variants: Callable | None = None
    note: str = ""


def _w(attr):
    return lambda w, s: {"pk": getattr(w[s], attr).pk}


def _kato(w, s):
    return {"kato": w[s].region.kato}


def _parcel_link(w, s):
    return {"parcel_pk": w[s].parcel.pk, "pk": w[s].link.pk}


def _run(w, s):
    return {"pk": w["run"].pk}


def _tile_variants(w):
    from gis_portal.geo.collections import collections_all

    return [
        (c.id, {"layer": c.id, "z": 0, "x": 0, "y": 0}, None, None, PUBLIC if c.public else ROLE)
        for c in collections_all()
        if c.tiles
    ]


def _private_items_variants(w):
    """Items of a signed-in-only collection: filtered to each region, and unfiltered (which must hold only
    the rows the user may read). REST downloads (?format=) read the same scoped queryset
    (tests/parcels/test_parcel_api_reads.py)."""
    out = [(side, {}, {"region": w[side].region.kato}, side, ROLE) for side in SIDES]
    out.append(("all", {}, None, None, ROLE))
    return out


def _report_variants(w):
    """The report page itself, and a region report downloaded (CSV) for each region."""
    out = [("page", {}, None, None, ROLE)]
    for side in SIDES:
        query = {"kind": "region", "region": w[side].region.pk, "as_of": "2025-07-01", "language": "en"}
        out.append((f"csv-{side}", {}, {**query, "format": "csv"}, side, REGION))
    return out


def _small(w, s):
    """Large public geometry lists: one short page is enough to check who may read them."""
    return {"limit": 2}


def _region_query(w, s):
    return {"region": w[s].region.kato}


def _analysis_rows(w) -> dict:
    """One result row of each analysis collection in each region, for the world's run (which is only
    queued): made on first use, by the read test alone (the write test needs an unchanged database)."""
    if "analysis_rows" not in w:
        from django.contrib.gis.geos import MultiPolygon, Polygon

        from accessibility.models import AreaResult, Isochrone, PointResult, SiteResult, ZoneResult
        from layers.models import Settlement

        run, rows = w["run"], {}
        for rank, side in enumerate(SIDES, start=1):
            region, centre = w[side].region, w[side].region.centre
            box = Polygon.from_bbox((centre.x - 0.01, centre.y - 0.01, centre.x + 0.01, centre.y + 0.01))
            box.srid = 4326
            settlement = Settlement.objects.create(
                name=f"PMX-S-{side}", population=900, location=centre, region=region, source="pmx", source_id=side
            )
            zone = {"run": run, "region": region, "children": 10.0, "covered": 4.0}
            rows[side] = {
                "accessibility-zones": ZoneResult.objects.create(**zone, district=w[side].district).pk,
                "accessibility-regions": ZoneResult.objects.create(**zone).pk,
                "accessibility-sites": SiteResult.objects.create(
                    run=run, rank=rank, location=centre, region=region, solo_gain=3.0
                ).pk,
                # The region of the centroid, as accessibility.services sets it when a run saves its hexagons.
                "accessibility-areas": AreaResult.objects.create(
                    run=run, rank=rank, geom=box, region=region, children=5.0, uncovered=5.0
                ).pk,
                "accessibility-settlements": PointResult.objects.create(
                    run=run, settlement=settlement, children=300.0
                ).pk,
                # The region of the facility, as the collection scopes isochrones.
                "accessibility-isochrones": Isochrone.objects.create(
                    run=run, facility=w[side].facility, minutes=15.0, geom=MultiPolygon(box, srid=4326)
                ).pk,
            }
        w["analysis_rows"] = rows
    return w["analysis_rows"]


def _analysis_item(collection_id: str):
    """One result row per region: planner, admin and that region's akimat read it (REGION)."""

    def variants(w):
        return [(side, {"pk": _analysis_rows(w)[side][collection_id]}, None, side, REGION) for side in SIDES]

    return variants


API_WRITES = ("post", "put", "patch", "delete")

ROUTES: dict[str, Rule] = {
    # --- Django and language switching ---------------------------------------------------------
    "set_language": Rule(NOBODY, public_post=True, note="POST-only; GET redirects"),
    "home": Rule(PUBLIC),
    "login": Rule(PUBLIC, public_post=True),
    "logout": Rule(NOBODY, public_post=True, note="POST-only since Django 5"),
    "password_change": Rule(ROLE),
    "password_change_done": Rule(ROLE),
    "password_reset": Rule(PUBLIC, public_post=True),
    "password_reset_done": Rule(PUBLIC),
    "password_reset_confirm": Rule(
        PUBLIC, kwargs=lambda w, s: {"uidb64": "MQ", "token": "bad-token"}, public_post=True, note="invalid link page"
    ),
    "password_reset_complete": Rule(PUBLIC),
    # --- maps (issue 5) ----------------------------------------------------------------------------
    "maps:national": Rule(ROLE),
    "maps:public": Rule(PUBLIC),
    "maps:embed": Rule(PUBLIC),
    "maps:public_progress": Rule(PUBLIC, note="aggregates of the approved plans only"),
    "maps:public_table": Rule(PUBLIC, note="the public map's facilities as a table (public fields)"),
    "maps:public_csv": Rule(PUBLIC, note="download of the public table"),
    "maps:public_xlsx": Rule(PUBLIC, note="download of the public table"),
    "maps:public_table_geojson": Rule(PUBLIC, note="download of the public table"),
    "maps:public_geojson": Rule(PUBLIC, note="the public map's facilities (cached, ETag)"),
    "maps:region": Rule(REGION, kwargs=_kato, sided=True),
    "maps:facility": Rule(PUBLIC, kwargs=_w("facility"), sided=True, note="public fields for anonymous"),
    # Facilities are the ministry's (they plan them): akimats, even of the facility's region, may not restore.
    "maps:facility_restore": Rule(NOBODY, kwargs=_w("facility"), sided=True, write=Write(MINISTRY)),
    # Facility editor (issue 16): planners create and edit; the akimat of the facility's region places it.
    "maps:facility_new": Rule(MINISTRY, write=Write(MINISTRY)),
    "maps:facility_edit": Rule(REGION, kwargs=_w("facility"), sided=True, write=Write(REGION)),
    "maps:analysis": Rule(ROLE),
    # --- tracking (issue 4) ------------------------------------------------------------------------
    "tracking:dashboard": Rule(ROLE),
    "tracking:region": Rule(REGION, kwargs=_kato, sided=True),
    "tracking:facility": Rule(
        REGION, kwargs=_w("tracked"), sided=True, write=Write(REGION_EDIT, data=lambda w, s: {"stage": "design"})
    ),
    "tracking:stage_restore": Rule(NOBODY, kwargs=_w("tracked"), sided=True, write=Write(REGION_EDIT)),
    "tracking:stage_file": Rule(REGION, kwargs=lambda w, s: {"pk": w[s].stage.pk, "field": "doc_file"}, sided=True),
    "tracking:stage_document": Rule(REGION, kwargs=_w("stage"), sided=True),
    "tracking:plans": Rule(ROLE),
    "tracking:plan": Rule(
        ROLE, kwargs=lambda w, s: {"pk": w["plan"].pk}, write=Write(MINISTRY, data=lambda w, s: {"action": "check"})
    ),
    # Plan workbooks: read like the plan pages (every role); uploading writes a draft plan (ministry).
    "tracking:plans_xlsx": Rule(ROLE),
    "tracking:plan_xlsx": Rule(ROLE, kwargs=lambda w, s: {"pk": w["plan"].pk}),
    "tracking:plan_upload": Rule(NOBODY, kwargs=lambda w, s: {"pk": w["plan"].pk}, write=Write(MINISTRY)),
    "tracking:plan_restore": Rule(NOBODY, kwargs=lambda w, s: {"pk": w["plan"].pk}, write=Write(MINISTRY)),
    "tracking:plan_item_restore": Rule(NOBODY, kwargs=lambda w, s: {"pk": w["plan"].pk}, write=Write(MINISTRY)),
    "tracking:measures": Rule(ROLE),
    "tracking:kpi": Rule(ROLE, write=Write(MINISTRY)),
    "tracking:kpi_measured": Rule(
        MINISTRY,
        write=Write(
            MINISTRY,
            data=lambda w, s: {
                "indicator": "recreation_coverage",
                "period_end": "2025-06-30",
                "value": "9.5",
                "source": "PMX bulletin",
                "source_date": "2025-07-10",
            },
        ),
    ),
    "tracking:population_import": Rule(MINISTRY, write=Write(MINISTRY)),
    "tracking:reports": Rule(
        ROLE,
        variants=_report_variants,
        write=Write(
            REGION_EDIT,
            data=lambda w, s: {
                "action": "submit",
                "kind": "region",
                "region": w[s].region.pk,
                "as_of": "2025-07-01",
                "language": "en",
            },
        ),
    ),
    "tracking:report_file": Rule(REGION, kwargs=lambda w, s: {"pk": w[s].report.pk, "fmt": "csv"}, sided=True),
    "tracking:reminders": Rule(ROLE),
    "tracking:disagreements": Rule(ROLE, write=Write(MINISTRY, data=lambda w, s: {"record": 0})),
    # --- parcels (issue 3) -------------------------------------------------------------------------
    "parcels:list": Rule(ROLE, query=_region_query, sided=True, note="filtered to the other region: no rows"),
    "parcels:create": Rule(AKIMAT_EDIT, write=Write(AKIMAT_EDIT)),
    "parcels:detail": Rule(REGION, kwargs=_w("parcel"), sided=True),
    "parcels:edit": Rule(REGION_EDIT, kwargs=_w("parcel"), sided=True, write=Write(REGION_EDIT)),
    "parcels:revoke": Rule(NOBODY, kwargs=_w("parcel"), sided=True, write=Write(REGION_EDIT)),
    "parcels:restore": Rule(NOBODY, kwargs=_w("parcel"), sided=True, write=Write(REGION_EDIT)),
    "parcels:link_create": Rule(
        REGION_EDIT, kwargs=lambda w, s: {"parcel_pk": w[s].parcel.pk}, sided=True, write=Write(REGION_EDIT)
    ),
    "parcels:link_edit": Rule(REGION_EDIT, kwargs=_parcel_link, sided=True, write=Write(REGION_EDIT)),
    "parcels:link_delete": Rule(NOBODY, kwargs=_parcel_link, sided=True, write=Write(REGION_EDIT)),
    "parcels:link_restore": Rule(NOBODY, kwargs=_parcel_link, sided=True, write=Write(REGION_EDIT)),
    "parcels:document_restore": Rule(
        NOBODY, kwargs=lambda w, s: {"parcel_pk": w[s].parcel.pk}, sided=True, write=Write(REGION_EDIT)
    ),
    "parcels:document_upload": Rule(
        NOBODY, kwargs=lambda w, s: {"parcel_pk": w[s].parcel.pk}, sided=True, write=Write(REGION_EDIT)
    ),
    "parcels:document_download": Rule(REGION, kwargs=_w("document"), sided=True),
    "parcels:import": Rule(AKIMAT_EDIT, write=Write(AKIMAT_EDIT)),
    "parcels:import_preview": Rule(
        NOBODY, kwargs=lambda w, s: {"token": "0123abcd"}, write=Write(AKIMAT_EDIT), note="token bound to session"
    ),
    "parcels:import_choices": Rule(
        NOBODY, kwargs=lambda w, s: {"token": "0123abcd"}, write=Write(AKIMAT_EDIT), note="token bound to session"
    ),
    "parcels:import_confirm": Rule(
        NOBODY, kwargs=lambda w, s: {"token": "0123abcd"}, write=Write(AKIMAT_EDIT), note="token bound to session"
    ),
    "parcels:import_columns": Rule(
        NOBODY, kwargs=lambda w, s: {"token": "0123abcd"}, write=Write(AKIMAT_EDIT), note="token bound to session"
    ),
    "parcels:export": Rule(ROLE, query=_region_query, sided=True, note="export filtered to a region"),
    "parcels:compliance": Rule(ROLE),
    # --- accessibility (issue 7); runs are national, their rows scoped per region ----------------
    "accessibility:run_list": Rule(ROLE, write=Write(MINISTRY, data=lambda w, s: {"kind": "coverage"})),
    "accessibility:run_detail": Rule(ROLE, kwargs=_run),
    "accessibility:run_districts": Rule(ROLE, kwargs=_run),
    "accessibility:run_rerun": Rule(NOBODY, kwargs=_run, write=Write(MINISTRY)),
    "accessibility:run_repeat": Rule(
        NOBODY, kwargs=_run, write=Write(MINISTRY, data=lambda w, s: {"change": "radii_factor", "radii_factor": "2"})
    ),
    "accessibility:run_compare": Rule(ROLE, kwargs=lambda w, s: {"pk": w["run"].pk, "other": w["run"].pk}),
    "accessibility:run_download": Rule(ROLE, kwargs=lambda w, s: {"pk": w["run"].pk, "what": "zones", "fmt": "csv"}),
    "accessibility:settlement_import": Rule(MINISTRY, write=Write(MINISTRY)),
    "accessibility:raster_list": Rule(ROLE, write=Write(MINISTRY)),
    # --- REST API of the apps (/api/v1/, token or session) ----------------------------------------
    "tracking-api-facilities": Rule(ROLE, query=_region_query, sided=True),
    "tracking-api-facility": Rule(REGION, kwargs=_w("facility"), sided=True),
    "tracking-api-stage-create": Rule(
        NOBODY,
        kwargs=_w("facility"),
        sided=True,
        write=Write(REGION_EDIT, data=lambda w, s: {"stage": "design", "planned_date": "2025-01-01"}),
    ),
    "tracking-api-statuses": Rule(ROLE),
    # Plans are national (every role reads them); their rows and the stage records are region-scoped.
    "tracking-api-plans": Rule(ROLE, query=_region_query, sided=True, note="counts only the rows the role may view"),
    "tracking-api-plan": Rule(ROLE, kwargs=lambda w, s: {"pk": w["plan"].pk}, note="rows of the own region only"),
    "tracking-api-stages": Rule(ROLE, query=_region_query, sided=True, note="filtered to the other region: no rows"),
    "api-parcels": Rule(ROLE, query=_region_query, sided=True, write=Write(AKIMAT_EDIT)),
    "api-parcel": Rule(REGION, kwargs=_w("parcel"), sided=True, write=Write(REGION_EDIT, methods=API_WRITES)),
    "api-parcel-links": Rule(
        REGION, kwargs=lambda w, s: {"parcel_pk": w[s].parcel.pk}, sided=True, write=Write(REGION_EDIT)
    ),
    "api-parcel-link": Rule(REGION, kwargs=_parcel_link, sided=True, write=Write(REGION_EDIT, methods=API_WRITES)),
    "accessibility-api-runs": Rule(ROLE, write=Write(MINISTRY, data=lambda w, s: {"kind": "coverage"})),
    "accessibility-api-run": Rule(ROLE, kwargs=_run),
    "accessibility-api-run-zones": Rule(ROLE, kwargs=_run),
    "accessibility-api-run-distances": Rule(ROLE, kwargs=_run),
    "accessibility-api-run-sites": Rule(ROLE, kwargs=_run),
    "accessibility-api-run-areas": Rule(ROLE, kwargs=_run),
    "accessibility-api-run-repeat": Rule(
        NOBODY, kwargs=_run, write=Write(MINISTRY, data=lambda w, s: {"radii_factor": "2"})
    ),
    "accessibility-api-run-compare": Rule(ROLE, kwargs=lambda w, s: {"pk": w["run"].pk, "other": w["run"].pk}),
    "accessibility-api-rasters": Rule(ROLE),
    "accessibility-api-parameters": Rule(ROLE, query=lambda w, s: {"kind": "coverage"}),
    # --- public API (issue 6) ----------------------------------------------------------------------
    "api-index": Rule(PUBLIC),
    "api-schema": Rule(PUBLIC),
    "api-open-data-oc4ids": Rule(
        PUBLIC, note="OC4IDS package of the approved plans' public facilities (published finances only)"
    ),
    "api-docs": Rule(PUBLIC),
    "api-redoc": Rule(PUBLIC),
    "api-measures": Rule(PUBLIC),
    "api-quotas": Rule(PUBLIC),
    "api-kpi-targets": Rule(PUBLIC),
    "api-regions-list": Rule(PUBLIC, query=_small),
    "api-regions-detail": Rule(PUBLIC, kwargs=_w("region"), sided=True),
    "api-districts-list": Rule(PUBLIC, query=_small),
    "api-districts-detail": Rule(PUBLIC, kwargs=_w("district"), sided=True),
    "api-facilities-list": Rule(PUBLIC, query=_region_query, sided=True),
    "api-facilities-detail": Rule(PUBLIC, kwargs=_w("facility"), sided=True),
    "ogc-landing": Rule(PUBLIC),
    "ogc-openapi": Rule(PUBLIC),
    "ogc-conformance": Rule(PUBLIC),
    "ogc-collections": Rule(PUBLIC),
    "ogc-regions": Rule(PUBLIC),
    "ogc-regions-queryables": Rule(PUBLIC),
    "ogc-regions-items": Rule(PUBLIC, query=_small),
    "ogc-regions-item": Rule(PUBLIC, kwargs=_w("region"), sided=True),
    "ogc-districts": Rule(PUBLIC),
    "ogc-districts-queryables": Rule(PUBLIC),
    "ogc-districts-items": Rule(PUBLIC, query=_small),
    "ogc-districts-item": Rule(PUBLIC, kwargs=_w("district"), sided=True),
    "ogc-facilities": Rule(PUBLIC),
    "ogc-facilities-queryables": Rule(PUBLIC),
    "ogc-facilities-items": Rule(PUBLIC, query=_region_query, sided=True),
    "ogc-facilities-item": Rule(PUBLIC, kwargs=_w("facility"), sided=True),
    "ogc-parcels": Rule(ROLE),
    "ogc-parcels-queryables": Rule(ROLE),
    "ogc-parcels-items": Rule(ROLE, variants=_private_items_variants),
    "ogc-parcels-item": Rule(REGION, kwargs=_w("parcel"), sided=True),
    "ogc-infrastructure-links": Rule(ROLE),
    "ogc-infrastructure-links-queryables": Rule(ROLE),
    "ogc-infrastructure-links-items": Rule(ROLE, variants=_private_items_variants),
    "ogc-infrastructure-links-item": Rule(REGION, kwargs=_w("link"), sided=True),
    "api-infrastructure-links-list": Rule(ROLE, variants=_private_items_variants),
    "api-infrastructure-links-detail": Rule(REGION, kwargs=_w("link"), sided=True),
    # Analysis results (accessibility/api_collections.py): signed-in roles, rows scoped per region.
    "ogc-accessibility-zones": Rule(ROLE),
    "ogc-accessibility-zones-queryables": Rule(ROLE),
    "ogc-accessibility-zones-items": Rule(ROLE, variants=_private_items_variants),
    "ogc-accessibility-zones-item": Rule(REGION, variants=_analysis_item("accessibility-zones")),
    "api-accessibility-zones-list": Rule(ROLE, variants=_private_items_variants),
    "api-accessibility-zones-detail": Rule(REGION, variants=_analysis_item("accessibility-zones")),
    "ogc-accessibility-regions": Rule(ROLE),
    "ogc-accessibility-regions-queryables": Rule(ROLE),
    "ogc-accessibility-regions-items": Rule(ROLE, variants=_private_items_variants),
    "ogc-accessibility-regions-item": Rule(REGION, variants=_analysis_item("accessibility-regions")),
    "api-accessibility-regions-list": Rule(ROLE, variants=_private_items_variants),
    "api-accessibility-regions-detail": Rule(REGION, variants=_analysis_item("accessibility-regions")),
    "ogc-accessibility-sites": Rule(ROLE),
    "ogc-accessibility-sites-queryables": Rule(ROLE),
    "ogc-accessibility-sites-items": Rule(ROLE, variants=_private_items_variants),
    "ogc-accessibility-sites-item": Rule(REGION, variants=_analysis_item("accessibility-sites")),
    "api-accessibility-sites-list": Rule(ROLE, variants=_private_items_variants),
    "api-accessibility-sites-detail": Rule(REGION, variants=_analysis_item("accessibility-sites")),
    "ogc-accessibility-areas": Rule(ROLE),
    "ogc-accessibility-areas-queryables": Rule(ROLE),
    "ogc-accessibility-areas-items": Rule(ROLE, variants=_private_items_variants),
    "ogc-accessibility-areas-item": Rule(REGION, variants=_analysis_item("accessibility-areas")),
    "api-accessibility-areas-list": Rule(ROLE, variants=_private_items_variants),
    "api-accessibility-areas-detail": Rule(REGION, variants=_analysis_item("accessibility-areas")),
    "ogc-accessibility-settlements": Rule(ROLE),
    "ogc-accessibility-settlements-queryables": Rule(ROLE),
    "ogc-accessibility-settlements-items": Rule(ROLE, variants=_private_items_variants),
    "ogc-accessibility-settlements-item": Rule(REGION, variants=_analysis_item("accessibility-settlements")),
    "api-accessibility-settlements-list": Rule(ROLE, variants=_private_items_variants),
    "api-accessibility-settlements-detail": Rule(REGION, variants=_analysis_item("accessibility-settlements")),
    "ogc-accessibility-isochrones": Rule(ROLE),
    "ogc-accessibility-isochrones-queryables": Rule(ROLE),
    "ogc-accessibility-isochrones-items": Rule(ROLE, variants=_private_items_variants),
    "ogc-accessibility-isochrones-item": Rule(REGION, variants=_analysis_item("accessibility-isochrones")),
    "api-accessibility-isochrones-list": Rule(ROLE, variants=_private_items_variants),
    "api-accessibility-isochrones-detail": Rule(REGION, variants=_analysis_item("accessibility-isochrones")),
    "ogc/collections/<str:collection_id>": Rule(NOBODY, kwargs=lambda w, s: {"collection_id": "nope"}),
    "ogc/collections/<str:collection_id>/queryables": Rule(NOBODY, kwargs=lambda w, s: {"collection_id": "nope"}),
    "ogc/collections/<str:collection_id>/items": Rule(NOBODY, kwargs=lambda w, s: {"collection_id": "nope"}),
    "ogc/collections/<str:collection_id>/items/<int:pk>": Rule(
        NOBODY, kwargs=lambda w, s: {"collection_id": "nope", "pk": 1}
    ),
    "tiles": Rule(PUBLIC, variants=_tile_variants, note="access per layer: public layers or signed-in roles"),
}

# Admin site: per registered model. "admin": only administrators (users, tokens, sign-in audit, jobs);
# "reference": national reference data and ministry records (any role may view; akimats never add);
# "region": region-bound records, region_field names the path to layers.Region.
ADMIN_MODELS: dict[str, tuple[str, str | None]] = {
    "auth.Group": ("admin", None),
    "auth.User": ("admin", None),
    "authtoken.TokenProxy": ("admin", None),
    "axes.AccessAttempt": ("admin", None),
    "axes.AccessLog": ("admin", None),
    "axes.AccessFailureLog": ("admin", None),
    "accounts.Membership": ("admin", None),
    "django_tasks_database.DBTaskResult": ("admin", None),
    "layers.Region": ("reference", None),
    "layers.District": ("reference", None),
    "layers.Settlement": ("reference", None),
    "layers.BaseLayer": ("admin", None),
    "facilities.ResponsibleBody": ("reference", None),
    "facilities.Section": ("reference", None),
    "facilities.Measure": ("reference", None),
    "facilities.FacilityKind": ("reference", None),
    "facilities.KpiIndicator": ("reference", None),
    "parcels.Utility": ("reference", None),
    "parcels.LocalCoordinateSystem": ("admin", None),
    "tracking.Plan": ("reference", None),
    "accessibility.PopulationRaster": ("reference", None),
    "accessibility.AnalysisRun": ("reference", None),
    "roads.RoadSpeed": ("reference", None),
    "roads.RoadNetwork": ("reference", None),
    "roads.RoadEdge": ("reference", None),
    "roads.RoadBarrier": ("reference", None),
    "facilities.Facility": ("region", "facility"),
    "parcels.Parcel": ("region", "parcel"),
    "parcels.InfrastructureLink": ("region", "link"),
    "parcels.ParcelDocument": ("region", "document"),
    "tracking.TrackedFacility": ("region", "tracked"),
    "tracking.Report": ("region", "report"),
}
# Who may open the admin "add" page of a region-bound model (besides administrators): akimats add
# akimat records, planners the plan's facilities; stage records and reports are written only through
# the tracking services, scans only on the parcel page.
ADMIN_ADDERS: dict[str, str | None] = {
    "facilities.Facility": "planner",
    "parcels.Parcel": "akimat",
    "parcels.InfrastructureLink": "akimat",
    "parcels.ParcelDocument": None,
    "tracking.TrackedFacility": None,
    "tracking.Report": None,
}


@dataclass
class Side:
    """The objects of one region used to build URLs (see the `world` fixture)."""

    region: object
    district: object
    facility: object
    tracked: object
    parcel: object
    link: object
    document: object
    stage: object
    report: object
    markers: list[str] = field(default_factory=list)
