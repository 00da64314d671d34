"""REST API of the accessibility analysis (mounted under /api/v1/accessibility/).

Planners and administrators create runs; every signed-in user with a role reads them
(akimat users: their region's rows). Errors are HTTP 400 with {"errors": {field: [message]}}.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accessibility import api_schema as doc
from accessibility import geojson, selectors, services
from accessibility.models import AnalysisRun
from accessibility.notes import note_text


def _run_json(run: AnalysisRun, *, full: bool) -> dict:
    data = {
        "id": run.pk,
        "kind": run.kind,
        "status": run.status,
        "progress": run.progress,
        "progress_note": run.progress_note,
        "is_demo": run.is_demo,
        "created_at": run.created_at.isoformat(),
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "raster": run.raster_id,
        "summary": run.summary,
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


def _forbidden() -> Response:
    return Response({"errors": {"__all__": ["your role does not allow this"]}}, status=status.HTTP_403_FORBIDDEN)


# Primary keys are bigints: a larger id in the URL names no run (and must not reach PostgreSQL).
_PK_MAX = 2**63 - 1


def _run_or_404(request, pk: int):
    run = selectors.run_get(user=request.user, run_id=pk) if pk <= _PK_MAX else None
    if run is None:
        return None, Response({"errors": {"__all__": [f"no analysis run {pk}"]}}, status=status.HTTP_404_NOT_FOUND)
    return run, None


RUN_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="analysis run id")


@extend_schema(
    operation_id="accessibility_runs",
    methods=["GET"],
    summary="The latest 100 analysis runs",
    responses={200: doc.AccessibilityRunListSerializer, 403: doc.ERROR_403},
    tags=["accessibility"],
)
@extend_schema(
    operation_id="accessibility_runs_create",
    methods=["POST"],
    summary="Queue an analysis run (planners and administrators)",
    request=doc.AccessibilityRunCreateSerializer,
    responses={
        201: OpenApiResponse(doc.AccessibilityRunDetailSerializer, description="the run, queued; poll its URL"),
        400: doc.ERROR_400,
        403: doc.ERROR_403,
        415: OpenApiResponse(doc.AccessibilityErrorSerializer, description="the body is not JSON or a form"),
    },
    tags=["accessibility"],
)
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticated])
def runs(request):
    """GET: the latest 100 runs. POST {"kind": ..., "parameters": {...}}: queue a run (planners, admin)."""
    if request.method == "GET":
        if not selectors.user_can_read(request.user):
            return _forbidden()
        return Response({"results": [_run_json(r, full=False) for r in selectors.run_list(user=request.user)[:100]]})
    if not selectors.user_can_run(request.user):
        return _forbidden()
    body = request.data if isinstance(request.data, dict) else {}
    kind = body.get("kind")
    parameters = body.get("parameters", {})
    if not kind:
        return Response(
            {"errors": {"kind": ["required: one of " + ", ".join(AnalysisRun.Kind.values)]}},
            status=status.HTTP_400_BAD_REQUEST,
        )
    try:
        run = services.analysis_run_create(kind=str(kind), parameters=parameters, user=request.user)
    except services.RunParameterError as exc:
        field = str(exc).split(":", 1)[0] if ":" in str(exc) else "parameters"
        return Response({"errors": {field: [str(exc)]}}, status=status.HTTP_400_BAD_REQUEST)
    return Response(_run_json(run, full=True), status=status.HTTP_201_CREATED)


@extend_schema(
    operation_id="accessibility_run_retrieve",
    summary="One analysis run with its parameters, inputs and notes",
    parameters=[RUN_ID],
    responses={200: doc.AccessibilityRunDetailSerializer, 403: doc.ERROR_403, 404: doc.ERROR_404},
    tags=["accessibility"],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def run_detail(request, pk: int):
    """The run with its parameters, inputs, notes, status and progress (poll this while it runs)."""
    run, error = _run_or_404(request, pk)
    return error or Response(_run_json(run, full=True))


@extend_schema(
    operation_id="accessibility_run_zones",
    summary="Children, coverage and access per region or district of a run",
    parameters=[
        RUN_ID,
        OpenApiParameter(
            "level",
            str,
            enum=["region", "district", "national", "all"],
            description="region totals (default), districts, the national total or every row",
        ),
        OpenApiParameter("scenario", str, enum=["current", "before", "after"], description="omitted: every one"),
    ],
    responses={200: doc.AccessibilityZoneResultsSerializer, 400: doc.ERROR_400, 403: doc.ERROR_403, 404: doc.ERROR_404},
    tags=["accessibility"],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def run_zones(request, pk: int):
    """Rows per region/district: ?level=region|district|national|all&scenario=current|before|after."""
    run, error = _run_or_404(request, pk)
    if error:
        return error
    level = request.query_params.get("level", "region")
    if level not in ("region", "district", "national", "all"):
        return Response(
            {"errors": {"level": ["must be region, district, national or all"]}}, status=status.HTTP_400_BAD_REQUEST
        )
    scenario = request.query_params.get("scenario") or None
    if scenario and scenario not in ("current", "before", "after"):
        return Response(
            {"errors": {"scenario": ["must be current, before or after"]}}, status=status.HTTP_400_BAD_REQUEST
        )
    rows = selectors.zone_results(user=request.user, run=run, scenario=scenario, level=level)
    return Response(
        {
            "run": run.pk,
            "is_demo": run.is_demo,
            "results": [
                {
                    "scenario": r.scenario,
                    "region_kato": r.region.kato if r.region else None,
                    "district_kato": r.district.kato if r.district else None,
                    "children": r.children,
                    "covered": r.covered,
                    "uncovered": r.uncovered,
                    "covered_pct": r.covered_pct,
                    "mean_distance_m": r.mean_distance_m,
                    "access_per_1000": r.access_per_1000,
                    "without_access": r.without_access,
                    "scale_factor": r.scale_factor,
                }
                for r in rows
            ],
        }
    )


@extend_schema(
    operation_id="accessibility_run_distances",
    summary="Children by distance to the nearest facility (metres)",
    parameters=[RUN_ID],
    responses={200: doc.AccessibilityDistancesSerializer, 403: doc.ERROR_403, 404: doc.ERROR_404},
    tags=["accessibility"],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def run_distances(request, pk: int):
    run, error = _run_or_404(request, pk)
    if error:
        return error
    return Response(
        {
            "run": run.pk,
            "results": [
                {
                    "scenario": b.scenario,
                    "lower_m": b.lower_m if b.lower_m >= 0 else None,
                    "upper_m": b.upper_m,
                    "no_facility": b.lower_m < 0,
                    "children": b.children,
                }
                for b in run.distance_bins.all()
            ],
        }
    )


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
        (200, "application/geo+json"): OpenApiResponse(doc.SITES, description="GeoJSON FeatureCollection"),
        (403, "application/json"): doc.ERROR_403,
        (404, "application/json"): doc.ERROR_404,
    },
    tags=["accessibility"],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def run_sites(request, pk: int):
    """Every candidate as GeoJSON (rank, children added alone, order chosen and gain when selected)."""
    run, error = _run_or_404(request, pk)
    if error:
        return error
    raw = request.query_params.get("selected", "false")
    if raw not in ("true", "false", "1", "0"):
        return Response({"selected": ["must be true, false, 1 or 0"]}, status=400)
    selected = raw in ("1", "true")
    body = geojson.sites_geojson(user=request.user, run=run, selected_only=selected)
    return HttpResponse(body, content_type="application/geo+json")


@extend_schema(
    operation_id="accessibility_run_areas",
    summary="Underserved hexagons of a run (GeoJSON, EPSG:4326)",
    parameters=[RUN_ID],
    responses={
        (200, "application/geo+json"): OpenApiResponse(doc.AREAS, description="GeoJSON FeatureCollection"),
        (403, "application/json"): doc.ERROR_403,
        (404, "application/json"): doc.ERROR_404,
    },
    tags=["accessibility"],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def run_areas(request, pk: int):
    """Underserved hexagons as GeoJSON (EPSG:4326), most uncovered children first."""
    run, error = _run_or_404(request, pk)
    if error:
        return error
    return HttpResponse(geojson.areas_geojson(user=request.user, run=run), content_type="application/geo+json")


@extend_schema(
    operation_id="accessibility_rasters",
    summary="Registered population rasters",
    responses={200: doc.AccessibilityRasterListSerializer, 403: doc.ERROR_403},
    tags=["accessibility"],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def rasters(request):
    if not selectors.user_can_read(request.user):
        return _forbidden()
    return Response(
        {
            "results": [
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
        }
    )


@extend_schema(
    operation_id="accessibility_parameters_default",
    summary="The complete parameters a run of a kind uses by default",
    parameters=[OpenApiParameter("kind", str, enum=list(AnalysisRun.Kind.values), required=True)],
    responses={
        200: OpenApiResponse(doc.PARAMETERS, description="the parameters, every default filled in"),
        400: doc.ERROR_400,
        403: doc.ERROR_403,
    },
    tags=["accessibility"],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def parameters_default(request):
    """The complete parameters a run of `kind` would use if none were given: the schema, by example."""
    if not selectors.user_can_read(request.user):
        return _forbidden()
    try:
        params = services.run_parameters_normalise(kind=request.query_params.get("kind", ""), raw={})
    except services.RunParameterError as exc:
        return Response({"errors": {"kind": [str(exc)]}}, status=status.HTTP_400_BAD_REQUEST)
    return Response(params)
