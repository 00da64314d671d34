"""Forms of tracking; they check input only, the services apply the rules."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib.gis.geos import Point
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from facilities.models import KpiIndicator, ResponsibleBody
from gis_portal.units import size_label
from layers.models import District, Region
from tracking.models import KPI_CODES, NON_CONSTRUCTION_MEASURES, MeasureRecord, Report, Stage
from tracking.plan_xlsx import MAX_BYTES as PLAN_XLSX_MAX_BYTES

DOC_EXTENSIONS = {".pdf", ".jpg", ".jpeg", ".png"}
DOC_MAX_BYTES = 10 * 1024 * 1024


# The file's first bytes must match its extension: a script or an SVG renamed to .jpg is refused.
DOC_MAGIC = {
    ".pdf": (b"%PDF-",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
}


def validate_upload(upload) -> None:
    """PDF/JPEG/PNG by extension AND magic bytes, at most DOC_MAX_BYTES (used by the forms and the API)."""
    if upload is None:
        return
    suffix = Path(upload.name).suffix.lower()
    if suffix not in DOC_EXTENSIONS:
        raise forms.ValidationError(_("allowed files: PDF, JPEG, PNG"))
    if upload.size > DOC_MAX_BYTES:
        raise forms.ValidationError(_("the file is larger than %(limit)s") % {"limit": size_label(DOC_MAX_BYTES)})
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not head.startswith(DOC_MAGIC[suffix]):
        raise forms.ValidationError(_("allowed files: PDF, JPEG, PNG (the content of this file is not one)"))


class DateInput(forms.DateInput):
    input_type = "date"


class StageForm(forms.Form):
    stage = forms.ChoiceField(label=_("stage"), choices=Stage.choices)
    planned_date = forms.DateField(label=_("planned date"), required=False, widget=DateInput)
    actual_date = forms.DateField(label=_("actual date"), required=False, widget=DateInput)
    percent = forms.IntegerField(label=_("percent complete"), required=False, min_value=0, max_value=100)
    places_in_use = forms.IntegerField(label=_("places in use"), required=False, min_value=1)
    doc_number = forms.CharField(label=_("document number"), required=False, max_length=100)
    doc_date = forms.DateField(label=_("document date"), required=False, widget=DateInput)
    doc_file = forms.FileField(label=_("document file"), required=False, validators=[validate_upload])
    photo = forms.FileField(label=_("photo"), required=False, validators=[validate_upload])
    executor = forms.CharField(label=_("responsible executor"), required=False, max_length=300)
    note = forms.CharField(label=_("note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput)


class OverdueReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason for delay"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    version = forms.IntegerField(widget=forms.HiddenInput)


class PlanItemForm(forms.Form):
    measure = forms.TypedChoiceField(label=_("measure"), coerce=int, choices=[(n, n) for n in range(14, 27)])
    region = forms.ModelChoiceField(label=_("region"), queryset=Region.objects.order_by("kato"))
    district = forms.ModelChoiceField(
        label=_("district (optional)"), queryset=District.objects.order_by("kato"), required=False
    )
    year = forms.TypedChoiceField(label=_("year"), coerce=int, choices=[(y, y) for y in (2024, 2025, 2026)])
    count = forms.IntegerField(label=_("number of objects"), min_value=1, max_value=100)
    ppp_count = forms.IntegerField(label=_("of them PPP"), min_value=0, initial=0)
    places_each = forms.IntegerField(label=_("planned places per object"), min_value=1, initial=300)
    longitude = forms.FloatField(
        label=_("longitude (WGS 84, degrees; a row of one object)"), required=False, min_value=-180, max_value=180
    )
    latitude = forms.FloatField(
        label=_("latitude (WGS 84, degrees; a row of one object)"), required=False, min_value=-90, max_value=90
    )
    name_kk = forms.CharField(label=_("name (Kazakh)"), required=False, max_length=300)
    name_ru = forms.CharField(label=_("name (Russian)"), required=False, max_length=300)
    name_en = forms.CharField(label=_("name (English)"), required=False, max_length=300)

    def clean(self):
        data = super().clean()
        if (data.get("longitude") is None) != (data.get("latitude") is None) and not self.errors:
            self.add_error("longitude", _("give both longitude and latitude, or neither"))
        return data

    def location(self) -> Point | None:
        """The row's location (EPSG:4326) from the cleaned longitude and latitude, or None."""
        lon, lat = self.cleaned_data.get("longitude"), self.cleaned_data.get("latitude")
        return None if lon is None or lat is None else Point(lon, lat, srid=4326)


class PlanUploadForm(forms.Form):
    file = forms.FileField(label=_("plan workbook (.xlsx, the template downloaded here)"))
    remove_missing = forms.BooleanField(label=_("remove the rows the file does not list"), required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > PLAN_XLSX_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s; a plan workbook may be at most %(limit)s.")
                % {"size": size_label(upload.size, like=PLAN_XLSX_MAX_BYTES), "limit": size_label(PLAN_XLSX_MAX_BYTES)}
            )
        return upload


class MeasureRecordForm(forms.Form):
    measure = forms.TypedChoiceField(
        label=_("measure"), coerce=int, choices=[(n, n) for n in NON_CONSTRUCTION_MEASURES]
    )
    region = forms.ModelChoiceField(
        label=_("region (for measures of the akimats)"), queryset=Region.objects.order_by("kato"), required=False
    )
    period_end = forms.DateField(label=_("half-year end (measure 11)"), required=False, widget=DateInput)
    status = forms.ChoiceField(label=_("status"), choices=MeasureRecord.Status.choices)
    doc_number = forms.CharField(label=_("document number"), required=False, max_length=100)
    doc_date = forms.DateField(label=_("document date"), required=False, widget=DateInput)
    doc_file = forms.FileField(label=_("document file"), required=False, validators=[validate_upload])
    executor = forms.CharField(label=_("responsible executor"), required=False, max_length=300)
    note = forms.CharField(label=_("note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class PopulationForm(forms.Form):
    region = forms.ModelChoiceField(label=_("region"), queryset=Region.objects.order_by("kato"))
    year = forms.IntegerField(label=_("year"), min_value=2000, max_value=2030)
    value = forms.IntegerField(label=_("school-age children 6–17 (official)"), min_value=1)
    source = forms.CharField(label=_("source (official publication)"), max_length=300)
    source_date = forms.DateField(label=_("date the figure refers to"), required=False, widget=DateInput)


POPULATION_FILE_MAX_BYTES = 10 * 1024 * 1024


class DistrictPopulationForm(forms.Form):
    file = forms.FileField(label=_("file (CSV or Excel .xlsx)"))
    dry_run = forms.BooleanField(label=_("check only, save nothing"), required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in {".csv", ".txt", ".xlsx"}:
            raise forms.ValidationError(_("allowed files: CSV, Excel (.xlsx)"))
        if upload.size > POPULATION_FILE_MAX_BYTES:
            raise forms.ValidationError(
                _("the file is larger than %(limit)s") % {"limit": size_label(POPULATION_FILE_MAX_BYTES)}
            )
        return upload


def half_year_ends() -> list[tuple[str, str]]:
    return [(d.isoformat(), d.isoformat()) for y in range(2023, 2028) for d in (date(y, 6, 30), date(y, 12, 31))]


class KpiMeasurementForm(forms.Form):
    indicator = forms.ModelChoiceField(
        label=_("indicator"), queryset=KpiIndicator.objects.filter(code__in=KPI_CODES).order_by("code")
    )
    region = forms.ModelChoiceField(
        label=_("region (empty: Kazakhstan as a whole)"), queryset=Region.objects.order_by("kato"), required=False
    )
    period_end = forms.TypedChoiceField(label=_("half-year ending"), choices=half_year_ends, coerce=date.fromisoformat)
    value = forms.DecimalField(
        label=_("measured coverage, %"), min_value=0, max_value=100, max_digits=5, decimal_places=2
    )
    source = forms.CharField(label=_("source (publication or letter that reports the value)"), max_length=300)
    source_date = forms.DateField(label=_("date of the source"), widget=DateInput)


def report_dates() -> list[tuple[str, str]]:
    return [(d.isoformat(), d.isoformat()) for y in (2024, 2025, 2026, 2027) for d in (date(y, 1, 1), date(y, 7, 1))]


class ReportForm(forms.Form):
    kind = forms.ChoiceField(label=_("report"), choices=Report.Kind.choices)
    region = forms.ModelChoiceField(label=_("region"), queryset=Region.objects.order_by("kato"), required=False)
    body = forms.ModelChoiceField(label=_("responsible body"), queryset=ResponsibleBody.objects.all(), required=False)
    as_of = forms.TypedChoiceField(label=_("as of"), choices=report_dates, coerce=date.fromisoformat)
    known_at = forms.DateField(label=_("data recorded by (default: the due date)"), required=False, widget=DateInput)
    language = forms.ChoiceField(label=_("language"), choices=settings.LANGUAGES)

    def clean(self):
        data = super().clean()
        if data.get("kind") == Report.Kind.REGION and not data.get("region"):
            self.add_error("region", _("choose the region"))
        if data.get("kind") == Report.Kind.BODY and not data.get("body"):
            self.add_error("body", _("choose the responsible body"))
        return data


class AsOfForm(forms.Form):
    as_of = forms.DateField(label=_("as of"), required=False, widget=DateInput)
    known_at = forms.DateField(label=_("data recorded by (default: the same day)"), required=False, widget=DateInput)


class PublicAsOfForm(forms.Form):
    """The public dashboard's date: the roadmap's years up to today (a future date would only guess)."""

    as_of = forms.DateField(label=_("as of"), required=False, widget=DateInput)

    def clean_as_of(self):
        as_of = self.cleaned_data.get("as_of")
        if as_of is not None and not date(2024, 1, 1) <= as_of <= timezone.localdate():
            raise forms.ValidationError(_("The date must be between 2024-01-01 and today."))
        return as_of
