"""GeoJSON of a run's results, built in PostGIS (gis_portal.geo.geojson), EPSG:4326, RFC 7946."""

from __future__ import annotations

from django.contrib.gis.db.models import PolygonField
from django.db.models import Case, F, FilteredRelation, FloatField, Func, Q, Value, When

from accessibility.models import AnalysisRun, PointResult
from accessibility.selectors import area_results, site_results
from facilities.models import Facility
from gis_portal.geo.geojson import feature_collection
from layers.models import District


def areas_geojson(*, user, run: AnalysisRun) -> str:
    return feature_collection(
        area_results(user=user, run=run),
        geometry="geom",
        properties=["rank", "children", "uncovered"],
        extra_members={"run": str(int(run.pk))},
    )


def sites_geojson(*, user, run: AnalysisRun, selected_only: bool = False) -> str:
    return feature_collection(
        site_results(user=user, run=run, selected_only=selected_only),
        geometry="location",
        properties=["rank", "label", "candidate_ref", "solo_gain", "selected_order", "marginal_gain"],
        extra_members={"run": str(int(run.pk))},
    )


def districts_geojson(*, run: AnalysisRun, scenario: str, region_ids: list[int] | None = None) -> str:
    """District polygons (simplified to 500 m) with the run's figures for `scenario`."""
    qs = District.objects.filter(geom__isnull=False)
    if region_ids is not None:
        qs = qs.filter(region_id__in=region_ids)
    qs = qs.annotate(
        z=FilteredRelation("access_rows", condition=Q(access_rows__run=run, access_rows__scenario=scenario))
    ).annotate(
        children=F("z__children"),
        covered=F("z__covered"),
        mean_distance_m=F("z__mean_distance_m"),
        access_per_1000=F("z__access_per_1000"),
    )
    return feature_collection(
        qs,
        geometry="geom",
        properties=["kato", "name_en", "children", "covered", "mean_distance_m", "access_per_1000"],
        simplify_m=500,
        precision=5,
    )


def settlements_geojson(*, run: AnalysisRun, scenario: str = "current") -> str:
    """Settlements of a run (points) with children, distance to the nearest facility and covered or not."""
    qs = PointResult.objects.filter(run=run, scenario=scenario).annotate(
        name=F("settlement__name"), state=Case(When(covered=True, then=Value("covered")), default=Value("uncovered"))
    )
    return feature_collection(
        qs,
        geometry="settlement__location",
        properties=["name", "children", "distance_m", "state", "access_per_1000"],
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
