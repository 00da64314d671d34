"""Road networks in the admin: the speed table (planners edit it), networks and their edges (read-only).

Any portal role views them; planners and administrators (Action.PLAN) edit speeds and a network's
description. Networks are added and deleted by `manage.py load_roads` (a national network has millions
of edges: the admin's delete would load them all), edges never change by hand (costs and topology go
together); barriers are listed per network, read-only (`manage.py load_barriers` loads and replaces them).
"""

from django.contrib import admin

from accounts.permissions import Action, may_write_some, user_has_role
from roads.models import RoadBarrier, RoadEdge, RoadNetwork, RoadSpeed


class _RoleViewAdmin(admin.ModelAdmin):
    def has_module_permission(self, request):
        return user_has_role(request.user)

    def has_view_permission(self, request, obj=None):
        return user_has_role(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return may_write_some(request.user, action=Action.PLAN)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RoadSpeed)
class RoadSpeedAdmin(_RoleViewAdmin):
    list_display = ["kind", "road_class", "surface", "speed_kmh", "label_en", "label_ru", "label_kk"]
    list_filter = ["kind"]

    def has_add_permission(self, request):
        return may_write_some(request.user, action=Action.PLAN)

    def has_delete_permission(self, request, obj=None):
        return may_write_some(request.user, action=Action.PLAN)


@admin.register(RoadNetwork)
class RoadNetworkAdmin(_RoleViewAdmin):
    list_display = ["name", "label", "source_file", "source_date", "edge_count", "length_km", "loaded_at"]
    readonly_fields = [
        "source_file",
        "loaded_at",
        "loaded_by",
        "edge_count",
        "vertex_count",
        "component_count",
        "main_component",
        "length_km",
        "report",
        "is_demo",
    ]


@admin.register(RoadEdge)
class RoadEdgeAdmin(_RoleViewAdmin):
    list_display = ["id", "network", "road_class", "surface", "oneway", "length_m", "speed_kmh", "cost_s"]
    list_filter = ["network", "road_class", "oneway"]
    list_select_related = ["network"]
    show_full_result_count = False
    raw_id_fields = ["source", "target"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RoadBarrier)
class RoadBarrierAdmin(_RoleViewAdmin):
    list_display = ["id", "network", "kind", "source_file", "source_description", "source_date", "loaded_at"]
    list_filter = ["network", "kind"]
    list_select_related = ["network"]

    def has_change_permission(self, request, obj=None):
        return False
