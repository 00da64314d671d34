"""Forms of the parcel pages. They only collect and parse input; parcels.services checks and saves it."""

from __future__ import annotations

from django import forms
from django.contrib.gis.geos import MultiPolygon
from django.utils.translation import gettext_lazy as _

from accounts.permissions import Action, scope_queryset
from facilities.models import Facility
from parcels import selectors
from parcels.geometry import geometry_from_geojson
from parcels.io import SRID_GROUPS
from parcels.models import (
    DocumentKind,
    LandCategory,
    LandRight,
    LinkStatus,
    LocalCoordinateSystem,
    ParcelStatus,
    Utility,
)


class ParcelForm(forms.Form):
    facility = forms.ModelChoiceField(queryset=Facility.objects.none(), label=_("facility"))
    cadastral_number = forms.CharField(
        label=_("cadastral number"), required=False, max_length=20, help_text=_("format NN-NNN-NNN-NNN(N)")
    )
    declared_area_ha = forms.DecimalField(label=_("declared area, ha"), max_digits=10, decimal_places=4, min_value=0)
    land_category = forms.ChoiceField(label=_("land category"), choices=LandCategory.choices)
    right_type = forms.ChoiceField(label=_("right granted"), choices=LandRight.choices)
    status = forms.ChoiceField(label=_("status"), choices=ParcelStatus.choices)
    act_number = forms.CharField(label=_("act number"), required=False, max_length=60)
    act_date = forms.DateField(label=_("act date"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    issuing_akimat = forms.CharField(label=_("issuing akimat"), required=False, max_length=300)
    term_years = forms.IntegerField(label=_("term, years"), required=False, min_value=1, max_value=99)
    notes = forms.CharField(label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    geom = forms.CharField(
        label=_("boundary (drawn on the map, GeoJSON in EPSG:4326)"),
        widget=forms.Textarea(attrs={"rows": 3, "class": "geom-input"}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, user=None, parcel=None, **kwargs):
        super().__init__(*args, **kwargs)
        qs = scope_queryset(user, Facility.objects.select_related("region"), action=Action.EDIT).order_by(
            "region__kato", "id"
        )
        self.fields["facility"].queryset = qs
        if parcel is not None:
            # The facility of an existing parcel does not change; replacing is a separate action.
            self.fields["facility"].disabled = True

    def clean_geom(self):
        geom = geometry_from_geojson(text=self.cleaned_data["geom"], kinds=("Polygon", "MultiPolygon"))
        if geom.geom_type == "Polygon":
            geom = MultiPolygon(geom, srid=4326)
        return geom

    def parcel_data(self) -> dict:
        return {k: self.cleaned_data.get(k) for k in (
            "cadastral_number", "declared_area_ha", "land_category", "right_type", "status",
            "act_number", "act_date", "issuing_akimat", "term_years", "notes",
        )}  # fmt: skip


class LinkForm(forms.Form):
    utility = forms.ModelChoiceField(queryset=Utility.objects.all(), label=_("utility"))
    required = forms.BooleanField(label=_("required"), required=False, initial=True)
    status = forms.ChoiceField(label=_("status"), choices=LinkStatus.choices)
    capacity = forms.DecimalField(label=_("required capacity"), required=False, max_digits=12, decimal_places=3)
    capacity_unit = forms.CharField(label=_("capacity unit"), required=False, max_length=20)
    provider = forms.CharField(label=_("provider organisation"), required=False, max_length=300)
    balance_act_number = forms.CharField(label=_("balance-delimitation act number"), required=False, max_length=60)
    balance_act_date = forms.DateField(
        label=_("balance-delimitation act date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    planned_connection_date = forms.DateField(
        label=_("planned connection date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    actual_connection_date = forms.DateField(
        label=_("actual connection date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    cost_kzt = forms.DecimalField(label=_("cost, KZT"), required=False, max_digits=16, decimal_places=2)
    route = forms.CharField(
        label=_("route (line from the network to the parcel, GeoJSON in EPSG:4326)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "geom-input"}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, link=None, **kwargs):
        super().__init__(*args, **kwargs)
        if link is not None:
            self.fields["utility"].disabled = True

    def clean_route(self):
        text = (self.cleaned_data.get("route") or "").strip()
        if not text:
            return None
        return geometry_from_geojson(text=text, kinds=("LineString",))

    def link_data(self) -> dict:
        return {k: self.cleaned_data.get(k) for k in (
            "required", "status", "capacity", "capacity_unit", "provider", "balance_act_number",
            "balance_act_date", "planned_connection_date", "actual_connection_date", "cost_kzt",
        )}  # fmt: skip


class DocumentForm(forms.Form):
    title = forms.CharField(label=_("title"), max_length=200)
    kind = forms.ChoiceField(label=_("kind"), choices=DocumentKind.choices)
    file = forms.FileField(label=_("scan (PDF, JPEG or PNG)"))


LOCAL_PREFIX = "local:"
CRS_GROUP_LABELS = {
    "wgs84": _("WGS 84"),
    "pulkovo1942": _("Pulkovo 1942"),
    "pulkovo1995": _("Pulkovo 1995"),
}


def crs_choices(*, local_systems=()) -> list:
    """The import's CRS select: EPSG codes grouped by datum, then the local systems offered to the user."""
    choices: list = [("", _("from the file (or WGS 84)"))]
    choices += [
        (CRS_GROUP_LABELS[key], [(str(code), label) for code, label in group.items()])
        for key, group in SRID_GROUPS.items()
    ]
    local = [(f"{LOCAL_PREFIX}{system.pk}", system.name) for system in local_systems]
    if local:
        choices.append((_("Local systems (МСК)"), local))
    return choices


class ImportForm(forms.Form):
    file = forms.FileField(label=_("file (GeoJSON, zipped Shapefile, KML/KMZ, GeoPackage, CSV with WKT)"))
    srid = forms.ChoiceField(
        label=_("coordinate system when the file has none"),
        required=False,
        help_text=_(
            "Gauss-Kruger “zone N” systems expect eastings with the zone number in front (zone 24: "
            "24 500 000 m); “CM” systems expect them without it (500 000 m). A local system (МСК) not "
            "in the list is registered by an administrator."
        ),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.local_systems = {s.pk: s for s in selectors.local_crs_offered(user=user)} if user is not None else {}
        self.fields["srid"].choices = crs_choices(local_systems=self.local_systems.values())

    def clean_srid(self) -> int | LocalCoordinateSystem | None:
        value = self.cleaned_data.get("srid") or ""
        if value.startswith(LOCAL_PREFIX):
            return self.local_systems[int(value.removeprefix(LOCAL_PREFIX))]
        return int(value) if value else None

    def crs_choice(self) -> tuple[int | None, LocalCoordinateSystem | None]:
        """(EPSG code, local system) chosen: at most one of them is set."""
        value = self.cleaned_data.get("srid")
        if isinstance(value, LocalCoordinateSystem):
            return None, value
        return value, None


class ImportChoicesForm(forms.Form):
    """The preview's answers, per row of the file: its facility (or "skip"), Repair, Skip.

    Fields are named `facility_<n>`, `repair_<n>`, `skip_<n>` for the row numbers `rows` offers.
    Only the form is checked here; that a chosen facility is one of the row's candidates and may
    be edited is checked by parcels.uploads.import_choices_save.
    """

    SKIP = "skip"

    def __init__(self, *args, rows: list, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            if row.candidates or row.action == "choose":
                self.fields[f"facility_{row.number}"] = forms.CharField(
                    required=False, max_length=20, label=_("facility of row %(n)s") % {"n": row.number}
                )
            if row.repairable:
                self.fields[f"repair_{row.number}"] = forms.BooleanField(required=False, label=_("Repair"))
            self.fields[f"skip_{row.number}"] = forms.BooleanField(required=False, label=_("Skip"))

    def clean(self):
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if name.startswith("facility_") and value and value != self.SKIP and not value.isdigit():
                self.add_error(None, _("Row %(n)s: choose a facility from the list.") % {"n": name[9:]})
        return cleaned

    def choices(self) -> dict:
        """The answers as ParcelImportUpload.choices: {"rows": {"<n>": {"facility": id, "skip": …, "repair": …}}}."""
        rows: dict[str, dict] = {}
        for row in self.rows:
            answer: dict = {}
            facility = self.cleaned_data.get(f"facility_{row.number}") or ""
            if self.cleaned_data.get(f"skip_{row.number}") or facility == self.SKIP:
                answer["skip"] = True
            elif facility.isdigit():
                answer["facility"] = int(facility)
            if self.cleaned_data.get(f"repair_{row.number}"):
                answer["repair"] = True
            if answer:
                rows[str(row.number)] = answer
        return {"rows": rows}


class ExportFilterForm(forms.Form):
    region = forms.CharField(required=False, max_length=9)
    status = forms.ChoiceField(required=False, choices=[("", "—"), *ParcelStatus.choices])
    q = forms.CharField(required=False, max_length=100)
    format = forms.ChoiceField(
        required=False,
        choices=[("geojson", "GeoJSON"), ("gpkg", "GeoPackage"), ("shp", "Shapefile (zip)"), ("csv", "CSV")],
    )

    def clean_region(self):
        value = self.cleaned_data.get("region") or ""
        if value and not (value.isdigit() and len(value) == 9):
            raise forms.ValidationError(_("A region is given by its 9-digit KATO code."))
        return value
