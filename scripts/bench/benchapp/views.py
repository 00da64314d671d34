"""The control: a plain drf-gis GeoFeatureModelSerializer list, as a typical DRF GeoJSON endpoint."""

from django.contrib.gis.geos import Polygon
from rest_framework import generics, serializers
from rest_framework_gis.serializers import GeoFeatureModelSerializer

from parcels.models import Parcel


class ParcelSerializer(GeoFeatureModelSerializer):
    """The same properties as the API's `parcels` collection (parcels/collections.py), from the same columns."""

    region = serializers.CharField(source="region_kato")
    district = serializers.CharField(source="district_kato", allow_null=True)

    class Meta:
        model = Parcel
        geo_field = "geom"
        fields = [
            "id",
            "facility",
            "region",
            "district",
            "cadastral_number",
            "status",
            "declared_area_ha",
            "computed_area_ha",
            "land_category",
            "right_type",
            "act_number",
            "act_date",
            "is_demo",
            "version",
            "updated_at",
        ]


class DrfGisList(generics.ListAPIView):
    serializer_class = ParcelSerializer
    pagination_class = None
    authentication_classes = []
    throttle_classes = []

    def get_queryset(self):
        queryset = Parcel.objects.order_by("pk")
        bbox = self.request.query_params.get("bbox")
        if bbox:
            queryset = queryset.filter(geom__intersects=Polygon.from_bbox([float(v) for v in bbox.split(",")]))
        return queryset
