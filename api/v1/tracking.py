"""/api/v1/tracking/: construction tracking (token or session auth).

Errors are problem details (api/errors.py): 400 naming each field or parameter, 401 without
credentials, 403 outside the user's region, 404 unknown facility or plan, 409 on a stale `version`.
Plans and stage records are plain JSON pages (api.pagination). The serializers below render every
body and document it in the OpenAPI schema; the OpenAPI texts are API-only English.
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.permissions import Action, can, scope_queryset
from api.common import ApiView
from api.errors import Invalid
from api.openapi import problem
from api.pagination import MAX_LIMIT, PagePagination
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
        required=False, min_value=1, max_value=MAX_LIMIT, help_text="page size (1–1000, default 100)"
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


_error = problem
BAD_PARAMS = _error("a query parameter is not acceptable: `errors` names it")
NOT_SIGNED_IN = _error("not signed in (no session or token), or the token is not valid")
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
        try:
            validate_upload(value)
        except forms.ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value

    validate_photo = validate_doc_file


def _facility_json(f: Facility, s: selectors.FacilityState) -> dict:
    return {
        "id": f.id,
        "tracking_id": f.tracking.id,
        "version": f.tracking.version,
        "name": f.name,
        "measure": f.measure_id,
        "region": f.region.kato,
        "is_demo": f.is_demo,
        "deadline": s.deadline,
        "target_stage": s.target_stage,
        "status": s.status,
        "stage_reached": s.stage_reached,
        "percent": s.percent,
        "executor": s.executor,
        "stages": dict(s.reached),
        "planned": dict(s.planned),
        "risks": s.risks,
    }


READ_ERRORS = {
    400: BAD_PARAMS,
    401: NOT_SIGNED_IN,
    403: _error("signed in without a portal role"),
    404: _error("`format` names no output format"),
    406: NOT_ACCEPTABLE,
}


def _params(serializer: serializers.Serializer) -> dict:
    """The validated query parameters; a 400 naming each unknown or unacceptable one otherwise."""
    allowed = set(serializer.fields) | {"format"}  # `format` is DRF's own (json or api)
    unknown = [name for name in serializer.initial_data if name not in allowed]
    if unknown:
        message = _("unknown parameter; allowed: %(names)s") % {"names": ", ".join(sorted(allowed))}
        # Names are echoed back cut short: they are the client's text.
        raise Invalid.from_fields({name[:40]: [message] for name in unknown})
    if not serializer.is_valid():
        raise Invalid.from_fields(serializer.errors)
    return serializer.validated_data


class TrackingView(ApiView):
    """Signed-in callers only (401 without credentials); rows scoped by accounts.permissions.

    JSON only, negotiated as the framework does: `?format=` other than json is a 404, an Accept
    header that names no JSON a 406.
    """

    permission_classes = [IsAuthenticated]
    content_negotiation_class = DefaultContentNegotiation


class FacilityListView(TrackingView):
    @extend_schema(
        operation_id="tracking_facilities_list",
        parameters=[AsOfSerializer],
        responses={
            200: OpenApiResponse(FacilityListSerializer, description="tracked facilities with their status"),
            **READ_ERRORS,
        },
        tags=["tracking"],
    )
    def get(self, request):
        """Tracked facilities the user may view, with status and stage as of `as_of` (default today)."""
        params = _params(AsOfSerializer(data=request.query_params))
        as_of = params.get("as_of") or timezone.localdate()
        qs = scope_queryset(
            request.user, Facility.objects.filter(tracking__in_plan=True), action=Action.VIEW
        ).select_related("region", "tracking")
        if params.get("region"):
            qs = qs.filter(region__kato=params["region"])
        facilities = list(qs.order_by("measure_id", "region__kato", "id"))
        states = selectors.facility_states_as_of(
            as_of=as_of, known_at=params.get("known_at"), facility_ids=[f.id for f in facilities]
        )
        body = {
            "as_of": as_of,
            "count": len(facilities),
            "results": [_facility_json(f, states[f.id]) for f in facilities],
        }
        return Response(FacilityListSerializer(body).data)


class FacilityDetailView(TrackingView):
    @extend_schema(
        operation_id="tracking_facility_retrieve",
        parameters=[AsOfSerializer],
        responses={
            200: OpenApiResponse(FacilityDetailSerializer, description="the facility with every stage record"),
            **READ_ERRORS,
            403: _error("a facility of another region, or signed in without a portal role"),
            404: _error("no tracked facility with this id, or `format` names no output format"),
        },
        tags=["tracking"],
    )
    def get(self, request, pk: int):
        tracked = get_object_or_404(TrackedFacility.objects.select_related("facility__region"), facility_id=pk)
        f = tracked.facility
        if not can(request.user, Action.VIEW, region_id=f.region_id):
            raise exceptions.PermissionDenied(_("you may view only your own region"))
        params = _params(AsOfSerializer(data=request.query_params))
        as_of = params.get("as_of") or timezone.localdate()
        state = selectors.facility_states_as_of(as_of=as_of, known_at=params.get("known_at"), facility_ids=[f.id])[f.id]
        body = {**_facility_json(f, state), "records": tracked.records.order_by("recorded_at", "id")}
        return Response(FacilityDetailSerializer(body).data)


class StageCreateView(TrackingView):
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        operation_id="tracking_facility_stages_create",
        request=StageRecordInSerializer,
        responses={
            201: OpenApiResponse(StageCreatedSerializer, description="recorded"),
            400: _error("the record breaks a rule (order of stages, dates, document): `errors` names each field"),
            401: NOT_SIGNED_IN,
            403: _error("the caller may not edit this region's facilities"),
            404: _error("no tracked facility with this id"),
            406: NOT_ACCEPTABLE,
            409: _error("`version` is stale: the facility changed since it was read (`errors` names version)"),
            415: _error("the body is neither JSON, multipart nor form data"),
        },
        tags=["tracking"],
    )
    def post(self, request, pk: int):
        """Record a stage of facility `pk` (planned/actual date, document, or a progress update)."""
        tracked = get_object_or_404(TrackedFacility.objects.select_related("facility"), facility_id=pk)
        if not can(request.user, Action.EDIT, region_id=tracked.facility.region_id):
            raise exceptions.PermissionDenied(_("you may update only the facilities of your own region"))
        body = StageRecordInSerializer(data=request.data)
        if not body.is_valid():
            raise Invalid.from_fields(body.errors)
        try:
            record = services.stage_record_add(tracked=tracked, user=request.user, **body.validated_data)
        except services.StaleVersionError as exc:
            raise Invalid.from_fields(exc.problems, status_code=status.HTTP_409_CONFLICT) from exc
        except services.PermissionDeniedError as exc:
            raise Invalid.from_fields(exc.problems, status_code=status.HTTP_403_FORBIDDEN) from exc
        except services.TrackingError as exc:
            raise Invalid.from_fields(exc.problems) from exc
        tracked.refresh_from_db()
        created = {
            "id": record.id,
            "stage": record.stage,
            "version": tracked.version,
            "recorded_at": record.recorded_at,
        }
        return Response(StageCreatedSerializer(created).data, status=status.HTTP_201_CREATED)


class StatusesView(TrackingView):
    @extend_schema(
        operation_id="tracking_statuses_retrieve",
        parameters=[AsOfSerializer],
        responses={
            200: OpenApiResponse(StatusesSerializer, description="status and stage per facility"),
            **READ_ERRORS,
        },
        tags=["tracking"],
    )
    def get(self, request):
        """{facility id: status} and {facility id: stage reached} as of a date, for the user's scope."""
        params = _params(AsOfSerializer(data=request.query_params))
        as_of: date = params.get("as_of") or timezone.localdate()
        facilities = scope_queryset(request.user, Facility.objects.filter(tracking__in_plan=True), action=Action.VIEW)
        states = selectors.facility_states_as_of(
            as_of=as_of, known_at=params.get("known_at"), facility_ids=list(facilities.values_list("id", flat=True))
        )
        body = {
            "as_of": as_of,
            "statuses": {str(k): s.status for k, s in states.items()},
            "stages": {str(k): s.stage_reached for k, s in states.items()},
        }
        return Response(StatusesSerializer(body).data)


# --- plans and stage records (issue 6) -----------------------------------------------------------


class PlanListView(TrackingView):
    @extend_schema(
        operation_id="tracking_plans_list",
        summary="Consolidated plans (measures 12 and 13)",
        description="Every version of the plans. Plans are national, so every role reads them; the row counts "
        "cover the rows the caller may view (akimat users: their own region's), narrowed by `region` and `year` "
        "(which also keep only the plans that have such rows).",
        parameters=[PlanQuerySerializer],
        responses={200: OpenApiResponse(PlanPageSerializer, description="a page of plans"), **READ_ERRORS},
        tags=["tracking"],
    )
    def get(self, request):
        params = _params(PlanQuerySerializer(data=request.query_params))
        plans = selectors.plan_list_visible(
            user=request.user,
            plan_measure=params.get("plan_measure"),
            status=params.get("status"),
            region_kato=params.get("region"),
            year=params.get("year"),
            ordering=params["ordering"],
        )
        paginator = PagePagination()
        page = paginator.paginate_queryset(plans, request)
        return paginator.get_paginated_response(PlanSerializer(page, many=True).data)


class PlanDetailView(TrackingView):
    @extend_schema(
        operation_id="tracking_plan_retrieve",
        summary="One consolidated plan with its rows",
        description="The rows (measure, region, district, year, objects) the caller may view: akimat users their "
        "own region's; `region` and `year` narrow them further.",
        parameters=[PlanFilterSerializer],
        responses={
            200: OpenApiResponse(PlanDetailSerializer, description="the plan with its rows"),
            **READ_ERRORS,
            404: _error("no plan with this id for this caller, or `format` names no output format"),
        },
        tags=["tracking"],
    )
    def get(self, request, pk: int):
        params = _params(PlanFilterSerializer(data=request.query_params))
        plan = selectors.plan_get_visible(
            user=request.user, plan_id=pk, region_kato=params.get("region"), year=params.get("year")
        )
        if plan is None:
            raise exceptions.NotFound()
        return Response(PlanDetailSerializer(plan).data)


class StageRecordListView(TrackingView):
    @extend_schema(
        operation_id="tracking_stages_list",
        summary="Stage records (append-only)",
        description="Every statement about a construction stage (planned or actual date, document, progress) "
        "of the facilities the caller may view: akimat users their own region's. Poll with `updated_since` "
        "for the records entered since the last call.",
        parameters=[StageRecordQuerySerializer],
        responses={
            200: OpenApiResponse(StageRecordPageSerializer, description="a page of stage records"),
            **READ_ERRORS,
        },
        tags=["tracking"],
    )
    def get(self, request):
        params = _params(StageRecordQuerySerializer(data=request.query_params))
        records = selectors.stage_record_list_visible(
            user=request.user,
            facility_id=params.get("facility"),
            region_kato=params.get("region"),
            measure=params.get("measure"),
            stage=params.get("stage"),
            recorded_since=params.get("updated_since") or params.get("recorded_since"),
            ordering=params["ordering"],
        )
        paginator = PagePagination()
        page = paginator.paginate_queryset(records, request)
        return paginator.get_paginated_response(StageRecordSerializer(page, many=True).data)
