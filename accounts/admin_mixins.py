"""Admin permissions derived from accounts.permissions rather than per-model Django permissions."""

from accounts.permissions import Action, can, may_write_some, scope_queryset, user_has_role


class RegionScopedAdminMixin:
    """For models with a region: staff see and change only what `accounts.permissions.can` allows.

    `write_action` is Action.EDIT for akimat records (parcels, links, stages) and
    Action.PLAN for ministry records (facilities of the consolidated plan).
    """

    write_action: Action = Action.EDIT
    region_field: str = "region"

    def _region_id(self, obj) -> int | None:
        value = obj
        for part in self.region_field.split("__"):
            value = getattr(value, part, None)
        return getattr(value, "pk", None)

    def get_queryset(self, request):
        return scope_queryset(request.user, super().get_queryset(request), region_field=self.region_field)

    def has_module_permission(self, request):
        return user_has_role(request.user)

    def has_view_permission(self, request, obj=None):
        if not user_has_role(request.user):
            return False
        return obj is None or can(request.user, Action.VIEW, region_id=self._region_id(obj))

    def has_add_permission(self, request):
        return user_has_role(request.user) and self._may_write(request.user, None)

    def has_change_permission(self, request, obj=None):
        return self._may_write(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_write(request.user, obj)

    def _may_write(self, user, obj) -> bool:
        if obj is None:
            # List-level: may the user write anything at all of this model?
            return may_write_some(user, action=self.write_action)
        return can(user, self.write_action, region_id=self._region_id(obj))
