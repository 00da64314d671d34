"""Read-only admin views of tracking: all writes go through the services (pages and API),
so the order of stages, versions and frozen reports cannot be bypassed here."""

from django.contrib import admin

from accounts.admin_mixins import RegionScopedAdminMixin
from tracking.models import Plan, PlanItem, Report, StageRecord, TrackedFacility


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PlanItemInline(ReadOnlyMixin, admin.TabularInline):
    model = PlanItem
    extra = 0


@admin.register(Plan)
class PlanAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["plan_measure", "version", "status", "approved_at", "is_demo"]
    list_filter = ["plan_measure", "status"]
    inlines = [PlanItemInline]


class StageRecordInline(ReadOnlyMixin, admin.TabularInline):
    model = StageRecord
    extra = 0


@admin.register(TrackedFacility)
class TrackedFacilityAdmin(RegionScopedAdminMixin, ReadOnlyMixin, admin.ModelAdmin):
    region_field = "facility__region"
    list_display = ["facility", "in_plan", "executor", "expertise_on", "accepted_on", "version"]
    list_filter = ["facility__measure", "in_plan"]
    inlines = [StageRecordInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(Report)
class ReportAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["kind", "region", "body", "as_of", "language", "submitted_at"]
    list_filter = ["kind", "as_of", "language"]
    exclude = ["data"]
