from django.contrib import admin

from accessibility.models import AnalysisRun, PopulationRaster


@admin.register(PopulationRaster)
class PopulationRasterAdmin(admin.ModelAdmin):
    list_display = ["name", "year", "indicator", "children_bands", "crs_name", "width", "height", "is_demo"]
    readonly_fields = ["crs_wkt", "crs_name", "width", "height", "band_count", "pixel_size_x", "pixel_size_y"]


@admin.register(AnalysisRun)
class AnalysisRunAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "progress", "is_demo", "created_at", "finished_at"]
    list_filter = ["kind", "status", "is_demo"]
    readonly_fields = ["parameters", "inputs", "notes", "summary", "task_id", "error"]
