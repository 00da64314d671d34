"""/api/v1/accessibility/: the accessibility analysis (token or session auth).

Planners and administrators create runs; every signed-in user with a role reads them (akimat
users: their region's rows). Bodies are rendered by the serializers of accessibility_schema.py,
which also document them; a run's sites and areas are the analysis-result layers
(accessibility/collections.py) of that run. Errors are problem details (api/errors.py).
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accessibility import comparison, geojson, selectors, services
from accessibility.models import AnalysisRun
from accessibility.notes import note_text
from api.common import ApiView
from api.errors import Invalid
from api.openapi import problem
from api.v1 import accessibility_schema as doc

ERROR_400 = problem("a parameter or a field of the body is not acceptable")
ERROR_401 = problem("not signed in (no session or token), or the token is not valid")
ERROR_403 = problem("the role does not allow this")
ERROR_404 = problem("no such analysis run for this user")
READ_ERRORS = {401: ERROR_401, 403: ERROR_403}
RUN_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="analysis run id")
SITES = doc.results_feature_collection("accessibility-sites", "candidate sites (EPSG:4326), best first")
AREAS = doc.results_feature_collection(
    "accessibility-areas", "underserved hexagons (EPSG:4326), most uncovered children first"
)
# Primary keys are bigints: a larger id in the URL names no run (and must not reach PostgreSQL).
_PK_MAX = 2**63 - 1


def _run_data(run: AnalysisRun, *, full: bool) -> dict:
    data = {
        "id": run.pk,
        "kind": run.kind,
        "status": run.status,
        "progress": run.progress,
        "progress_note": run.progress_note,
        "is_demo": run.is_demo,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "raster": run.raster_id,
        "repeat_of": run.repeat_of_id,
        "summary": run.summary,
        "travel": _travel(run),
    }
    if full:
        data.update(
            {
                "parameters": run.parameters,
                "inputs": run.inputs,
                "notes": [note_text(n) for n in run.notes],
                "error": run.error,
                "task_id": run.task_id,
            }
        )
    return data


def _travel(run: AnalysisRun) -> dict | None:
    """Thresholds in minutes and where the network came from (as stored when the run ran; its id before)."""
    params = run.parameters.get("travel")
    if not params:
        return None
    stored = (run.inputs or {}).get("travel") or {}
    return {
        "thresholds_min": params["thresholds_min"],
        "max_snap_m": params["max_snap_m"],
        **({"decay": params["decay"]} if "decay" in params else {}),
        "network": stored.get("network") or {"id": params["network"]},
        "off_network_kmh": stored.get("off_network_kmh"),
    }


def _run_detail(run: AnalysisRun) -> dict:
    return doc.AccessibilityRunDetailSerializer(_run_data(run, full=True)).data


def _parameter_invalid(exc: Exception, *, default_field: str) -> Invalid:
    """A 400 naming the parameter the service's message starts with ("demand.year: …"), else `default_field`."""
    text = str(exc)
    field = text.split(":", 1)[0] if ":" in text else default_field
    return Invalid.from_fields({field: [text]})


class AccessibilityView(ApiView):
    """Signed-in callers with a portal role (401 without credentials, 403 without a role)."""

    permission_classes = [IsAuthenticated]
    content_negotiation_class = DefaultContentNegotiation

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not selectors.user_can_read(request.user):
            raise exceptions.PermissionDenied("your role does not allow this")

    def run_or_404(self, request, pk: int) -> AnalysisRun:
        run = selectors.run_get(user=request.user, run_id=pk) if pk <= _PK_MAX else None
        if run is None:
            raise exceptions.NotFound(f"no analysis run {pk}")
        return run


class RunListView(AccessibilityView):
    @extend_schema(
        operation_id="accessibility_runs",
        summary="The latest 100 analysis runs",
        responses={200: doc.AccessibilityRunListSerializer, **READ_ERRORS},
        tags=["accessibility"],
    )
    def get(self, request):
        runs = [_run_data(r, full=False) for r in selectors.run_list(user=request.user)[:100]]
        return Response(doc.AccessibilityRunListSerializer({"results": runs}).data)

    @extend_schema(
        operation_id="accessibility_runs_create",
        summary="Queue an analysis run (planners and administrators)",
        request=doc.AccessibilityRunCreateSerializer,
        responses={
            201: OpenApiResponse(doc.AccessibilityRunDetailSerializer, description="the run, queued; poll its URL"),
            400: ERROR_400,
            **READ_ERRORS,
            415: problem("the body is not JSON or a form"),
        },
        tags=["accessibility"],
    )
    def post(self, request):
        """POST {"kind": ..., "parameters": {...}}: queue a run (planners, administrators)."""
        if not selectors.user_can_run(request.user):
            raise exceptions.PermissionDenied("your role does not allow this")
        body = request.data if isinstance(request.data, dict) else {}
        kind = body.get("kind")
        if not kind:
            raise Invalid.from_fields({"kind": ["required: one of " + ", ".join(AnalysisRun.Kind.values)]})
        try:
            run = services.analysis_run_create(kind=str(kind), parameters=body.get("parameters", {}), user=request.user)
        except services.RunParameterError as exc:
            raise _parameter_invalid(exc, default_field="parameters") from exc
        return Response(_run_detail(run), status=status.HTTP_201_CREATED)


class RunDetailView(AccessibilityView):
    @extend_schema(
        operation_id="accessibility_run_retrieve",
        summary="One analysis run with its parameters, inputs and notes",
        parameters=[RUN_ID],
        responses={200: doc.AccessibilityRunDetailSerializer, **READ_ERRORS, 404: ERROR_404},
        tags=["accessibility"],
    )
    def get(self, request, pk: int):
        """The run with its parameters, inputs, notes, status and progress (poll this while it runs)."""
        return Response(_run_detail(self.run_or_404(request, pk)))


class RunRepeatView(AccessibilityView):
    @extend_schema(
        operation_id="accessibility_run_repeat",
        summary="Repeat a run with one input changed (planners and administrators)",
        parameters=[RUN_ID],
        request=doc.AccessibilityRunRepeatSerializer,
        responses={
            201: OpenApiResponse(
                doc.AccessibilityRunDetailSerializer, description="the repeat, queued; compare it with the run"
            ),
            400: ERROR_400,
            **READ_ERRORS,
            404: ERROR_404,
            415: problem("the body is not JSON or a form"),
        },
        tags=["accessibility"],
    )
    def post(self, request, pk: int):
        """POST {"radii_factor": 0.5}, {"demand_source": "raster"} and the like: the run again with that change."""
        if not selectors.user_can_run(request.user):
            raise exceptions.PermissionDenied("your role does not allow this")
        run = self.run_or_404(request, pk)
        if not isinstance(request.data, dict):
            raise Invalid.from_fields({"change": ["must be a JSON object"]})
        try:
            new = services.analysis_run_repeat(run=run, change=dict(request.data), user=request.user)
        except services.RunParameterError as exc:
            raise _parameter_invalid(exc, default_field="change") from exc
        return Response(_run_detail(new), status=status.HTTP_201_CREATED)


class RunCompareView(AccessibilityView):
    @extend_schema(
        operation_id="accessibility_run_compare",
        summary="Two runs side by side: differing parameters, headline numbers and numbers per region",
        parameters=[
            RUN_ID,
            OpenApiParameter("other", OpenApiTypes.INT, OpenApiParameter.PATH, description="the other run's id"),
        ],
        responses={200: doc.AccessibilityRunComparisonSerializer, **READ_ERRORS, 404: ERROR_404},
        tags=["accessibility"],
    )
    def get(self, request, pk: int, other: int):
        """Runs `id` (a) and `other` (b): the parameters that differ, and children served, over capacity,
        not covered and within reach of both with the difference b − a, nationally and per region."""
        a, b = self.run_or_404(request, pk), self.run_or_404(request, other)
        found = comparison.run_comparison(user=request.user, a=a, b=b)
        body = {
            "a": _run_data(a, full=False),
            "b": _run_data(b, full=False),
            "parameters": found["parameters"],
            "scenarios": [
                {
                    "scenario": s["scenario"],
                    "headline": s["headline"],
                    "zones": [
                        {
                            "region_kato": z["region"].kato if z["region"] else None,
                            "outside": z["outside"],
                            "national": z["national"],
                            "numbers": z["numbers"],
                        }
                        for z in s["zones"]
                    ],
                }
                for s in found["scenarios"]
            ],
        }
        return Response(doc.AccessibilityRunComparisonSerializer(body).data)


class RunZonesView(AccessibilityView):
    @extend_schema(
        operation_id="accessibility_run_zones",
        summary="Children, coverage and access per region or district of a run",
        parameters=[
            RUN_ID,
            OpenApiParameter(
                "level",
                str,
                enum=["region", "district", "national", "outside", "all"],
                description="region totals (default), districts, the national total, the row of the children "
                "outside every district or every row",
            ),
            OpenApiParameter("scenario", str, enum=["current", "before", "after"], description="omitted: every one"),
        ],
        responses={200: doc.AccessibilityZoneResultsSerializer, 400: ERROR_400, **READ_ERRORS, 404: ERROR_404},
        tags=["accessibility"],
    )
    def get(self, request, pk: int):
        """Rows per region/district: ?level=region|district|national|outside|all&scenario=current|before|after."""
        run = self.run_or_404(request, pk)
        level = request.query_params.get("level", "region")
        if level not in ("region", "district", "national", "outside", "all"):
            raise Invalid.from_fields({"level": ["must be region, district, national, outside or all"]})
        scenario = request.query_params.get("scenario") or None
        if scenario and scenario not in ("current", "before", "after"):
            raise Invalid.from_fields({"scenario": ["must be current, before or after"]})
        rows = selectors.zone_results(user=request.user, run=run, scenario=scenario, level=level)
        results = [
            {
                "scenario": r.scenario,
                "region_kato": r.region.kato if r.region else None,
                "district_kato": r.district.kato if r.district else None,
                "outside": r.outside,
                "children": r.children,
                "covered": r.covered,
                "uncovered": r.uncovered,
                "covered_pct": r.covered_pct,
                "children_served": r.served,
                "children_over_capacity": r.over_capacity,
                "children_not_covered": r.not_covered,
                "mean_distance_m": r.mean_distance_m,
                "access_per_1000": r.access_per_1000,
                "without_access": r.without_access,
                "scale_factor": r.scale_factor,
                "within_minutes": r.within_minutes,
                "children_not_reachable": r.not_reachable,
            }
            for r in rows
        ]
        body = {"run": run.pk, "is_demo": run.is_demo, "results": results}
        return Response(doc.AccessibilityZoneResultsSerializer(body).data)


class RunDistancesView(AccessibilityView):
    @extend_schema(
        operation_id="accessibility_run_distances",
        summary="Children by distance to the nearest facility (metres)",
        parameters=[RUN_ID],
        responses={200: doc.AccessibilityDistancesSerializer, **READ_ERRORS, 404: ERROR_404},
        tags=["accessibility"],
    )
    def get(self, request, pk: int):
        run = self.run_or_404(request, pk)
        results = [
            {
                "scenario": b.scenario,
                "lower_m": b.lower_m if b.lower_m >= 0 else None,
                "upper_m": b.upper_m,
                "no_facility": b.lower_m < 0,
                "children": b.children,
            }
            for b in run.distance_bins.all()
        ]
        return Response(doc.AccessibilityDistancesSerializer({"run": run.pk, "results": results}).data)


class RunSitesView(AccessibilityView):
    @extend_schema(
        operation_id="accessibility_run_sites",
        summary="Candidate sites of a best-sites run (GeoJSON, EPSG:4326)",
        parameters=[
            RUN_ID,
            OpenApiParameter(
                "selected",
                str,
                enum=["true", "false", "1", "0"],
                description="true or 1: only the sites chosen, in the order chosen",
            ),
        ],
        responses={
            (200, "application/geo+json"): OpenApiResponse(SITES, description="GeoJSON FeatureCollection"),
            400: ERROR_400,
            **READ_ERRORS,
            404: ERROR_404,
        },
        tags=["accessibility"],
    )
    def get(self, request, pk: int):
        """Every candidate as GeoJSON (rank, children added alone, order chosen and gain when selected)."""
        run = self.run_or_404(request, pk)
        raw = request.query_params.get("selected", "false")
        if raw not in ("true", "false", "1", "0"):
            raise Invalid.from_fields({"selected": ["must be true, false, 1 or 0"]})
        body = geojson.sites_geojson(user=request.user, run=run, selected_only=raw in ("1", "true"))
        return HttpResponse(body, content_type="application/geo+json")


class RunAreasView(AccessibilityView):
    @extend_schema(
        operation_id="accessibility_run_areas",
        summary="Underserved hexagons of a run (GeoJSON, EPSG:4326)",
        parameters=[RUN_ID],
        responses={
            (200, "application/geo+json"): OpenApiResponse(AREAS, description="GeoJSON FeatureCollection"),
            **READ_ERRORS,
            404: ERROR_404,
        },
        tags=["accessibility"],
    )
    def get(self, request, pk: int):
        """Underserved hexagons as GeoJSON (EPSG:4326), most uncovered children first."""
        body = geojson.areas_geojson(user=request.user, run=self.run_or_404(request, pk))
        return HttpResponse(body, content_type="application/geo+json")


class RasterListView(AccessibilityView):
    @extend_schema(
        operation_id="accessibility_rasters",
        summary="Registered population rasters",
        responses={200: doc.AccessibilityRasterListSerializer, **READ_ERRORS},
        tags=["accessibility"],
    )
    def get(self, request):
        rasters = [
            {
                "id": r.pk,
                "name": r.name,
                "year": r.year,
                "indicator": r.indicator,
                "children_bands": r.children_bands,
                "crs": r.crs_name,
                "width": r.width,
                "height": r.height,
                "source": r.source,
                "is_demo": r.is_demo,
            }
            for r in selectors.raster_list()
        ]
        return Response(doc.AccessibilityRasterListSerializer({"results": rasters}).data)


class ParametersView(AccessibilityView):
    @extend_schema(
        operation_id="accessibility_parameters_default",
        summary="The complete parameters a run of a kind uses by default",
        parameters=[OpenApiParameter("kind", str, enum=list(AnalysisRun.Kind.values), required=True)],
        responses={
            200: OpenApiResponse(doc.PARAMETERS, description="the parameters, every default filled in"),
            400: ERROR_400,
            **READ_ERRORS,
        },
        tags=["accessibility"],
    )
    def get(self, request):
        """The complete parameters a run of `kind` would use if none were given: the schema, by example."""
        try:
            params = services.run_parameters_normalise(kind=request.query_params.get("kind", ""), raw={})
        except services.RunParameterError as exc:
            raise Invalid.from_fields({"kind": [str(exc)]}) from exc
        return Response(params)
