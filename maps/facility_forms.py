"""The facility editor's form: the plan data of a facility and its location, typed or placed on the map.

It only collects and parses input; facilities.services checks and saves it. Coordinates may be typed
in any coordinate system the parcel imports accept (parcels.crs: WGS 84, UTM, Pulkovo zones) or in a
registered local system; they are transformed on the server to EPSG:4326 by parcels.crs.point_to_wgs84.
"""

from __future__ import annotations

import math

from django import forms
from django.contrib.gis.gdal import GDALException
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from pyproj.exceptions import ProjError

from facilities.models import CONSTRUCTION_MEASURES, FacilityKind, FundingSource, Measure
from facilities.services import FACILITY_FIELDS, PLANNED_YEARS
from layers.models import District, Region
from parcels.crs import ALLOWED_SRIDS, LocalCrs, point_to_wgs84
from parcels.forms import LOCAL_PREFIX, crs_choices
from parcels.import_columns import number_parse
from parcels.models import LocalCoordinateSystem

WGS84 = "4326"


class FacilityForm(forms.Form):
    measure = forms.ModelChoiceField(
        queryset=Measure.objects.filter(number__in=CONSTRUCTION_MEASURES).order_by("number"), label=_("measure")
    )
    kind = forms.ModelChoiceField(queryset=FacilityKind.objects.all(), label=_("kind"))
    region = forms.ModelChoiceField(queryset=Region.objects.order_by("kato"), label=_("region"))
    district = forms.ModelChoiceField(
        queryset=District.objects.select_related("region").order_by("region__kato", "kato"),
        label=_("district"),
        required=False,
        help_text=_("Left empty, it is taken from the location."),
    )
    name_kk = forms.CharField(label=_("name (Kazakh)"), max_length=300)
    name_ru = forms.CharField(label=_("name (Russian)"), max_length=300)
    name_en = forms.CharField(label=_("name (English)"), max_length=300)
    places = forms.IntegerField(label=_("places (capacity)"), min_value=1)
    is_ppp = forms.BooleanField(label=_("public-private partnership"), required=False)
    planned_year = forms.IntegerField(label=_("planned year"), min_value=PLANNED_YEARS[0], max_value=PLANNED_YEARS[-1])
    reference = forms.CharField(label=_("reference number"), max_length=60, required=False)
    # Optional finances; shown to the public only when "publish the finances" is ticked.
    budget_kzt = forms.IntegerField(label=_("budget, KZT"), min_value=0, required=False)
    funding_source = forms.ChoiceField(
        label=_("funding source"), choices=[("", "—"), *FundingSource.choices], required=False
    )
    contractor_name = forms.CharField(label=_("contractor"), max_length=300, required=False)
    contractor_bin = forms.CharField(
        label=_("contractor's BIN"), max_length=12, required=False, help_text=_("12 digits, optional.")
    )
    finances_published = forms.BooleanField(
        label=_("publish the finances"),
        required=False,
        help_text=_("Show the budget, funding source and contractor to the public and in the open data."),
    )
    crs = forms.ChoiceField(label=_("coordinate system of the coordinates"), required=False)
    x = forms.CharField(
        label=_("x: longitude (°) or easting (m)"), required=False, max_length=40, widget=forms.TextInput()
    )
    y = forms.CharField(
        label=_("y: latitude (°) or northing (m)"), required=False, max_length=40, widget=forms.TextInput()
    )
    head = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, editable: frozenset[str], region_id: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.editable = editable
        # Local systems offered: the national ones and those of the facility's region.
        local = LocalCoordinateSystem.objects.filter(is_active=True)
        local = local.filter(Q(region__isnull=True) | Q(region_id=region_id)) if region_id else local
        self.local_systems = {s.pk: s for s in local.order_by("name")}
        choices = crs_choices(local_systems=self.local_systems.values())
        self.fields["crs"].choices = choices[1:]  # typed coordinates have no file to take a system from
        self.fields["crs"].initial = WGS84
        for name in FACILITY_FIELDS:
            if name != "location" and name not in editable:
                self.fields[name].disabled = True
        if "location" not in editable:
            for name in ("crs", "x", "y"):
                self.fields[name].disabled = True

    def _coordinate(self, name: str) -> float | None:
        text = self.cleaned_data.get(name) or ""
        try:
            value = number_parse(text)
        except ValueError:
            self.add_error(name, _("“%(v)s” is not a number.") % {"v": text})
            return None
        return float(value) if value is not None else None

    def clean(self):
        cleaned = super().clean()
        if "location" not in self.editable:
            return cleaned
        x, y = self._coordinate("x"), self._coordinate("y")
        if self.has_error("x") or self.has_error("y"):
            return cleaned
        if x is None and y is None:
            cleaned["location"] = None
            return cleaned
        if x is None or y is None:
            self.add_error("x" if x is None else "y", _("Give both coordinates, or neither."))
            return cleaned
        choice = cleaned.get("crs") or WGS84
        local = None
        if choice.startswith(LOCAL_PREFIX):
            system = self.local_systems.get(int(choice.removeprefix(LOCAL_PREFIX)))
            local = LocalCrs(pk=system.pk, name=system.name, definition=system.definition) if system else None
            label = system.name if system else choice
        else:
            label = ALLOWED_SRIDS.get(int(choice), choice)
        try:
            point = point_to_wgs84(x=x, y=y, srid=None if local else int(choice), local=local)
        except (GDALException, ProjError, ValueError):
            self.add_error("x", _("These coordinates cannot be transformed from %(crs)s.") % {"crs": label})
            return cleaned
        if not (math.isfinite(point.x) and math.isfinite(point.y)):
            self.add_error("x", _("These coordinates cannot be transformed from %(crs)s.") % {"crs": label})
            return cleaned
        cleaned["location"] = point
        return cleaned

    def facility_data(self) -> dict:
        """The values of the fields the user may change, as facilities.services takes them."""
        return {name: self.cleaned_data.get(name) for name in FACILITY_FIELDS if name in self.editable}
