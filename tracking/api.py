"""REST API of tracking (token or session auth). Errors: 400 with {"errors": {field: [..]}},
403 outside the user's region (and for anonymous clients: {"detail": ..}), 404 unknown facility or
plan, 409 on a stale `version`.

Plans and stage records are plain JSON pages (`count`, `next`, `previous`, `results`). The
serializers below document every body in the OpenAPI schema; the OpenAPI texts are API-only English.
"""

from __future__ import annotations

from datetime import date

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.permissions import Action, can, scope_queryset
from facilities.models import Facility
from tracking import selectors, services
from tracking.forms import validate_upload
from tracking.models import PLAN_MEASURES, STAGE_ORDER, Plan, Stage, TrackedFacility

KATO_PATTERN = r"^[0-9]{9}$"
STAGE_REACHED_CHOICES = [*STAGE_ORDER, "none"]
RISK_CODES = [rule.code for rule in selectors.RISK_RULES] + ["slipped"]


def _ordering_choices(allowed: dict[str, str]) -> list[str]:
    return [*allowed, *(f"-{name}" for name in allowed)]


class _EnumField(serializers.ChoiceField):
    """A ChoiceField over `values`, documented as the enum component `component` (see _EnumFieldExtension)."""

    values: list[str] = []
    component = ""

    def __init__(self, **kwargs):
        super().__init__(choices=self.values, **kwargs)


class _EnumFieldExtension(OpenApiSerializerFieldExtension):
    """Names the enum components of tracking itself: drf-spectacular names enums after the field, and the
    names `status` and `stage` recur across apps with other values (its names would then collide)."""

    target_class = _EnumField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        component = ResolvedComponent(
            name=field.component,
            type=ResolvedComponent.SCHEMA,
            object=field.component,
            schema={"type": "string", "enum": list(field.values)},
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


class StageCodeField(_EnumField):
    values = STAGE_ORDER
    component = "TrackingStageEnum"


class StageReachedField(_EnumField):
    values = STAGE_REACHED_CHOICES
    component = "TrackingStageReachedEnum"


class FacilityStatusField(_EnumField):
    values = selectors.STATUS_ORDER
    component = "TrackingFacilityStatusEnum"


class PlanStatusField(_EnumField):
    values = Plan.Status.values
    component = "TrackingPlanStatusEnum"


class RiskCodeField(_EnumField):
    values = RISK_CODES
    component = "TrackingRiskEnum"


class Pagination(LimitOffsetPagination):
    """`limit`/`offset` pages with `count`, `next` and `previous`, as the plain resources of api/rest.py."""

    default_limit = 100
    max_limit = 1000


# --- query parameters ----------------------------------------------------------------------------


class QueryParamsSerializer(serializers.Serializer):
    """Query parameters: an empty value (`?region=`) is a 400, not "no filter".

    DRF reads form-style input, where an empty optional field counts as omitted; in a
    query string it is more likely a client's bug (a variable that was never filled).
    """

    def to_internal_value(self, data):
        blank = [name for name in self.fields if name in data and data.get(name) == ""]
        if blank:
            message = serializers.CharField.default_error_messages["blank"]
            raise serializers.ValidationError({name: [message] for name in blank})
        return super().to_internal_value(data)


class AsOfSerializer(QueryParamsSerializer):
    as_of = serializers.DateField(required=False, help_text="status as of this date (default today)")
    known_at = serializers.DateField(required=False, help_text="count only records entered by the end of this day")
    region = serializers.RegexField(KATO_PATTERN, required=False, help_text="region KATO code (9 digits)")


class PageQuerySerializer(QueryParamsSerializer):
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=Pagination.max_limit, help_text="page size (1–1000, default 100)"
    )
    offset = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000, help_text="rows to skip")


class PlanFilterSerializer(QueryParamsSerializer):
    region = serializers.RegexField(
        KATO_PATTERN, required=False, help_text="only rows of this region (KATO code, 9 digits)"
    )
    year = serializers.IntegerField(required=False, min_value=2024, max_value=2026, help_text="only rows of this year")


class PlanQuerySerializer(PageQuerySerializer, PlanFilterSerializer):
    plan_measure = serializers.ChoiceField(
        choices=sorted(PLAN_MEASURES), required=False, help_text="12 (health centres) or 13 (creative objects)"
    )
    status = PlanStatusField(required=False, help_text="plan status")
    ordering = serializers.ChoiceField(
        choices=_ordering_choices(selectors.PLAN_ORDERING),
        required=False,
        default="id",
        help_text="sort key; '-' first for descending",
    )


class StageRecordQuerySerializer(PageQuerySerializer):
    facility = serializers.IntegerField(
        required=False, min_value=1, max_value=2**31 - 1, help_text="facility id (as in /tracking/facilities/)"
    )
    region = serializers.RegexField(KATO_PATTERN, required=False, help_text="region KATO code (9 digits)")
    measure = serializers.IntegerField(required=False, min_value=14, max_value=26, help_text="measure number, 14–26")
    stage = StageCodeField(required=False)
    updated_since = serializers.DateTimeField(
        required=False, help_text="records entered at or after this ISO 8601 instant (the API-wide name)"
    )
    recorded_since = serializers.DateTimeField(required=False, help_text="synonym of updated_since")
    ordering = serializers.ChoiceField(
        choices=_ordering_choices(selectors.STAGE_RECORD_ORDERING),
        required=False,
        default="recorded_at",
        help_text="sort key; '-' first for descending",
    )

    def validate(self, attrs):
        if "updated_since" in attrs and "recorded_since" in attrs:
            raise serializers.ValidationError({"recorded_since": [_("give updated_since or recorded_since, not both")]})
        return attrs


# --- bodies (documentation of what the views return) ---------------------------------------------


class ErrorSerializer(serializers.Serializer):
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="problems by field or parameter name (`__all__` for the request as a whole)",
    )
    detail = serializers.CharField(
        required=False, help_text="refusals made before the view runs: not signed in, unknown `format`, bad body"
    )


class FacilityStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="facility id")
    tracking_id = serializers.IntegerField()
    version = serializers.IntegerField(help_text="optimistic lock: send it back when recording a stage")
    name = serializers.CharField()
    measure = serializers.IntegerField()
    region = serializers.CharField(help_text="region KATO code")
    is_demo = serializers.BooleanField()
    deadline = serializers.DateField()
    target_stage = StageCodeField()
    status = FacilityStatusField()
    stage_reached = StageReachedField()
    percent = serializers.IntegerField(allow_null=True)
    executor = serializers.CharField(allow_blank=True)
    stages = serializers.DictField(child=serializers.DateField(), help_text="stage code → actual date reached")
    planned = serializers.DictField(child=serializers.DateField(), help_text="stage code → planned date")
    risks = serializers.ListField(child=RiskCodeField())


class FacilityListSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    count = serializers.IntegerField()
    results = FacilityStatusSerializer(many=True)


class FacilityRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    stage = StageCodeField()
    planned_date = serializers.DateField(allow_null=True)
    actual_date = serializers.DateField(allow_null=True)
    percent = serializers.IntegerField(allow_null=True)
    doc_number = serializers.CharField(allow_blank=True)
    doc_date = serializers.DateField(allow_null=True)
    executor = serializers.CharField(allow_blank=True)
    recorded_at = serializers.DateTimeField()


class FacilityDetailSerializer(FacilityStatusSerializer):
    records = FacilityRecordSerializer(many=True, help_text="every stage record, oldest first")


class StageCreatedSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="id of the new stage record")
    stage = StageCodeField()
    version = serializers.IntegerField(help_text="the facility's new version")
    recorded_at = serializers.DateTimeField()


class StatusesSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    statuses = serializers.DictField(child=FacilityStatusField(), help_text="facility id → status code")
    stages = serializers.DictField(child=StageReachedField(), help_text="facility id → furthest stage reached")


class PlanItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    measure = serializers.IntegerField(source="measure_id")
    region = serializers.CharField(source="region.kato", help_text="region KATO code")
    district = serializers.CharField(source="district.kato", allow_null=True, help_text="district KATO code")
    year = serializers.IntegerField()
    count = serializers.IntegerField(help_text="number of objects")
    ppp_count = serializers.IntegerField(help_text="of them public-private partnership")
    places_each = serializers.IntegerField()


class PlanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    plan_measure = serializers.IntegerField(source="plan_measure_id", help_text="12 or 13")
    version = serializers.IntegerField()
    status = PlanStatusField()
    note = serializers.CharField(allow_blank=True)
    is_demo = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    checked_at = serializers.DateTimeField(allow_null=True)
    approved_at = serializers.DateTimeField(allow_null=True)
    items_count = serializers.IntegerField(help_text="rows the caller may view (and that match region/year)")
    objects_count = serializers.IntegerField(help_text="objects in those rows")
    ppp_objects_count = serializers.IntegerField(help_text="PPP objects in those rows")


class PlanDetailSerializer(PlanSerializer):
    items = PlanItemSerializer(many=True, source="visible_items", help_text="the rows the caller may view")


class StageRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    facility = serializers.IntegerField(source="facility_pk", help_text="facility id")
    region = serializers.CharField(source="region_kato", help_text="region KATO code")
    measure = serializers.IntegerField(source="measure_number")
    is_demo = serializers.BooleanField(source="tracked_is_demo")
    stage = StageCodeField()
    planned_date = serializers.DateField(allow_null=True)
    actual_date = serializers.DateField(allow_null=True)
    percent = serializers.IntegerField(allow_null=True)
    places_in_use = serializers.IntegerField(allow_null=True)
    doc_number = serializers.CharField(allow_blank=True)
    doc_date = serializers.DateField(allow_null=True)
    has_doc_file = serializers.BooleanField()
    has_photo = serializers.BooleanField()
    executor = serializers.CharField(allow_blank=True)
    note = serializers.CharField(allow_blank=True)
    recorded_at = serializers.DateTimeField(help_text="when the portal learnt it")


class _PageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="rows matching the filters")
    next = serializers.URLField(allow_null=True, help_text="the next page, null on the last")
    previous = serializers.URLField(allow_null=True, help_text="the previous page, null on the first")


class PlanPageSerializer(_PageSerializer):
    results = PlanSerializer(many=True)


class StageRecordPageSerializer(_PageSerializer):
    results = StageRecordSerializer(many=True)


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=description)


BAD_PARAMS = _error("a query parameter is not acceptable: `errors` names it")
NOT_SIGNED_IN = "not signed in (no session or token; `detail`)"
NOT_ACCEPTABLE = _error("the Accept header names no JSON or HTML output")


class StageRecordInSerializer(serializers.Serializer):
    stage = serializers.ChoiceField(choices=Stage.choices)
    version = serializers.IntegerField(min_value=1)
    planned_date = serializers.DateField(required=False, allow_null=True)
    actual_date = serializers.DateField(required=False, allow_null=True)
    percent = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=100)
    places_in_use = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    doc_number = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    doc_date = serializers.DateField(required=False, allow_null=True)
    doc_file = serializers.FileField(required=False, allow_null=True, validators=[validate_upload])
    photo = serializers.FileField(required=False, allow_null=True, validators=[validate_upload])
    executor = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")
    overdue_reason = serializers.CharField(required=False, allow_blank=True, allow_null=True, default=None)

    def validate_doc_file(self, value):
        from django import forms

        from tracking.forms import validate_upload

        try:
            validate_upload(value)
        except forms.ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value

    validate_photo = validate_doc_file


def _bad(errors) -> Response:
    return Response({"errors": errors}, status=status.HTTP_400_BAD_REQUEST)


def _facility_json(f: Facility, s: selectors.FacilityState) -> dict:
    return {
        "id": f.id,
        "tracking_id": f.tracking.id,
        "version": f.tracking.version,
        "name": f.name,
        "measure": f.measure_id,
        "region": f.region.kato,
        "is_demo": f.is_demo,
        "deadline": s.deadline.isoformat(),
        "target_stage": s.target_stage,
        "status": s.status,
        "stage_reached": s.stage_reached,
        "percent": s.percent,
        "executor": s.executor,
        "stages": {st: d.isoformat() for st, d in s.reached.items()},
        "planned": {st: d.isoformat() for st, d in s.planned.items()},
        "risks": s.risks,
    }


@extend_schema(
    operation_id="tracking_facilities_list",
    parameters=[AsOfSerializer],
    responses={
        200: OpenApiResponse(FacilityListSerializer, description="tracked facilities with their status"),
        400: BAD_PARAMS,
        403: _error(NOT_SIGNED_IN),
        404: _error("`format` names no output format"),
        406: NOT_ACCEPTABLE,
    },
    tags=["tracking"],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def facility_list(request):
    """Tracked facilities the user may view, with status and stage as of `as_of` (default today)."""
    params = AsOfSerializer(data=request.query_params)
    if not params.is_valid():
        return _bad(params.errors)
    as_of = params.validated_data.get("as_of") or timezone.localdate()
    known_at = params.validated_data.get("known_at")
    qs = scope_queryset(
        request.user, Facility.objects.filter(tracking__in_plan=True), action=Action.VIEW
    ).select_related("region", "tracking")
    if params.validated_data.get("region"):
        qs = qs.filter(region__kato=params.validated_data["region"])
    facilities = list(qs.order_by("measure_id", "region__kato", "id"))
    states = selectors.facility_states_as_of(as_of=as_of, known_at=known_at, facility_ids=[f.id for f in facilities])
    return Response(
        {
            "as_of": as_of.isoformat(),
            "count": len(facilities),
            "results": [_facility_json(f, states[f.id]) for f in facilities],
        }
    )


@extend_schema(
    operation_id="tracking_facility_retrieve",
    parameters=[AsOfSerializer],
    responses={
        200: OpenApiResponse(FacilityDetailSerializer, description="the facility with every stage record"),
        400: BAD_PARAMS,
        403: _error(NOT_SIGNED_IN + ", or a facility of another region (`errors`)"),
        404: _error("no tracked facility with this id, or `format` names no output format"),
        406: NOT_ACCEPTABLE,
    },
    tags=["tracking"],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def facility_detail(request, pk: int):
    tracked = get_object_or_404(TrackedFacility.objects.select_related("facility__region"), facility_id=pk)
    f = tracked.facility
    if not can(request.user, Action.VIEW, region_id=f.region_id):
        return Response(
            {"errors": {"__all__": [_("you may view only your own region")]}}, status=status.HTTP_403_FORBIDDEN
        )
    params = AsOfSerializer(data=request.query_params)
    if not params.is_valid():
        return _bad(params.errors)
    as_of = params.validated_data.get("as_of") or timezone.localdate()
    state = selectors.facility_states_as_of(
        as_of=as_of, known_at=params.validated_data.get("known_at"), facility_ids=[f.id]
    )[f.id]
    data = _facility_json(f, state)
    data["records"] = [
        {
            "id": r.id,
            "stage": r.stage,
            "planned_date": r.planned_date,
            "actual_date": r.actual_date,
            "percent": r.percent,
            "doc_number": r.doc_number,
            "doc_date": r.doc_date,
            "executor": r.executor,
            "recorded_at": r.recorded_at,
        }
        for r in tracked.records.order_by("recorded_at", "id")
    ]
    return Response(data)


@extend_schema(
    operation_id="tracking_facility_stages_create",
    request=StageRecordInSerializer,
    responses={
        201: OpenApiResponse(StageCreatedSerializer, description="recorded"),
        400: _error("the record breaks a rule (order of stages, dates, document): `errors` names each field"),
        403: _error(NOT_SIGNED_IN + ", or the caller may not edit this region's facilities (`errors`)"),
        404: _error("no tracked facility with this id"),
        406: NOT_ACCEPTABLE,
        409: _error("`version` is stale: the facility changed since it was read (`errors.version`)"),
        415: _error("the body is neither JSON, multipart nor form data"),
    },
    tags=["tracking"],
)
@api_view(["POST"])
@permission_classes([IsAuthenticated])
@parser_classes([JSONParser, MultiPartParser, FormParser])
def stage_create(request, pk: int):
    """Record a stage of facility `pk` (planned/actual date, document, or a progress update)."""
    tracked = get_object_or_404(TrackedFacility.objects.select_related("facility"), facility_id=pk)
    if not can(request.user, Action.EDIT, region_id=tracked.facility.region_id):
        return Response(
            {"errors": {"__all__": [_("you may update only the facilities of your own region")]}},
            status=status.HTTP_403_FORBIDDEN,
        )
    body = StageRecordInSerializer(data=request.data)
    if not body.is_valid():
        return _bad(body.errors)
    try:
        record = services.stage_record_add(tracked=tracked, user=request.user, **body.validated_data)
    except services.StaleVersionError as exc:
        return Response({"errors": exc.problems}, status=status.HTTP_409_CONFLICT)
    except services.PermissionDeniedError as exc:
        return Response({"errors": exc.problems}, status=status.HTTP_403_FORBIDDEN)
    except services.TrackingError as exc:
        return _bad(exc.problems)
    tracked.refresh_from_db()
    return Response(
        {"id": record.id, "stage": record.stage, "version": tracked.version, "recorded_at": record.recorded_at},
        status=status.HTTP_201_CREATED,
    )


@extend_schema(
    operation_id="tracking_statuses_retrieve",
    parameters=[AsOfSerializer],
    responses={
        200: OpenApiResponse(StatusesSerializer, description="status and stage per facility"),
        400: BAD_PARAMS,
        403: _error(NOT_SIGNED_IN),
        404: _error("`format` names no output format"),
        406: NOT_ACCEPTABLE,
    },
    tags=["tracking"],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def statuses(request):
    """{facility id: status} and {facility id: stage reached} as of a date, for the user's scope."""
    params = AsOfSerializer(data=request.query_params)
    if not params.is_valid():
        return _bad(params.errors)
    as_of: date = params.validated_data.get("as_of") or timezone.localdate()
    ids = list(
        scope_queryset(request.user, Facility.objects.filter(tracking__in_plan=True), action=Action.VIEW).values_list(
            "id", flat=True
        )
    )
    states = selectors.facility_states_as_of(
        as_of=as_of, known_at=params.validated_data.get("known_at"), facility_ids=ids
    )
    return Response(
        {
            "as_of": as_of.isoformat(),
            "statuses": {str(k): s.status for k, s in states.items()},
            "stages": {str(k): s.stage_reached for k, s in states.items()},
        }
    )


# --- plans and stage records (issue 6) -----------------------------------------------------------


def _query(params: serializers.Serializer) -> tuple[dict | None, Response | None]:
    """The validated query parameters, or a 400 naming each unknown or unacceptable one."""
    allowed = set(params.fields) | {"format"}  # `format` is DRF's own (json or api)
    unknown = [name for name in params.initial_data if name not in allowed]
    if unknown:
        message = _("unknown parameter; allowed: %(names)s") % {"names": ", ".join(sorted(allowed))}
        # Names are echoed back cut short: they are the client's text.
        return None, _bad({name[:40]: [message] for name in unknown})
    if not params.is_valid():
        return None, _bad(params.errors)
    return params.validated_data, None


@extend_schema(
    operation_id="tracking_plans_list",
    summary="Consolidated plans (measures 12 and 13)",
    description="Every version of the plans. Plans are national, so every role reads them; the row counts "
    "cover the rows the caller may view (akimat users: their own region's), narrowed by `region` and `year` "
    "(which also keep only the plans that have such rows).",
    parameters=[PlanQuerySerializer],
    responses={
        200: OpenApiResponse(PlanPageSerializer, description="a page of plans"),
        400: BAD_PARAMS,
        403: _error(NOT_SIGNED_IN),
        404: _error("`format` names no output format"),
        406: NOT_ACCEPTABLE,
    },
    tags=["tracking"],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def plan_list(request):
    params, error = _query(PlanQuerySerializer(data=request.query_params))
    if error:
        return error
    plans = selectors.plan_list_visible(
        user=request.user,
        plan_measure=params.get("plan_measure"),
        status=params.get("status"),
        region_kato=params.get("region"),
        year=params.get("year"),
        ordering=params["ordering"],
    )
    paginator = Pagination()
    page = paginator.paginate_queryset(plans, request)
    return paginator.get_paginated_response(PlanSerializer(page, many=True).data)


@extend_schema(
    operation_id="tracking_plan_retrieve",
    summary="One consolidated plan with its rows",
    description="The rows (measure, region, district, year, objects) the caller may view: akimat users their "
    "own region's; `region` and `year` narrow them further.",
    parameters=[PlanFilterSerializer],
    responses={
        200: OpenApiResponse(PlanDetailSerializer, description="the plan with its rows"),
        400: BAD_PARAMS,
        403: _error(NOT_SIGNED_IN),
        404: _error("no plan with this id for this caller, or `format` names no output format"),
        406: NOT_ACCEPTABLE,
    },
    tags=["tracking"],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def plan_detail(request, pk: int):
    params, error = _query(PlanFilterSerializer(data=request.query_params))
    if error:
        return error
    plan = selectors.plan_get_visible(
        user=request.user, plan_id=pk, region_kato=params.get("region"), year=params.get("year")
    )
    if plan is None:
        raise NotFound()
    return Response(PlanDetailSerializer(plan).data)


@extend_schema(
    operation_id="tracking_stages_list",
    summary="Stage records (append-only)",
    description="Every statement about a construction stage (planned or actual date, document, progress) "
    "of the facilities the caller may view: akimat users their own region's. Poll with `updated_since` "
    "for the records entered since the last call.",
    parameters=[StageRecordQuerySerializer],
    responses={
        200: OpenApiResponse(StageRecordPageSerializer, description="a page of stage records"),
        400: BAD_PARAMS,
        403: _error(NOT_SIGNED_IN),
        404: _error("`format` names no output format"),
        406: NOT_ACCEPTABLE,
    },
    tags=["tracking"],
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def stage_record_list(request):
    params, error = _query(StageRecordQuerySerializer(data=request.query_params))
    if error:
        return error
    records = selectors.stage_record_list_visible(
        user=request.user,
        facility_id=params.get("facility"),
        region_kato=params.get("region"),
        measure=params.get("measure"),
        stage=params.get("stage"),
        recorded_since=params.get("updated_since") or params.get("recorded_since"),
        ordering=params["ordering"],
    )
    paginator = Pagination()
    page = paginator.paginate_queryset(records, request)
    return paginator.get_paginated_response(StageRecordSerializer(page, many=True).data)
