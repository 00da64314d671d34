from django.contrib import admin

from gis_portal.widgets import PortalGISModelAdmin
from layers.models import District, Region, Settlement


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
