"""Serializers of the accessibility REST API (api/v1/accessibility.py): they render every body the
views write and document it (drf-spectacular turns them into schema components), so the two
cannot drift apart; tests/accessibility/test_accessibility_openapi.py validates real responses.
Geometry in EPSG:4326 (RFC 7946, longitude first); distances in metres on the WGS 84
ellipsoid; children counts are floats (raster cells hold fractional people).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

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
            "kinds": {"type": "array", "items": {"type": "string"}, "description": "facility kind codes; empty: all"},
        },
        "which facilities count as present (a roadmap-effect run stores kinds only: it takes its own dates)",
        required=["kinds"],
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
        },
        "sites, underserved and roadmap are present for runs of that kind only, write_raster for a coverage run "
        "on a raster; radii of the kinds the run counts",
        required=["demand", "facilities", "radii", "region_ids"],
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
    summary = _object("headline figures of a finished run (a roadmap run: {before: {...}, after: {...}})")


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


# --- results ---------------------------------------------------------------------------------------------------


class AccessibilityZoneRowSerializer(serializers.Serializer):
    scenario = _enum(ZoneResult.Scenario.values)
    region_kato = serializers.CharField(allow_null=True, help_text="empty for the national total")
    district_kato = serializers.CharField(allow_null=True, help_text="empty for region and national totals")
    children = serializers.FloatField()
    covered = serializers.FloatField(allow_null=True)
    uncovered = serializers.FloatField(allow_null=True)
    covered_pct = serializers.FloatField(allow_null=True)
    mean_distance_m = serializers.FloatField(allow_null=True)
    access_per_1000 = serializers.FloatField(allow_null=True)
    without_access = serializers.FloatField(allow_null=True)
    scale_factor = serializers.FloatField(allow_null=True)


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
