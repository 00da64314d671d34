"""Django admin of parcels and links: GeoDjango map widgets, region scoping and the same checks as the forms.

Saves go through parcels.services (validation, optimistic locking, history);
`clean()` runs the same checks so problems show as form errors.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.gis.geos import MultiPolygon
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.admin_mixins import RegionScopedAdminMixin
from accounts.permissions import Action, scope_queryset
from facilities.models import Facility
from gis_portal.history import history_with_users
from layers.webmap.widgets import EditorGISModelAdmin
from parcels import services
from parcels.models import InfrastructureLink, LocalCoordinateSystem, Parcel, ParcelDocument, Utility


class ParcelAdminForm(forms.ModelForm):
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Parcel
        fields = ["facility", "geom", *services.PARCEL_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        facility = cleaned.get("facility") or (self.instance.facility if self.instance.pk else None)
        geom = cleaned.get("geom")
        if facility is None or geom is None or self.errors:
            return cleaned
        if geom.geom_type == "Polygon":
            geom = cleaned["geom"] = MultiPolygon(geom, srid=4326)
        if geom.srid != 4326:
            geom.transform(4326)
        if (
            self.instance.pk
            and (cleaned.get("expected_version") or 0) != Parcel.objects.get(pk=self.instance.pk).version
        ):
            raise ValidationError(str(services.ParcelConflict(Parcel.objects.get(pk=self.instance.pk).version)))
        data = {k: cleaned.get(k) for k in services.PARCEL_FIELDS}
        problems, _report = services.parcel_validate(
            facility=facility,
            geom=geom,
            data=data,
            parcel=Parcel.objects.get(pk=self.instance.pk) if self.instance.pk else None,
        )
        for problem in problems:
            if problem.severity == "error":
                self.add_error(problem.field if problem.field in self.fields else None, problem.message)
        return cleaned


@admin.register(Parcel)
class ParcelAdmin(RegionScopedAdminMixin, EditorGISModelAdmin):
    form = ParcelAdminForm
    list_display = [
        "id",
        "cadastral_number",
        "facility",
        "region",
        "district",
        "status",
        "declared_area_ha",
        "computed_area_ha",
        "is_demo",
    ]
    list_filter = ["status", "region", "land_category", "is_demo"]
    search_fields = ["cadastral_number", "act_number"]
    list_select_related = ["facility", "region", "district"]
    readonly_fields = [
        "region",
        "district",
        "computed_area_ha",
        "area_srid",
        "version",
        "replaced_by",
        "created_at",
        "updated_at",
    ]
    gis_widget_kwargs = {"attrs": {"default_lon": 67.5, "default_lat": 48.0, "default_zoom": 5}}

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "facility":
            kwargs["queryset"] = scope_queryset(request.user, Facility.objects.all(), action=Action.EDIT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "facility"] if obj else fields

    def save_model(self, request, obj, form, change):
        cleaned = form.cleaned_data
        data = {k: cleaned.get(k) for k in services.PARCEL_FIELDS}
        if change:
            result = services.parcel_update(
                user=request.user,
                parcel_id=obj.pk,
                expected_version=cleaned.get("expected_version") or 0,
                data=data,
                geom=cleaned["geom"],
            )
        else:
            result = services.parcel_create(
                user=request.user, facility=cleaned["facility"], geom=cleaned["geom"], data=data
            )
        obj.pk = result.obj.pk
        for warning in result.warnings:
            self.message_user(request, warning.message, level="warning")


class LinkAdminForm(forms.ModelForm):
    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = InfrastructureLink
        fields = ["parcel", "utility", "route", *services.LINK_FIELDS]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        parcel, utility = cleaned.get("parcel"), cleaned.get("utility")
        if parcel is None or utility is None or self.errors:
            return cleaned
        data = {k: cleaned.get(k) for k in services.LINK_FIELDS}
        problems, _length = services.link_validate(
            data=data, utility=utility, parcel=parcel, route=cleaned.get("route")
        )
        for problem in problems:
            self.add_error(problem.field if problem.field in self.fields else None, problem.message)
        return cleaned


@admin.register(InfrastructureLink)
class InfrastructureLinkAdmin(RegionScopedAdminMixin, EditorGISModelAdmin):
    form = LinkAdminForm
    list_display = ["id", "parcel", "utility", "required", "status", "route_length_m", "provider", "is_demo"]
    list_filter = ["utility", "status", "region", "is_demo"]
    list_select_related = ["parcel", "utility"]
    readonly_fields = ["region", "route_length_m", "version", "updated_at"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "parcel":
            kwargs["queryset"] = scope_queryset(request.user, Parcel.objects.all(), action=Action.EDIT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        cleaned = form.cleaned_data
        data = {k: cleaned.get(k) for k in services.LINK_FIELDS}
        if change:
            result = services.link_update(
                user=request.user,
                link_id=obj.pk,
                expected_version=cleaned.get("expected_version") or 0,
                data=data,
                route=cleaned.get("route"),
                clear_route=cleaned.get("route") is None,
            )
        else:
            result = services.link_create(
                user=request.user,
                parcel=cleaned["parcel"],
                utility=cleaned["utility"],
                data=data,
                route=cleaned.get("route"),
            )
        obj.pk = result.obj.pk


@admin.register(ParcelDocument)
class ParcelDocumentAdmin(RegionScopedAdminMixin, admin.ModelAdmin):
    """Documents are uploaded on the parcel page (type and size checks); the admin lists and deletes them."""

    list_display = ["id", "parcel", "title", "kind", "content_type", "size_bytes", "uploaded_at"]
    readonly_fields = ["parcel", "region", "file", "content_type", "size_bytes", "sha256", "uploaded_by", "uploaded_at"]

    def has_add_permission(self, request):
        return False


@admin.register(Utility)
class UtilityAdmin(admin.ModelAdmin):
    list_display = ["code", "name_kk", "name_ru", "name_en", "capacity_units", "sort_order"]

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    has_view_permission = has_change_permission = has_add_permission = has_delete_permission = (
        lambda self, request, obj=None: request.user.is_active and request.user.is_superuser
    )


class LocalCrsAdminForm(forms.ModelForm):
    class Meta:
        model = LocalCoordinateSystem
        fields = list(services.LOCAL_CRS_FIELDS)
        widgets = {"definition": forms.Textarea(attrs={"rows": 4, "cols": 100})}

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        # The service's checks, shown as form errors (the service runs them again when saving).
        for problem in services.local_crs_problems(data=cleaned):
            self.add_error(problem.field if problem.field in self.fields else None, problem.message)
        return cleaned


class LocalCrsHistoryInline(admin.TabularInline):
    """The system's django-pghistory events, newest first: who changed what, read-only."""

    model = LocalCoordinateSystem.pgh_event_model
    fk_name = "pgh_obj"
    verbose_name = _("history event")
    verbose_name_plural = _("history")
    extra = 0
    can_delete = False
    ordering = ["-pgh_id"]
    fields = ["pgh_created_at", "pgh_label", "who", "name", "region", "is_active", "definition", "test_point"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("pgh_context", "region")

    @admin.display(description=_("by"))
    def who(self, event) -> str:
        return history_with_users([event])[0].who

    @admin.display(description=_("test point"))
    def test_point(self, event) -> str:
        return f"{event.test_x}, {event.test_y} → {event.test_lon}, {event.test_lat} (±{event.tolerance_m} m)"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return services.local_crs_may_administer(request.user)


@admin.register(LocalCoordinateSystem)
class LocalCoordinateSystemAdmin(admin.ModelAdmin):
    """Trusted local systems (МСК): administrators only; saves go through parcels.services.local_crs_save."""

    form = LocalCrsAdminForm
    inlines = [LocalCrsHistoryInline]
    list_display = ["name", "region", "is_active", "tolerance_m", "updated_at"]
    list_filter = ["is_active", "region"]
    search_fields = ["name", "definition"]
    list_select_related = ["region"]
    readonly_fields = ["created_at", "updated_at"]

    def has_module_permission(self, request):
        return services.local_crs_may_administer(request.user)

    def has_view_permission(self, request, obj=None):
        return services.local_crs_may_administer(request.user)

    has_add_permission = has_module_permission

    def has_change_permission(self, request, obj=None):
        return services.local_crs_may_administer(request.user)

    def has_delete_permission(self, request, obj=None):
        return services.local_crs_may_administer(request.user)

    def save_model(self, request, obj, form, change):
        data = {k: form.cleaned_data.get(k) for k in services.LOCAL_CRS_FIELDS}
        saved = services.local_crs_save(user=request.user, data=data, instance=obj if change else None)
        obj.pk = saved.pk
