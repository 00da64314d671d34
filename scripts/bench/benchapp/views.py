"""The control: a plain drf-gis GeoFeatureModelSerializer list, as a typical DRF GeoJSON endpoint."""

from django.contrib.gis.geos import Polygon
from rest_framework import generics
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from benchapp.models import BenchParcel


class BenchParcelSerializer(GeoFeatureModelSerializer):
    class Meta:
        model = BenchParcel
        geo_field = "geom"
        fields = ["id", "cadastral_number", "status", "area_ha", "region_id"]


class DrfGisList(generics.ListAPIView):
    serializer_class = BenchParcelSerializer
    pagination_class = None
    authentication_classes = []
    throttle_classes = []

    def get_queryset(self):
        queryset = BenchParcel.objects.order_by("pk")
        bbox = self.request.query_params.get("bbox")
        if bbox:
            queryset = queryset.filter(geom__intersects=Polygon.from_bbox([float(v) for v in bbox.split(",")]))
        return queryset
