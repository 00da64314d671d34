"""REST endpoints of parcels and their infrastructure links (token or session auth), GeoJSON in EPSG:4326.

Reads are scoped by role (accounts.permissions); writes call the same services
as the forms. Errors: 400 {"errors": [{"field", "code", "message"}]}, 404 for
objects outside the user's scope, 409 {"detail", "current_version"} when the
`version` sent is stale.
"""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import Action, can, scope_queryset, user_region_id, user_role
from api.registry import collection_get
from api.rest import rest_views
from facilities.models import Facility
from parcels import selectors, services
from parcels.geometry import geometry_from_geojson
from parcels.models import InfrastructureLink, LandCategory, LandRight, LinkStatus, Parcel, ParcelStatus, Utility


class JsonBodies:
    """Writes take JSON only; a body that is not JSON gets the same 400 shape as every other problem."""

    parser_classes = [JSONParser]

    def handle_exception(self, exc):
        if isinstance(exc, ParseError):
            return _serializer_errors({"body": [str(exc.detail)]})
        return super().handle_exception(exc)


class HasRole(BasePermission):
    """Anonymous users and users without a portal role see nothing of parcels (401/403)."""

    def has_permission(self, request, view):
        return user_role(request.user) is not None


def _errors(problems) -> Response:
    return Response({"errors": [p.as_dict() for p in problems]}, status=status.HTTP_400_BAD_REQUEST)


def _serializer_errors(errors: dict) -> Response:
    items = []
    for field, messages in errors.items():
        for message in messages if isinstance(messages, list) else [messages]:
            items.append({"field": field, "code": "invalid", "severity": "error", "message": str(message)})
    return Response({"errors": items}, status=status.HTTP_400_BAD_REQUEST)


def _conflict(exc: services.ParcelConflict) -> Response:
    return Response({"detail": str(exc), "current_version": exc.current_version}, status=status.HTTP_409_CONFLICT)


class ParcelInput(serializers.Serializer):
    facility_id = serializers.IntegerField(required=False)
    cadastral_number = serializers.CharField(required=False, allow_blank=True, max_length=20)
    declared_area_ha = serializers.DecimalField(required=False, max_digits=10, decimal_places=4)
    land_category = serializers.ChoiceField(required=False, choices=LandCategory.choices)
    right_type = serializers.ChoiceField(required=False, choices=LandRight.choices)
    status = serializers.ChoiceField(required=False, choices=ParcelStatus.choices)
    act_number = serializers.CharField(required=False, allow_blank=True, max_length=60)
    act_date = serializers.DateField(required=False, allow_null=True)
    issuing_akimat = serializers.CharField(required=False, allow_blank=True, max_length=300)
    term_years = serializers.IntegerField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    version = serializers.IntegerField(required=False)


class LinkInput(serializers.Serializer):
    utility = serializers.SlugRelatedField(slug_field="code", queryset=Utility.objects.all(), required=False)
    required = serializers.BooleanField(required=False)
    status = serializers.ChoiceField(required=False, choices=LinkStatus.choices)
    capacity = serializers.DecimalField(required=False, allow_null=True, max_digits=12, decimal_places=3)
    capacity_unit = serializers.CharField(required=False, allow_blank=True, max_length=20)
    provider = serializers.CharField(required=False, allow_blank=True, max_length=300)
    balance_act_number = serializers.CharField(required=False, allow_blank=True, max_length=60)
    balance_act_date = serializers.DateField(required=False, allow_null=True)
    planned_connection_date = serializers.DateField(required=False, allow_null=True)
    actual_connection_date = serializers.DateField(required=False, allow_null=True)
    cost_kzt = serializers.DecimalField(required=False, allow_null=True, max_digits=16, decimal_places=2)
    version = serializers.IntegerField(required=False)


# --- Shapes for the OpenAPI schema (what the views below really return) ---------------------


class ProblemOut(serializers.Serializer):
    field = serializers.CharField(allow_blank=True)
    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=["error", "warning"])
    message = serializers.CharField()


class ProblemsOut(serializers.Serializer):
    errors = ProblemOut(many=True)


class DetailOut(serializers.Serializer):
    detail = serializers.CharField()


class ConflictOut(serializers.Serializer):
    detail = serializers.CharField()
    current_version = serializers.IntegerField()


class ParcelFeatureIn(serializers.Serializer):
    """A GeoJSON Feature (EPSG:4326); a flat object with a `geometry` member is accepted too."""

    type = serializers.ChoiceField(choices=["Feature"])
    geometry = serializers.JSONField(help_text="Polygon or MultiPolygon, EPSG:4326 (required on create)")
    properties = ParcelInput()


class ParcelFeatureOut(serializers.Serializer):
    type = serializers.ChoiceField(choices=["Feature"])
    id = serializers.IntegerField()
    geometry = serializers.JSONField()
    properties = serializers.DictField(help_text="the parcel's fields, `version` and (on reads) infrastructure_ready")
    warnings = ProblemOut(many=True, required=False)


class LinkOut(serializers.Serializer):
    id = serializers.IntegerField()
    parcel_id = serializers.IntegerField()
    utility = serializers.CharField()
    required = serializers.BooleanField()
    status = serializers.ChoiceField(choices=LinkStatus.choices)
    route = serializers.JSONField(allow_null=True, help_text="GeoJSON LineString, EPSG:4326")
    route_length_m = serializers.FloatField(allow_null=True)
    capacity = serializers.CharField(allow_null=True)
    capacity_unit = serializers.CharField(allow_blank=True)
    provider = serializers.CharField(allow_blank=True)
    balance_act_number = serializers.CharField(allow_blank=True)
    balance_act_date = serializers.DateField(allow_null=True)
    planned_connection_date = serializers.DateField(allow_null=True)
    actual_connection_date = serializers.DateField(allow_null=True)
    cost_kzt = serializers.CharField(allow_null=True)
    version = serializers.IntegerField()
    is_demo = serializers.BooleanField()


class LinkListOut(serializers.Serializer):
    parcel_id = serializers.IntegerField()
    links = LinkOut(many=True)


READ_ERRORS = {401: DetailOut, 403: DetailOut, 404: DetailOut}
WRITE_ERRORS = {400: ProblemsOut, 415: DetailOut, **READ_ERRORS}
GEOJSON = "application/geo+json"


def _feature_parts(request) -> tuple[dict, dict | None]:
    """(properties, geometry) of a GeoJSON Feature body, or of a flat object with a `geometry` member."""
    body = request.data
    if not isinstance(body, dict):
        raise serializers.ValidationError({"body": [_("Send a JSON object (a GeoJSON Feature).")]})
    if body.get("type") == "Feature":
        props = body.get("properties") or {}
        if not isinstance(props, dict):
            raise serializers.ValidationError({"properties": [_("must be an object")]})
        return props, body.get("geometry")
    return {k: v for k, v in body.items() if k != "geometry"}, body.get("geometry")


def _geometry(value, kinds) -> object:
    from django import forms

    try:
        return geometry_from_geojson(text=json.dumps(value), kinds=kinds)
    except forms.ValidationError as exc:
        raise serializers.ValidationError({"geometry": exc.messages}) from exc
    except (TypeError, ValueError) as exc:
        raise serializers.ValidationError({"geometry": [str(exc)]}) from exc


def _parcel_feature(parcel_qs) -> str:
    text = selectors.parcel_geojson(queryset=parcel_qs)
    features = json.loads(text)["features"]
    return json.dumps(features[0]) if features else "null"


# Reads of /api/v1/parcels/ are the API's `parcels` collection (api/catalog.py): keyset paging with
# next/prev links and numberMatched, filters, bbox, updated_since, ETag/304, ?format= downloads —
# the same query path as OGC API – Features; this app adds the token writes on the same path.
_ParcelReads = rest_views(collection_get("parcels"))[0]


class ParcelCollection(JsonBodies, _ParcelReads):
    permission_classes = [HasRole]

    @extend_schema(
        operation_id="parcels_create",
        request=ParcelFeatureIn,
        responses={(201, GEOJSON): ParcelFeatureOut, **WRITE_ERRORS},
        description="Create a parcel from a GeoJSON Feature (properties: ParcelInput fields).",
    )
    def post(self, request):
        # Planners read parcels but never create them: refuse before looking at the body.
        if not can(request.user, Action.EDIT, region_id=user_region_id(request.user)):
            return Response({"detail": _("You may not change records of this region.")}, status=403)
        try:
            props, geometry = _feature_parts(request)
            data = ParcelInput(data=props)
            data.is_valid(raise_exception=True)
            if geometry is None:
                raise serializers.ValidationError({"geometry": [_("A parcel needs its boundary.")]})
            geom = _geometry(geometry, ("Polygon", "MultiPolygon"))
        except serializers.ValidationError as exc:
            return _serializer_errors(exc.detail)
        values = dict(data.validated_data)
        facility_qs = scope_queryset(
            request.user, Facility.objects.select_related("region", "district"), action=Action.EDIT
        )
        facility = facility_qs.filter(pk=values.get("facility_id")).first()
        if facility is None:
            return _serializer_errors({"facility_id": [_("There is no facility with this number that you may edit.")]})
        if geom.geom_type == "Polygon":
            from django.contrib.gis.geos import MultiPolygon

            geom = MultiPolygon(geom, srid=4326)
        parcel_data = {k: values.get(k) for k in services.PARCEL_FIELDS}
        try:
            result = services.parcel_create(user=request.user, facility=facility, geom=geom, data=parcel_data)
        except services.ParcelValidationError as exc:
            return _errors(exc.problems)
        except PermissionDenied:
            return Response({"detail": _("You may not change records of this region.")}, status=403)
        body = json.loads(_parcel_feature(Parcel.objects.filter(pk=result.obj.pk)))
        body["properties"]["version"] = result.obj.version
        body["warnings"] = [w.as_dict() for w in result.warnings]
        return Response(body, status=status.HTTP_201_CREATED, content_type="application/geo+json")


def _scoped_parcel(request, pk: int) -> Parcel:
    return get_object_or_404(scope_queryset(request.user, Parcel.objects.all()), pk=pk)


class ParcelItem(JsonBodies, APIView):
    permission_classes = [HasRole]

    @extend_schema(operation_id="parcels_retrieve", responses={(200, GEOJSON): ParcelFeatureOut, **READ_ERRORS})
    def get(self, request, pk: int):
        parcel = _scoped_parcel(request, pk)
        body = json.loads(_parcel_feature(Parcel.objects.filter(pk=parcel.pk)))
        body["properties"]["version"] = parcel.version
        body["properties"]["infrastructure_ready"] = selectors.parcel_infrastructure_readiness(parcel_ids=[pk])[pk]
        return Response(body, content_type="application/geo+json")

    @extend_schema(
        operation_id="parcels_partial_update",
        request=ParcelFeatureIn,
        responses={(200, GEOJSON): ParcelFeatureOut, 409: ConflictOut, **WRITE_ERRORS},
        description="Change a parcel; `version` is required (409 when stale).",
    )
    def patch(self, request, pk: int):
        parcel = _scoped_parcel(request, pk)
        if not can(request.user, Action.EDIT, region_id=parcel.region_id):
            return Response({"detail": _("You may not change records of this region.")}, status=403)
        try:
            props, geometry = _feature_parts(request)
            data = ParcelInput(data=props, partial=True)
            data.is_valid(raise_exception=True)
            if "version" not in data.validated_data:
                raise serializers.ValidationError({"version": [_("Send the version you read (optimistic locking).")]})
            geom = _geometry(geometry, ("Polygon", "MultiPolygon")) if geometry is not None else None
        except serializers.ValidationError as exc:
            return _serializer_errors(exc.detail)
        if geom is not None and geom.geom_type == "Polygon":
            from django.contrib.gis.geos import MultiPolygon

            geom = MultiPolygon(geom, srid=4326)
        values = dict(data.validated_data)
        try:
            result = services.parcel_update(
                user=request.user,
                parcel_id=parcel.pk,
                expected_version=values.pop("version"),
                data={k: v for k, v in values.items() if k in services.PARCEL_FIELDS},
                geom=geom,
            )
        except services.ParcelValidationError as exc:
            return _errors(exc.problems)
        except services.ParcelConflict as exc:
            return _conflict(exc)
        body = json.loads(_parcel_feature(Parcel.objects.filter(pk=parcel.pk)))
        body["properties"]["version"] = result.obj.version
        body["warnings"] = [w.as_dict() for w in result.warnings]
        return Response(body, content_type="application/geo+json")


def _link_json(link: InfrastructureLink) -> dict:
    return {
        "id": link.pk,
        "parcel_id": link.parcel_id,
        "utility": link.utility_id,
        "required": link.required,
        "status": link.status,
        "route": json.loads(link.route.json) if link.route else None,
        "route_length_m": float(link.route_length_m) if link.route_length_m is not None else None,
        "capacity": str(link.capacity) if link.capacity is not None else None,
        "capacity_unit": link.capacity_unit,
        "provider": link.provider,
        "balance_act_number": link.balance_act_number,
        "balance_act_date": link.balance_act_date,
        "planned_connection_date": link.planned_connection_date,
        "actual_connection_date": link.actual_connection_date,
        "cost_kzt": str(link.cost_kzt) if link.cost_kzt is not None else None,
        "version": link.version,
        "is_demo": link.is_demo,
    }


class LinkCollection(JsonBodies, APIView):
    permission_classes = [HasRole]

    @extend_schema(operation_id="parcel_links_list", responses={200: LinkListOut, **READ_ERRORS})
    def get(self, request, parcel_pk: int):
        parcel = _scoped_parcel(request, parcel_pk)
        links = InfrastructureLink.objects.filter(parcel=parcel).select_related("utility")
        return Response({"parcel_id": parcel.pk, "links": [_link_json(link) for link in links]})

    @extend_schema(
        operation_id="parcel_links_create",
        request=LinkInput,
        responses={201: LinkOut, **WRITE_ERRORS},
    )
    def post(self, request, parcel_pk: int):
        parcel = _scoped_parcel(request, parcel_pk)
        if not can(request.user, Action.EDIT, region_id=parcel.region_id):
            return Response({"detail": _("You may not change records of this region.")}, status=403)
        try:
            body = request.data if isinstance(request.data, dict) else {}
            data = LinkInput(data={k: v for k, v in body.items() if k != "route"})
            data.is_valid(raise_exception=True)
            if "utility" not in data.validated_data:
                raise serializers.ValidationError({"utility": [_("Name the utility (water, sewerage, …).")]})
            route = _geometry(body["route"], ("LineString",)) if body.get("route") else None
        except serializers.ValidationError as exc:
            return _serializer_errors(exc.detail)
        values = dict(data.validated_data)
        utility = values.pop("utility")
        values.pop("version", None)
        values.setdefault("required", values.get("status") != LinkStatus.NOT_REQUIRED)
        try:
            result = services.link_create(user=request.user, parcel=parcel, utility=utility, data=values, route=route)
        except services.ParcelValidationError as exc:
            return _errors(exc.problems)
        return Response(_link_json(result.obj), status=status.HTTP_201_CREATED)


class LinkItem(JsonBodies, APIView):
    permission_classes = [HasRole]

    def _link(self, request, parcel_pk, pk) -> InfrastructureLink:
        parcel = _scoped_parcel(request, parcel_pk)
        return get_object_or_404(InfrastructureLink.objects.select_related("utility"), parcel=parcel, pk=pk)

    @extend_schema(operation_id="parcel_links_retrieve", responses={200: LinkOut, **READ_ERRORS})
    def get(self, request, parcel_pk: int, pk: int):
        return Response(_link_json(self._link(request, parcel_pk, pk)))

    @extend_schema(
        operation_id="parcel_links_partial_update",
        request=LinkInput,
        responses={200: LinkOut, 409: ConflictOut, **WRITE_ERRORS},
    )
    def patch(self, request, parcel_pk: int, pk: int):
        link = self._link(request, parcel_pk, pk)
        if not can(request.user, Action.EDIT, region_id=link.region_id):
            return Response({"detail": _("You may not change records of this region.")}, status=403)
        try:
            body = request.data if isinstance(request.data, dict) else {}
            data = LinkInput(data={k: v for k, v in body.items() if k not in ("route", "utility")}, partial=True)
            data.is_valid(raise_exception=True)
            if "version" not in data.validated_data:
                raise serializers.ValidationError({"version": [_("Send the version you read (optimistic locking).")]})
            route = _geometry(body["route"], ("LineString",)) if body.get("route") else None
        except serializers.ValidationError as exc:
            return _serializer_errors(exc.detail)
        values = dict(data.validated_data)
        try:
            result = services.link_update(
                user=request.user,
                link_id=link.pk,
                expected_version=values.pop("version"),
                data=values,
                route=route,
                clear_route="route" in body and body["route"] is None,
            )
        except services.ParcelValidationError as exc:
            return _errors(exc.problems)
        except services.ParcelConflict as exc:
            return _conflict(exc)
        return Response(_link_json(result.obj))

    @extend_schema(operation_id="parcel_links_destroy", responses={204: None, **READ_ERRORS})
    def delete(self, request, parcel_pk: int, pk: int):
        link = self._link(request, parcel_pk, pk)
        if not can(request.user, Action.EDIT, region_id=link.region_id):
            return Response({"detail": _("You may not change records of this region.")}, status=403)
        services.link_delete(user=request.user, link_id=link.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
