"""Plain-JSON resources of the roadmap (measures, quotas, KPI targets): public, official texts."""

from rest_framework import serializers

from facilities.models import ConstructionQuota, KpiTarget, Measure


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
