from django import forms
from django.conf import settings
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from gis_portal.widgets import PortalGISModelAdmin
from layers import services
from layers.base_layer_checks import base_layer_problems
from layers.models import BaseLayer, District, Region, Settlement


@admin.register(Region)
class RegionAdmin(PortalGISModelAdmin):
    list_display = ["kato", "iso_3166_2", "name_kk", "name_ru", "name_en", "kind"]
    search_fields = ["kato", "name_kk", "name_ru", "name_en"]
    readonly_fields = ["updated_at"]


@admin.register(District)
class DistrictAdmin(PortalGISModelAdmin):
    list_display = ["kato", "name_kk", "name_ru", "name_en", "region"]
    list_filter = ["region"]
    search_fields = ["kato", "name_kk", "name_ru", "name_en"]
    list_select_related = ["region"]


@admin.register(Settlement)
class SettlementAdmin(PortalGISModelAdmin):
    list_display = ["name", "name_local", "population", "region", "source"]
    list_filter = ["region"]
    search_fields = ["name", "name_local"]
    list_select_related = ["region"]


class BaseLayerForm(forms.ModelForm):
    class Meta:
        model = BaseLayer
        fields = [
            "name_kk",
            "name_ru",
            "name_en",
            "kind",
            "url",
            "attribution",
            "wms_layers",
            "wms_format",
            "wms_transparent",
            "wms_version",
            "is_overlay",
            "offered_on",
            "is_active",
            "order",
            "min_zoom",
            "max_zoom",
        ]

    def clean(self):
        cleaned = super().clean()
        problems = base_layer_problems(
            kind=cleaned.get("kind", ""),
            url=cleaned.get("url", ""),
            wms_layers=cleaned.get("wms_layers", ""),
            attribution=cleaned.get("attribution", ""),
            min_zoom=cleaned.get("min_zoom"),
            max_zoom=cleaned.get("max_zoom"),
            allow_local_http=settings.DEBUG,
        )
        for field, messages in problems.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        return cleaned


@admin.register(BaseLayer)
class BaseLayerAdmin(admin.ModelAdmin):
    """Base layers of the maps: administrators only (the URLs may carry a licence key)."""

    form = BaseLayerForm
    list_display = ["name_en", "kind", "is_overlay", "offered_on", "is_active", "order", "attribution"]
    list_filter = ["kind", "offered_on", "is_active", "is_overlay"]
    search_fields = ["name_kk", "name_ru", "name_en", "url"]
    readonly_fields = ["updated_at"]
    fieldsets = [
        (None, {"fields": ["name_kk", "name_ru", "name_en", "kind", "url", "attribution"]}),
        (_("WMS"), {"fields": ["wms_layers", "wms_format", "wms_transparent", "wms_version"]}),
        (_("Display"), {"fields": ["is_overlay", "offered_on", "is_active", "order", "min_zoom", "max_zoom"]}),
        (None, {"fields": ["updated_at"]}),
    ]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    has_view_permission = has_change_permission = has_add_permission = has_delete_permission = (
        lambda self, request, obj=None: request.user.is_active and request.user.is_superuser
    )

    def save_model(self, request, obj, form, change):
        services.base_layer_save(layer=obj)

    def delete_model(self, request, obj):
        services.base_layer_delete(layer_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        services.base_layer_delete(layer_ids=list(queryset.values_list("pk", flat=True)))
