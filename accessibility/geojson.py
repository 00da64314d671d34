"""GeoJSON of a run's results, built in PostGIS, EPSG:4326, RFC 7946: the analysis-result layers
(accessibility/collections.py) of one run, the district boundaries with a run's figures, catchments."""

from __future__ import annotations

import json

from django.contrib.gis.db.models import PolygonField
from django.db.models import Case, F, FilteredRelation, FloatField, Func, Q, Value, When
from django.db.models.functions import Greatest

from accessibility.models import AnalysisRun
from accounts import layer_access
from facilities.models import Facility
from gis_portal.geo.collections import collection_get
from gis_portal.geo.features import collection_feature_collection
from gis_portal.geo.geojson import feature_collection
from layers.models import District


def run_results_geojson(*, layer: str, user, run: AnalysisRun, ordering: str = "rank", **filters) -> str:
    """A run's rows of an analysis-result layer (accessibility/collections.py) that `user` may read,
    with the layer's property names and the run id as a member of the FeatureCollection."""
    collection = collection_get(layer)
    rows = layer_access.collection_queryset(collection, user=user).filter(run=run, **filters)
    return collection_feature_collection(collection, rows, ordering=ordering, members={"run": run.pk})


def areas_geojson(*, user, run: AnalysisRun) -> str:
    """Underserved hexagons, most uncovered children first (rank)."""
    return run_results_geojson(layer="accessibility-areas", user=user, run=run)


def sites_geojson(*, user, run: AnalysisRun, selected_only: bool = False) -> str:
    """Candidate sites by rank, or only the sites chosen, in the order chosen."""
    if selected_only:
        return run_results_geojson(
            layer="accessibility-sites", user=user, run=run, ordering="selected_order", selected_order__isnull=False
        )
    return run_results_geojson(layer="accessibility-sites", user=user, run=run)


def settlements_geojson(*, user, run: AnalysisRun, scenario: str = "current") -> str:
    """Settlements of a run (points): children, distance to the nearest facility, covered or not."""
    return run_results_geojson(layer="accessibility-settlements", user=user, run=run, ordering="pk", scenario=scenario)


def isochrones_geojson(*, user, run: AnalysisRun) -> str:
    """Isochrones of a travel-time coverage run, the largest threshold first (so the smaller ones are drawn on
    top), then by facility."""
    # The page builder orders by a model field ascending only: the smallest threshold first, then reversed here.
    fc = json.loads(run_results_geojson(layer="accessibility-isochrones", user=user, run=run, ordering="minutes"))
    fc["features"].reverse()
    return json.dumps(fc, ensure_ascii=False)


def districts_geojson(*, run: AnalysisRun, scenario: str, region_ids: list[int] | None = None) -> str:
    """District polygons (simplified to 500 m) with the run's figures for `scenario`: children served within
    capacity, within reach but over capacity and not covered (null where the run did not compute them, as
    ZoneResult.over_capacity / .not_covered), children within reach (`covered`), mean distance (metres)."""
    qs = District.objects.filter(geom__isnull=False)
    if region_ids is not None:
        qs = qs.filter(region_id__in=region_ids)
    qs = qs.annotate(
        z=FilteredRelation("access_rows", condition=Q(access_rows__run=run, access_rows__scenario=scenario))
    ).annotate(
        children=F("z__children"),
        covered=F("z__covered"),
        children_served=F("z__served"),
        children_over_capacity=Case(
            When(
                z__served__isnull=False,
                z__covered__isnull=False,
                then=Greatest(F("z__covered") - F("z__served"), Value(0.0)),
            ),
            default=None,
            output_field=FloatField(),
        ),
        children_not_covered=Case(
            When(z__covered__isnull=False, then=Greatest(F("z__children") - F("z__covered"), Value(0.0))),
            default=None,
            output_field=FloatField(),
        ),
        mean_distance_m=F("z__mean_distance_m"),
        access_per_1000=F("z__access_per_1000"),
    )
    return feature_collection(
        qs,
        geometry="geom",
        properties=[
            "kato",
            "name_en",
            "children",
            "children_served",
            "children_over_capacity",
            "children_not_covered",
            "covered",
            "mean_distance_m",
            "access_per_1000",
        ],
        simplify_m=500,
        precision=5,
    )


class GeographyBuffer(Func):
    """ST_Buffer on the geography (true metres) of a point stored in EPSG:4326, back to geometry."""

    arg_joiner = "::geography, "
    template = "ST_Buffer(%(expressions)s, 'quad_segs=8')::geometry"
    output_field = PolygonField(srid=4326)


def catchments_geojson(*, facility_ids: list[int], radii: dict[str, dict]) -> str:
    """A disc of the rural (largest) radius of its kind around each facility, in true metres."""
    radius = Case(
        *[When(kind_id=code, then=Value(float(r["rural_m"]))) for code, r in radii.items()],
        default=Value(20_000.0),
        output_field=FloatField(),
    )
    qs = Facility.objects.filter(pk__in=facility_ids, location__isnull=False).annotate(
        catchment=GeographyBuffer(F("location"), radius), radius_m=radius
    )
    return feature_collection(qs, geometry="catchment", properties=["kind_id", "radius_m"], precision=4)
