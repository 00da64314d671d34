"""Serializers of the accessibility REST API (api/v1/accessibility.py): they render every body the
views write and document it (drf-spectacular turns them into schema components), so the two
cannot drift apart; tests/accessibility/test_accessibility_openapi.py validates real responses.
Geometry in EPSG:4326 (RFC 7946, longitude first); distances in metres on the WGS 84
ellipsoid; children counts are floats (raster cells hold fractional people).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accessibility.comparison import HEADLINE_KEYS, ZONE_KEYS
from accessibility.models import AnalysisRun, ZoneResult
from accessibility.services import CANDIDATE_SOURCES, MAX_CANDIDATES, SCOPES
from api.openapi import feature_collection_schema
from gis_portal.geo.collections import collection_get
from layers.models import PopulationFigure


def _enum(values, **kwargs) -> serializers.CharField:
    """A string field with its allowed values. The enum sits inside `allOf` so that drf-spectacular's
    enum post-processing leaves it inline: hoisted, it would become a shared "StatusEnum" component
    whose name collides with the other apps' status choices (a schema warning)."""

    @extend_schema_field({"type": "string", "allOf": [{"enum": list(values)}]})
    class EnumField(serializers.CharField):
        pass

    return EnumField(**kwargs)


def _object(description: str, **kwargs) -> serializers.DictField:
    return serializers.DictField(child=serializers.JSONField(), help_text=description, **kwargs)


# --- run parameters (the complete, normalised set; services.run_parameters_normalise) -----------------------


def parameters_schema(*, complete: bool) -> dict:
    """The parameters of a run: `complete` as stored (every default filled in), else as a client may send
    them (any subset; missing values take their defaults, unknown names are a 400)."""

    def obj(properties: dict, description: str = "", *, required: list[str] | None = None) -> dict:
        schema = {"type": "object", "properties": properties, "additionalProperties": False}
        if description:
            schema["description"] = description
        if complete and required:
            schema["required"] = required
        return schema

    integer, number, boolean = {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
    date = {"type": "string", "format": "date"}
    demand_properties = {
        "source": {"type": "string", "enum": ["settlements", "raster"]},
        "raster_id": {"type": "integer", "nullable": True, "description": "required when source is raster"},
        "indicator": {"type": "string", "enum": list(PopulationFigure.Indicator.values)},
        "year": {**integer, "minimum": 1990, "maximum": 2100},
        "scale_to_official": boolean,
        "default_child_share": {**number, "minimum": 0.01, "maximum": 1.0},
        "urban_min_population": {
            **integer,
            "minimum": 0,
            "description": "urban: in a settlement of at least this many inhabitants (a raster cell: within its "
            "extent, a disc holding its population at 1 500 inhabitants/km²), for both sources",
        },
    }
    if complete:
        demand_properties["urban_children_per_km2"] = {
            **number,
            "description": "runs stored before the one urban rule only (raster cells); no longer accepted",
        }
    demand = obj(
        demand_properties,
        "where the children are: settlements (children, or population × the official share) or a raster; a run "
        "stores only what its source reads (settlements: indicator, default_child_share; raster: raster_id, "
        "scale_to_official)",
        required=["source", "year", "urban_min_population"],
    )
    facilities = obj(
        {
            "as_of": date,
            "scope": {"type": "string", "enum": list(SCOPES)},
            "purpose": {
                "type": "string",
                "description": "whose places serve the children: recreation (health and recreation centres, "
                "measures 14–17), education (creative and intellectual objects, measures 18–26) or one facility "
                "kind code; capacity = places × the kind's shifts per year",
            },
            "kinds": {
                "type": "array",
                "items": {"type": "string"},
                "description": "facility kind codes, all of the purpose; empty: every kind of the purpose",
            },
        },
        "which facilities count as present (a roadmap-effect run stores purpose and kinds only: it takes its "
        "own dates)",
        required=["purpose", "kinds"],
    )
    radius = obj(
        {
            "urban_m": {**number, "minimum": 1, "maximum": 500_000},
            "rural_m": {**number, "minimum": 1, "maximum": 500_000},
        },
        required=["urban_m", "rural_m"],
    )
    radii = {
        "type": "object",
        "description": "reach of each facility kind in metres, in towns and in the countryside",
        "additionalProperties": radius,
    }
    sites = obj(
        {
            "k": {**integer, "minimum": 1, "maximum": 1000},
            "candidates": {"type": "string", "enum": list(CANDIDATE_SOURCES)},
            "kind": {"type": "string", "description": "facility kind of the new sites"},
            "method": {"type": "string", "enum": ["greedy", "exact"]},
            "grid_spacing_m": {**number, "minimum": 500, "maximum": 200_000},
            "time_limit_s": {**number, "minimum": 1, "maximum": 3600},
            "points": {
                "type": "array",
                "items": {"type": "array", "items": number, "minItems": 2, "maxItems": 2},
                "maxItems": MAX_CANDIDATES,
                "description": "[longitude, latitude] candidates (EPSG:4326) when candidates is points",
            },
        },
        "best sites: how many, chosen among which candidates, how (grid_spacing_m for a grid, time_limit_s for "
        "the exact method)",
        required=["k", "candidates", "kind", "method"],
    )
    underserved = obj(
        {
            "hex_size_m": {**number, "minimum": 100, "maximum": 100_000},
            "top": {**integer, "minimum": 1, "maximum": 10_000},
        },
        "hexagon circumradius in metres and how many hexagons to keep",
        required=["hex_size_m", "top"],
    )
    roadmap = obj({"before_date": date}, "the date the 'before' scenario is taken at", required=["before_date"])
    travel = obj(
        {
            "network": {**integer, "minimum": 1, "description": "id of a loaded road network (manage.py load_roads)"},
            "thresholds_min": {
                "type": "array",
                "items": {**number, "minimum": 1, "maximum": 600},
                "minItems": 1,
                "maxItems": 8,
                "description": "travel-time thresholds in minutes, no repeats; the first is the catchment of the "
                "children served within capacity, children within each are counted",
            },
            "max_snap_m": {
                **number,
                "minimum": 0,
                "maximum": 100_000,
                "description": "a settlement farther than this (metres, straight line) from every road node and "
                "facility is not reachable",
            },
            "decay": {
                "type": "string",
                "enum": ["none", "gaussian"],
                "description": "2SFCA and the roadmap effect only (stored only there): weight of a facility by "
                "travel time t within the catchment T, none (1) or the Gaussian of Dai 2010, "
                "(exp(-(t/T)^2/2) - exp(-1/2)) / (1 - exp(-1/2))",
            },
        },
        "travel time on a road network instead of distance radii (every analysis; with a population raster by "
        "cost-distance over a friction grid; absent: distance); a travel-time run stores no radii",
        required=["network", "thresholds_min", "max_snap_m"],
    )
    return obj(
        {
            "demand": demand,
            "facilities": facilities,
            "radii": radii,
            "region_ids": {"type": "array", "items": integer, "description": "regions analysed; empty: all"},
            "write_raster": boolean,
            "sites": sites,
            "underserved": underserved,
            "roadmap": roadmap,
            "travel": travel,
        },
        "sites, underserved and roadmap are present for runs of that kind only, write_raster for a coverage run "
        "on a raster; radii of the kinds the run counts",
        required=["demand", "facilities", "region_ids"],
    )


PARAMETERS = parameters_schema(complete=True)
PARAMETERS_INPUT = parameters_schema(complete=False)


@extend_schema_field(PARAMETERS)
class ParametersField(serializers.JSONField):
    pass


@extend_schema_field(PARAMETERS_INPUT)
class ParametersInputField(serializers.JSONField):
    pass


# --- runs ------------------------------------------------------------------------------------------------------


class AccessibilityRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = _enum(AnalysisRun.Kind.values)
    status = _enum(AnalysisRun.Status.values)
    progress = serializers.FloatField(min_value=0, max_value=1)
    progress_note = serializers.CharField(allow_blank=True)
    is_demo = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    raster = serializers.IntegerField(allow_null=True, help_text="population raster id, when the demand is a raster")
    repeat_of = serializers.IntegerField(
        allow_null=True, help_text="the run this one repeats with one input changed (compare them)"
    )
    summary = _object("headline figures of a finished run (a roadmap run: {before: {...}, after: {...}})")
    travel = _object(
        "travel-time runs: thresholds_min (minutes) and the road network (name, label, source, date) the times "
        "were measured on; null for a distance run",
        allow_null=True,
    )


class AccessibilityRunDetailSerializer(AccessibilityRunSerializer):
    parameters = ParametersField()
    inputs = _object("what the run used: facilities counted, settlements, raster, with their sources")
    notes = serializers.ListField(child=serializers.CharField(), help_text="method notes, in the request's language")
    error = serializers.CharField(allow_blank=True)
    task_id = serializers.CharField(allow_blank=True)


class AccessibilityRunListSerializer(serializers.Serializer):
    results = AccessibilityRunSerializer(many=True, help_text="the latest 100 runs, newest first")


class AccessibilityRunCreateSerializer(serializers.Serializer):
    kind = _enum(AnalysisRun.Kind.values)
    parameters = ParametersInputField(required=False, help_text="omitted values take their defaults")


class AccessibilityRunRepeatSerializer(serializers.Serializer):
    """The one change of a repeat: exactly one of demand_source, radii_factor, radii, urban_min_population
    (raster_id only with demand_source "raster")."""

    demand_source = _enum(["settlements", "raster"], required=False, help_text="the other demand source")
    raster_id = serializers.IntegerField(
        required=False, help_text="with demand_source raster; omitted: the latest raster of the run's indicator"
    )
    radii_factor = serializers.FloatField(
        required=False, min_value=0.1, max_value=10, help_text="every urban and rural radius multiplied by this"
    )
    radii = serializers.DictField(
        child=serializers.FloatField(min_value=1, max_value=500_000),
        required=False,
        help_text="{urban_m, rural_m} (metres; one may be left out): every kind's radii set to these",
    )
    urban_min_population = serializers.IntegerField(
        required=False,
        min_value=0,
        help_text="urban = in a settlement of at least this population (a raster cell: within its extent)",
    )


class ComparedNumberSerializer(serializers.Serializer):
    key = serializers.CharField()
    a = serializers.FloatField(allow_null=True, help_text="the first run's value; empty: not computed")
    b = serializers.FloatField(allow_null=True, help_text="the second run's value; empty: not computed")
    difference = serializers.FloatField(allow_null=True, help_text="b − a; empty when either is not computed")


class ComparedParameterSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="dotted name, e.g. demand.source or radii.art_school.urban_m")
    a = serializers.JSONField(allow_null=True)
    b = serializers.JSONField(allow_null=True)


class ComparedZoneSerializer(serializers.Serializer):
    region_kato = serializers.CharField(allow_null=True, help_text="empty for the national and outside rows")
    outside = serializers.BooleanField(help_text="the row of demand outside every district")
    national = serializers.BooleanField()
    numbers = ComparedNumberSerializer(many=True, help_text="keys: " + ", ".join(ZONE_KEYS))


class ComparedScenarioSerializer(serializers.Serializer):
    scenario = _enum(ZoneResult.Scenario.values)
    headline = ComparedNumberSerializer(many=True, help_text="keys: " + ", ".join(HEADLINE_KEYS))
    zones = ComparedZoneSerializer(many=True, help_text="regions (yours only for akimat users), outside, national")


class AccessibilityRunComparisonSerializer(serializers.Serializer):
    a = AccessibilityRunSerializer()
    b = AccessibilityRunSerializer()
    parameters = ComparedParameterSerializer(many=True, help_text="only the parameters that differ")
    scenarios = ComparedScenarioSerializer(many=True)


# --- results ---------------------------------------------------------------------------------------------------


class AccessibilityZoneRowSerializer(serializers.Serializer):
    scenario = _enum(ZoneResult.Scenario.values)
    region_kato = serializers.CharField(allow_null=True, help_text="empty for the national total and the outside row")
    district_kato = serializers.CharField(
        allow_null=True, help_text="empty for region and national totals and the outside row"
    )
    outside = serializers.BooleanField(
        help_text="the children outside every district (beyond the tolerance); the national total includes them"
    )
    children = serializers.FloatField()
    covered = serializers.FloatField(allow_null=True)
    uncovered = serializers.FloatField(allow_null=True)
    covered_pct = serializers.FloatField(allow_null=True, help_text="within reach, whatever the capacity")
    children_served = serializers.FloatField(
        allow_null=True, help_text="children given a place within reach and within the facilities' capacity"
    )
    children_over_capacity = serializers.FloatField(
        allow_null=True, help_text="children within reach of a facility whose capacity is taken"
    )
    children_not_covered = serializers.FloatField(allow_null=True, help_text="children no facility reaches")
    mean_distance_m = serializers.FloatField(allow_null=True)
    access_per_1000 = serializers.FloatField(allow_null=True)
    without_access = serializers.FloatField(allow_null=True)
    scale_factor = serializers.FloatField(allow_null=True)
    within_minutes = serializers.ListField(
        child=serializers.FloatField(),
        allow_null=True,
        help_text="travel-time runs: children within each threshold, in the order of parameters.travel.thresholds_min",
    )
    children_not_reachable = serializers.FloatField(
        allow_null=True, help_text="travel-time runs: children farther than travel.max_snap_m from every road"
    )


class AccessibilityZoneResultsSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    is_demo = serializers.BooleanField()
    results = AccessibilityZoneRowSerializer(many=True)


class AccessibilityDistanceBinSerializer(serializers.Serializer):
    scenario = _enum(ZoneResult.Scenario.values)
    lower_m = serializers.FloatField(allow_null=True, help_text="empty for the children with no facility at all")
    upper_m = serializers.FloatField(allow_null=True, help_text="empty: open-ended or no facility")
    no_facility = serializers.BooleanField()
    children = serializers.FloatField()


class AccessibilityDistancesSerializer(serializers.Serializer):
    run = serializers.IntegerField()
    results = AccessibilityDistanceBinSerializer(many=True)


class AccessibilityRasterSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    year = serializers.IntegerField()
    indicator = _enum(PopulationFigure.Indicator.values)
    children_bands = serializers.ListField(child=serializers.IntegerField(min_value=1))
    crs = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    source = serializers.CharField()
    is_demo = serializers.BooleanField()


class AccessibilityRasterListSerializer(serializers.Serializer):
    results = AccessibilityRasterSerializer(many=True)


def results_feature_collection(layer: str, description: str) -> dict:
    """The GeoJSON of a run's sites or areas: the layer's features (accessibility/collections.py) and the run id."""
    schema = feature_collection_schema(collection_get(layer))
    return {
        **schema,
        "description": description,
        "required": [*schema["required"], "run"],
        "properties": {**schema["properties"], "run": {"type": "integer"}},
    }
