from django.contrib import admin

from accounts.admin_mixins import RegionScopedAdminMixin
from accounts.permissions import Action
from facilities.models import (
    ConstructionQuota,
    Facility,
    FacilityKind,
    KpiIndicator,
    KpiTarget,
    Measure,
    ResponsibleBody,
    Section,
)
from layers.webmap.widgets import EditorGISModelAdmin


@admin.register(ResponsibleBody)
class ResponsibleBodyAdmin(admin.ModelAdmin):
    list_display = ["code", "name_kk", "name_ru", "name_en"]


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
    list_display = ["code", "title_kk", "title_en"]


class QuotaInline(admin.StackedInline):
    model = ConstructionQuota
    filter_horizontal = ["regions"]
    extra = 0


@admin.register(Measure)
class MeasureAdmin(admin.ModelAdmin):
    list_display = ["number", "title_kk", "completion_form_kk", "deadline_text_kk", "deadline_end"]
    list_filter = ["section", "deadline_kind"]
    search_fields = ["title_kk", "title_ru", "title_en"]
    filter_horizontal = ["responsible"]
    inlines = [QuotaInline]


@admin.register(FacilityKind)
class FacilityKindAdmin(admin.ModelAdmin):
    list_display = ["code", "name_kk", "name_ru", "name_en"]


class KpiTargetInline(admin.TabularInline):
    model = KpiTarget
    extra = 0


@admin.register(KpiIndicator)
class KpiIndicatorAdmin(admin.ModelAdmin):
    list_display = ["code", "name_kk", "baseline_year", "baseline", "unit"]
    inlines = [KpiTargetInline]


@admin.register(Facility)
class FacilityAdmin(RegionScopedAdminMixin, EditorGISModelAdmin):
    """Facilities of the consolidated plan: the ministry plans them; akimats see their region's."""

    write_action = Action.PLAN
    list_display = [
        "id",
        "reference",
        "name_kk",
        "kind",
        "measure",
        "region",
        "district",
        "places",
        "is_ppp",
        "is_demo",
    ]
    list_filter = ["measure", "kind", "region", "is_ppp", "is_demo"]
    search_fields = ["reference", "name_kk", "name_ru", "name_en"]
    list_select_related = ["kind", "measure", "region", "district"]
    readonly_fields = ["created_at", "updated_at"]
