"""REST API of tracking (token or session auth). Errors: 400 with {"errors": {field: [..]}},
403 outside the user's region, 404 unknown facility, 409 on a stale `version`."""

from __future__ import annotations

from datetime import date

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes, permission_classes
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accounts.permissions import Action, can, scope_queryset
from facilities.models import Facility
from tracking import selectors, services
from tracking.forms import validate_upload
from tracking.models import Stage, TrackedFacility


class AsOfSerializer(serializers.Serializer):
    as_of = serializers.DateField(required=False)
    known_at = serializers.DateField(required=False)
    region = serializers.RegexField(r"^[0-9]{9}$", required=False)


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
    responses=OpenApiTypes.OBJECT,
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
    responses=OpenApiTypes.OBJECT,
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


@extend_schema(request=StageRecordInSerializer, responses={201: OpenApiTypes.OBJECT}, tags=["tracking"])
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


@extend_schema(parameters=[AsOfSerializer], responses=OpenApiTypes.OBJECT, tags=["tracking"])
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
