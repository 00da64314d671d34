"""/api/v1/ index and the plain-JSON resources of the order: measures, quotas and KPI targets (public).

Each resource declares its selector, serializer (which renders and documents the rows), filters and
ordering; one list view serves them all, paged by api.pagination.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts import layer_access
from api import openapi
from api.common import ApiView
from api.pagination import MAX_LIMIT, PagePagination
from api.params import check_metacharacters, unknown_parameter
from facilities import selectors as facility_selectors
from facilities.models import ConstructionQuota, KpiTarget, Measure
from gis_portal.geo.collections import Filter, ParamError, collections_all


class MeasureSerializer(serializers.ModelSerializer):
    section = serializers.CharField(source="section_id")
    responsible = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")
    facility_count = serializers.IntegerField(read_only=True)
    demo_facility_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Measure
        fields = [
            "number",
            "section",
            "title_kk",
            "title_ru",
            "title_en",
            "completion_form_code",
            "completion_form_kk",
            "completion_form_ru",
            "completion_form_en",
            "deadline_text_kk",
            "deadline_kind",
            "deadline_start",
            "deadline_end",
            "recurrence_months",
            "responsible",
            "responsible_text_kk",
            "facility_count",
            "demo_facility_count",
        ]


class QuotaSerializer(serializers.ModelSerializer):
    measure = serializers.IntegerField(source="measure_id")
    object_kind = serializers.CharField(source="object_kind_id")
    regions = serializers.SlugRelatedField(many=True, read_only=True, slug_field="kato")

    class Meta:
        model = ConstructionQuota
        fields = ["measure", "count", "object_kind", "ppp_count", "target_stage", "regions", "regions_text_kk"]


class KpiTargetSerializer(serializers.ModelSerializer):
    indicator = serializers.CharField(source="indicator_id")
    indicator_name_kk = serializers.CharField(source="indicator.name_kk")
    indicator_name_ru = serializers.CharField(source="indicator.name_ru")
    indicator_name_en = serializers.CharField(source="indicator.name_en")
    unit = serializers.CharField(source="indicator.unit")
    baseline_year = serializers.IntegerField(source="indicator.baseline_year")
    baseline = serializers.DecimalField(source="indicator.baseline", max_digits=6, decimal_places=2)

    class Meta:
        model = KpiTarget
        fields = [
            "id",
            "indicator",
            "indicator_name_kk",
            "indicator_name_ru",
            "indicator_name_en",
            "unit",
            "baseline_year",
            "baseline",
            "year",
            "value",
        ]


@dataclass(frozen=True)
class PlainResource:
    id: str
    selector: object
    serializer: type
    filters: dict[str, Filter] = field(default_factory=dict)
    ordering: dict[str, str] = field(default_factory=dict)
    default_ordering: str = ""
    distinct: bool = False


PLAIN_RESOURCES = [
    PlainResource(
        "measures",
        facility_selectors.measure_list,
        MeasureSerializer,
        filters={
            "measure": Filter(("number",), "int", "measure number(s), 1–26"),
            "section": Filter(("section_id",), "code", "section code(s)"),
        },
        ordering={"number": "number"},
        default_ordering="number",
    ),
    PlainResource(
        "quotas",
        lambda: ConstructionQuota.objects.select_related("measure").prefetch_related("regions"),
        QuotaSerializer,
        filters={
            "measure": Filter(("measure_id",), "int", "measure number(s), 14–26"),
            "kind": Filter(("object_kind_id",), "code", "facility kind code(s)"),
            "region": Filter(("regions__kato",), "kato", "quotas that include the region(s)"),
        },
        ordering={"measure": "measure_id", "count": "count"},
        default_ordering="measure",
        distinct=True,
    ),
    PlainResource(
        "kpi-targets",
        lambda: KpiTarget.objects.select_related("indicator"),
        KpiTargetSerializer,
        filters={
            "indicator": Filter(("indicator_id",), "code", "indicator code(s)"),
            "year": Filter(("year",), "int", "year(s)"),
        },
        ordering={"id": "pk", "year": "year", "indicator": "indicator_id"},
        default_ordering="id",
    ),
]


class PlainListView(ApiView):
    resource: PlainResource

    def get(self, request):
        resource = self.resource
        params = request.query_params
        check_metacharacters(params)
        allowed = {"limit", "offset", "ordering", "f"} | set(resource.filters)
        for key in params:
            if key not in allowed:
                raise unknown_parameter(key, sorted(allowed))
        if params.get("f", "json") != "json":
            raise ParamError("f", _("must be json"))
        for name, hi in (("limit", MAX_LIMIT), ("offset", 1_000_000)):
            raw = params.get(name)
            if raw is not None and not (
                raw.isdigit() and len(raw) <= 9 and (name == "offset" or int(raw) >= 1) and int(raw) <= hi
            ):
                raise ParamError(name, _("must be a whole number up to %(max)d") % {"max": hi})
        ordering = params.get("ordering", resource.default_ordering)
        if ordering.lstrip("-") not in resource.ordering:
            raise ParamError(
                "ordering",
                _("%(value)r is not allowed; use one of %(allowed)s")
                % {"value": ordering, "allowed": ", ".join(resource.ordering)},
            )
        field_name = resource.ordering[ordering.lstrip("-")]
        queryset = resource.selector()
        for name, spec in resource.filters.items():
            if name in params:
                queryset = spec.apply(queryset, spec.parse(name, params[name]))
        if resource.distinct:
            queryset = queryset.distinct()  # many-to-many filters (quota regions) would repeat rows
        queryset = queryset.order_by(("-" if ordering.startswith("-") else "") + field_name, "pk")
        paginator = PagePagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(resource.serializer(page, many=True).data)


def plain_view(resource: PlainResource) -> type:
    view = type(f"{resource.id.title().replace('-', '')}ListView", (PlainListView,), {"resource": resource})

    def get(self, request):
        return PlainListView.get(self, request)

    parameters = [
        OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": 1000}, description="page size"),
        OpenApiParameter("offset", {"type": "integer", "minimum": 0, "maximum": 1_000_000}, description="rows to skip"),
        OpenApiParameter(
            "ordering",
            OpenApiTypes.STR,
            enum=sorted([*resource.ordering, *(f"-{o}" for o in resource.ordering)]),
        ),
        *(openapi.filter_parameter(name, spec) for name, spec in resource.filters.items()),
    ]
    view.get = extend_schema(
        operation_id=f"api_{resource.id.replace('-', '_')}_list",
        parameters=parameters,
        responses={200: resource.serializer(many=True), 400: openapi.problem("a parameter is not acceptable")},
        tags=[resource.id],
    )(get)
    view.serializer_class = resource.serializer
    view.pagination_class = PagePagination
    return view


class IndexView(ApiView):
    @extend_schema(
        operation_id="api_index",
        summary="List of the API's resources",
        responses={200: OpenApiResponse(response={"type": "object", "additionalProperties": {"type": "string"}})},
        tags=["index"],
    )
    def get(self, request):
        base = request.build_absolute_uri("/api/v1/")
        resources = {
            c.id: f"{base}{c.id}/"
            for c in collections_all()
            if c.rest and layer_access.collection_visible(c, user=request.user)
        }
        resources.update({r.id: f"{base}{r.id}/" for r in PLAIN_RESOURCES})
        resources["schema"] = f"{base}schema/"
        resources["docs"] = f"{base}docs/"
        resources["ogc"] = request.build_absolute_uri("/ogc/")
        return Response(resources)
