"""Filters of the map pages (GET forms, so every view of a map is a shareable link)."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from facilities.models import CONSTRUCTION_MEASURES, FacilityKind
from layers.models import Region
from maps import selectors

# Keys of maps.selectors.region_metrics; the KPI codes are tracking's (issue 4).
METRICS = [
    ("progress", _("construction progress (share of facilities done)")),
    ("recreation_coverage", _("KPI: recreation coverage added, p.p.")),
    ("additional_education_coverage", _("KPI: additional education coverage added, p.p.")),
]
EARLIEST_AS_OF = date(2023, 12, 13)  # the order's date: nothing to show before it


def _blank(label):
    return [("", label)]


class FacilityFilterForm(forms.Form):
    """Filters shared by the public and the national map; every field is optional."""

    kind = forms.ChoiceField(label=_("Kind"), required=False)
    region = forms.ChoiceField(label=_("Region"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = _blank(_("all kinds")) + [(k.code, k.name) for k in FacilityKind.objects.all()]
        self.fields["region"].choices = _blank(_("all regions")) + [
            (r.kato, r.name) for r in Region.objects.only("kato", "name_kk", "name_ru", "name_en")
        ]
        self.fields["status"].choices = _blank(_("all statuses")) + list(selectors.status_labels().items())


class NationalMapForm(FacilityFilterForm):
    measure = forms.TypedChoiceField(label=_("Measure"), required=False, coerce=int, empty_value=None)
    as_of = forms.DateField(
        label=_("As of"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    metric = forms.ChoiceField(label=_("Regions coloured by"), choices=METRICS, required=False)

    field_order = ["as_of", "measure", "kind", "status", "region", "metric"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["measure"].choices = _blank(_("all construction measures")) + [
            (n, str(n)) for n in CONSTRUCTION_MEASURES
        ]

    def clean_as_of(self):
        value = self.cleaned_data.get("as_of") or timezone.localdate()
        if value < EARLIEST_AS_OF:
            raise forms.ValidationError(
                _("The date must not be before %(date)s (the date of the order)."),
                params={"date": EARLIEST_AS_OF.isoformat()},
            )
        return value

    def clean_metric(self):
        return self.cleaned_data.get("metric") or "progress"
