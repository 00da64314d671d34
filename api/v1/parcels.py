"""/api/v1/parcels/: parcels and their infrastructure links (token or session auth), GeoJSON in EPSG:4326.

Reads of the collection are the `parcels` layer's (parcels/collections.py); a parcel's feature has
the same properties here as in the list, the tiles, the maps and the exports. Writes call the same
services as the forms. Errors are problem details (api/errors.py): 400 with every problem found
(field, code, severity, message), 404 for objects outside the user's scope, 409 with
`current_version` when the `version` sent is stale.
"""

from __future__ import annotations

import json

from django import forms
from django.contrib.gis.geos import MultiPolygon
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_gis.fields import GeometryField

from accounts import layer_access
from accounts.permissions import Action, can, scope_queryset, user_region_id, user_role
from api.errors import Invalid, fields_to_errors
from api.openapi import problem
from api.v1.collections import rest_views
from facilities.models import Facility
from gis_portal.geo.collections import collection_get
from gis_portal.geo.features import collection_feature_collection
from parcels import selectors, services
from parcels.geometry import geometry_from_geojson
from parcels.models import InfrastructureLink, LandCategory, LandRight, LinkStatus, Parcel, ParcelStatus, Utility


class JsonBodies:
    """Writes take JSON only (415 otherwise); a body that is not JSON is a 400 naming `body`."""

    parser_classes = [JSONParser]


class HasRole(BasePermission):
    """Anonymous users and users without a portal role see nothing of parcels (401/403)."""

    def has_permission(self, request, view):
        return user_role(request.user) is not None


def _problems(problems) -> Invalid:
    """The checks' problems (parcels.selectors.Problem: field, code, severity, message) as a 400."""
    return Invalid([p.as_dict() for p in problems])


def _body_errors(errors: dict) -> Invalid:
    return Invalid([{**e, "severity": "error"} for e in fields_to_errors(errors)])


def _conflict(exc: services.ParcelConflict) -> Invalid:
    return Invalid([], status_code=409, detail=str(exc), extra={"current_version": exc.current_version})


def _forbidden() -> exceptions.PermissionDenied:
    return exceptions.PermissionDenied(_("You may not change records of this region."))


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
    warnings = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="field, code, severity, message"
    )


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "description": "GeoJSON LineString, EPSG:4326",
        "properties": {"type": {"type": "string", "enum": ["LineString"]}, "coordinates": {"type": "array"}},
    }
)
class RouteField(GeometryField):
    """A link's route as GeoJSON (drf-gis), documented as a LineString."""


class LinkOut(serializers.Serializer):
    """An infrastructure link as the views write it (rendered by this serializer, documented from it)."""

    id = serializers.IntegerField()
    parcel_id = serializers.IntegerField()
    utility = serializers.CharField(source="utility_id")
    required = serializers.BooleanField()
    status = serializers.ChoiceField(choices=LinkStatus.choices)
    route = RouteField(allow_null=True)
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


READ_ERRORS = {
    401: problem("not signed in (no session or token), or the token is not valid"),
    403: problem("signed in without a role that may do this"),
    404: problem("no such parcel or link for this caller"),
}
WRITE_ERRORS = {
    400: problem("the body breaks a rule: `errors` lists every problem (field, code, severity, message)"),
    415: problem("the body is not JSON"),
    **READ_ERRORS,
}
CONFLICT = problem("`version` is stale; `current_version` is the one to read again")
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
    try:
        return geometry_from_geojson(text=json.dumps(value), kinds=kinds)
    except forms.ValidationError as exc:
        raise serializers.ValidationError({"geometry": exc.messages}) from exc
    except (TypeError, ValueError) as exc:
        raise serializers.ValidationError({"geometry": [str(exc)]}) from exc


def _parcel_feature(user, pk: int) -> dict:
    """The parcel as one GeoJSON Feature of the `parcels` layer (the properties of its list and map)."""
    collection = collection_get("parcels")
    rows = layer_access.collection_queryset(collection, user=user).filter(pk=pk)
    return json.loads(collection_feature_collection(collection, rows))["features"][0]


# Reads of /api/v1/parcels/ are the `parcels` layer's (parcels/collections.py): keyset paging with
# next/prev links and numberMatched, filters, bbox, updated_since, ETag/304, ?format= downloads —
# the same query path as OGC API – Features; this module adds the token writes on the same path.
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
            raise _forbidden()
        try:
            props, geometry = _feature_parts(request)
            data = ParcelInput(data=props)
            data.is_valid(raise_exception=True)
            if geometry is None:
                raise serializers.ValidationError({"geometry": [_("A parcel needs its boundary.")]})
            geom = _geometry(geometry, ("Polygon", "MultiPolygon"))
        except serializers.ValidationError as exc:
            raise _body_errors(exc.detail) from exc
        values = dict(data.validated_data)
        facility_qs = scope_queryset(
            request.user, Facility.objects.select_related("region", "district"), action=Action.EDIT
        )
        facility = facility_qs.filter(pk=values.get("facility_id")).first()
        if facility is None:
            raise _body_errors({"facility_id": [_("There is no facility with this number that you may edit.")]})
        if geom.geom_type == "Polygon":
            geom = MultiPolygon(geom, srid=4326)
        parcel_data = {k: values.get(k) for k in services.PARCEL_FIELDS}
        try:
            result = services.parcel_create(user=request.user, facility=facility, geom=geom, data=parcel_data)
        except services.ParcelValidationError as exc:
            raise _problems(exc.problems) from exc
        except PermissionDenied as exc:
            raise _forbidden() from exc
        body = _parcel_feature(request.user, result.obj.pk)
        body["warnings"] = [w.as_dict() for w in result.warnings]
        return Response(body, status=status.HTTP_201_CREATED, content_type="application/geo+json")


def _scoped_parcel(request, pk: int) -> Parcel:
    return get_object_or_404(scope_queryset(request.user, Parcel.objects.all()), pk=pk)


class ParcelItem(JsonBodies, APIView):
    permission_classes = [HasRole]

    @extend_schema(operation_id="parcels_retrieve", responses={(200, GEOJSON): ParcelFeatureOut, **READ_ERRORS})
    def get(self, request, pk: int):
        parcel = _scoped_parcel(request, pk)
        body = _parcel_feature(request.user, parcel.pk)
        body["properties"]["infrastructure_ready"] = selectors.parcel_infrastructure_readiness(parcel_ids=[pk])[pk]
        return Response(body, content_type="application/geo+json")

    @extend_schema(
        operation_id="parcels_partial_update",
        request=ParcelFeatureIn,
        responses={(200, GEOJSON): ParcelFeatureOut, 409: CONFLICT, **WRITE_ERRORS},
        description="Change a parcel; `version` is required (409 when stale).",
    )
    def patch(self, request, pk: int):
        parcel = _scoped_parcel(request, pk)
        if not can(request.user, Action.EDIT, region_id=parcel.region_id):
            raise _forbidden()
        try:
            props, geometry = _feature_parts(request)
            data = ParcelInput(data=props, partial=True)
            data.is_valid(raise_exception=True)
            if "version" not in data.validated_data:
                raise serializers.ValidationError({"version": [_("Send the version you read (optimistic locking).")]})
            geom = _geometry(geometry, ("Polygon", "MultiPolygon")) if geometry is not None else None
        except serializers.ValidationError as exc:
            raise _body_errors(exc.detail) from exc
        if geom is not None and geom.geom_type == "Polygon":
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
            raise _problems(exc.problems) from exc
        except services.ParcelConflict as exc:
            raise _conflict(exc) from exc
        body = _parcel_feature(request.user, parcel.pk)
        body["warnings"] = [w.as_dict() for w in result.warnings]
        return Response(body, content_type="application/geo+json")


class LinkCollection(JsonBodies, APIView):
    permission_classes = [HasRole]

    @extend_schema(operation_id="parcel_links_list", responses={200: LinkListOut, **READ_ERRORS})
    def get(self, request, parcel_pk: int):
        parcel = _scoped_parcel(request, parcel_pk)
        links = InfrastructureLink.objects.filter(parcel=parcel).select_related("utility")
        return Response(LinkListOut({"parcel_id": parcel.pk, "links": links}).data)

    @extend_schema(
        operation_id="parcel_links_create",
        request=LinkInput,
        responses={201: LinkOut, **WRITE_ERRORS},
    )
    def post(self, request, parcel_pk: int):
        parcel = _scoped_parcel(request, parcel_pk)
        if not can(request.user, Action.EDIT, region_id=parcel.region_id):
            raise _forbidden()
        try:
            body = request.data if isinstance(request.data, dict) else {}
            data = LinkInput(data={k: v for k, v in body.items() if k != "route"})
            data.is_valid(raise_exception=True)
            if "utility" not in data.validated_data:
                raise serializers.ValidationError({"utility": [_("Name the utility (water, sewerage, …).")]})
            route = _geometry(body["route"], ("LineString",)) if body.get("route") else None
        except serializers.ValidationError as exc:
            raise _body_errors(exc.detail) from exc
        values = dict(data.validated_data)
        utility = values.pop("utility")
        values.pop("version", None)
        values.setdefault("required", values.get("status") != LinkStatus.NOT_REQUIRED)
        try:
            result = services.link_create(user=request.user, parcel=parcel, utility=utility, data=values, route=route)
        except services.ParcelValidationError as exc:
            raise _problems(exc.problems) from exc
        return Response(LinkOut(result.obj).data, status=status.HTTP_201_CREATED)


class LinkItem(JsonBodies, APIView):
    permission_classes = [HasRole]

    def _link(self, request, parcel_pk, pk) -> InfrastructureLink:
        parcel = _scoped_parcel(request, parcel_pk)
        return get_object_or_404(InfrastructureLink.objects.select_related("utility"), parcel=parcel, pk=pk)

    @extend_schema(operation_id="parcel_links_retrieve", responses={200: LinkOut, **READ_ERRORS})
    def get(self, request, parcel_pk: int, pk: int):
        return Response(LinkOut(self._link(request, parcel_pk, pk)).data)

    @extend_schema(
        operation_id="parcel_links_partial_update",
        request=LinkInput,
        responses={200: LinkOut, 409: CONFLICT, **WRITE_ERRORS},
    )
    def patch(self, request, parcel_pk: int, pk: int):
        link = self._link(request, parcel_pk, pk)
        if not can(request.user, Action.EDIT, region_id=link.region_id):
            raise _forbidden()
        try:
            body = request.data if isinstance(request.data, dict) else {}
            data = LinkInput(data={k: v for k, v in body.items() if k not in ("route", "utility")}, partial=True)
            data.is_valid(raise_exception=True)
            if "version" not in data.validated_data:
                raise serializers.ValidationError({"version": [_("Send the version you read (optimistic locking).")]})
            route = _geometry(body["route"], ("LineString",)) if body.get("route") else None
        except serializers.ValidationError as exc:
            raise _body_errors(exc.detail) from exc
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
            raise _problems(exc.problems) from exc
        except services.ParcelConflict as exc:
            raise _conflict(exc) from exc
        return Response(LinkOut(result.obj).data)

    @extend_schema(operation_id="parcel_links_destroy", responses={204: None, **READ_ERRORS})
    def delete(self, request, parcel_pk: int, pk: int):
        link = self._link(request, parcel_pk, pk)
        if not can(request.user, Action.EDIT, region_id=link.region_id):
            raise _forbidden()
        services.link_delete(user=request.user, link_id=link.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
