"""Django admin of the roadmap and its facilities. A facility's save goes through facilities.services
(the location check, the editing policy, the history head as optimistic lock), like the facility pages."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from accounts.admin_mixins import RegionScopedAdminMixin
from accounts.permissions import Action
from facilities import services
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
from gis_portal.history import history_head
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


class FacilityAdminForm(forms.ModelForm):
    """The facility's fields the user may change (the others are read-only), checked by facilities.services."""

    expected_head = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Facility
        fields = list(services.FACILITY_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_head"].initial = history_head(self.instance.events.all())

    def changed_values(self) -> dict:
        """The posted values of the facility's fields on the form (read-only ones are not on it)."""
        return {name: self.cleaned_data.get(name) for name in services.FACILITY_FIELDS if name in self.fields}

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        location = cleaned.get("location")
        if location is not None and location.srid != 4326:
            location.transform(4326)
        if self.instance.pk:
            if (cleaned.get("expected_head") or 0) != history_head(self.instance.events.all()):
                raise ValidationError(services.FacilityConflict().messages)
            facility = Facility.objects.get(pk=self.instance.pk)
            problems = services.facility_validate(data=self.changed_values(), facility=facility)
        else:
            problems = services.facility_validate(data=self.changed_values())
        for problem in problems:
            self.add_error(problem.field if problem.field in self.fields else None, problem.message)
        return cleaned


@admin.register(Facility)
class FacilityAdmin(RegionScopedAdminMixin, EditorGISModelAdmin):
    """Facilities of the consolidated plan: the ministry plans them; akimats place their region's.

    Who may change which field is facilities.services.facility_editable_fields (the facility pages
    use it too): an akimat land department sees the plan data read-only and may move the point.
    """

    form = FacilityAdminForm
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
    readonly_fields = ["is_demo", "created_at", "updated_at"]
    gis_widget_kwargs = {"attrs": {"default_lon": 67.5, "default_lat": 48.0, "default_zoom": 5}}

    def _editable(self, request, obj) -> frozenset[str]:
        if obj is None:
            return frozenset(services.FACILITY_FIELDS) if self._may_write(request.user, None) else frozenset()
        return services.facility_editable_fields(request.user, region_id=obj.region_id)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return super().has_change_permission(request, obj) or bool(self.get_queryset(request).exists())
        return bool(self._editable(request, obj))

    def get_readonly_fields(self, request, obj=None):
        fixed = list(super().get_readonly_fields(request, obj))
        editable = self._editable(request, obj)
        return fixed + [name for name in services.FACILITY_FIELDS if name not in editable]

    def save_model(self, request, obj, form, change):
        if change:
            saved = services.facility_update(
                user=request.user,
                facility_id=obj.pk,
                expected_head=form.cleaned_data.get("expected_head") or 0,
                data=form.changed_values(),
            )
        else:
            saved = services.facility_create(user=request.user, data=form.changed_values())
        obj.pk = saved.pk
