"""Forms of the accessibility pages; they build parameters and leave the checks to services."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accessibility import selectors
from accessibility.models import AnalysisRun, PopulationRaster
from accessibility.services import settlements
from accessibility.services.parameters import DEFAULT_THRESHOLDS_MIN, MAX_THRESHOLDS
from facilities.models import FacilityKind
from gis_portal.units import size_label
from layers.analysis.travel import DEFAULT_MAX_SNAP_M
from layers.analysis.urban import DEFAULT_URBAN_MIN_POPULATION
from layers.models import PopulationFigure, Region
from roads.models import RoadNetwork


class RunForm(forms.Form):
    kind = forms.ChoiceField(label=_("Analysis"), choices=AnalysisRun.Kind.choices)
    demand_source = forms.ChoiceField(
        label=_("Children from"),
        choices=[("settlements", _("settlements")), ("raster", _("a population raster"))],
        initial="settlements",
    )
    raster = forms.ModelChoiceField(
        label=_("Population raster"), queryset=PopulationRaster.objects.all(), required=False
    )
    scale_to_official = forms.BooleanField(label=_("Scale the raster to official totals per region"), required=False)
    indicator = forms.ChoiceField(
        label=_("Children counted"),
        choices=PopulationFigure.Indicator.choices,
        initial=PopulationFigure.Indicator.CHILDREN_0_17,
    )
    as_of = forms.DateField(
        label=_("Facilities as of"), initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date"})
    )
    scope = forms.ChoiceField(
        label=_("Facilities counted"),
        choices=[
            ("open_or_planned", _("open or planned by that date")),
            ("open", _("open by that date")),
            ("all", _("all facilities of the plan")),
        ],
    )
    purpose = forms.ChoiceField(
        label=_("Children served by"),
        choices=[
            ("recreation", _("health and recreation centres (measures 14–17)")),
            ("education", _("creative and intellectual objects (measures 18–26)")),
        ],
        initial="recreation",
    )
    urban_min_population = forms.IntegerField(
        label=_("Urban: settlements of at least, inhabitants"),
        initial=DEFAULT_URBAN_MIN_POPULATION,
        min_value=0,
        max_value=10_000_000,
        required=False,
        help_text=_(
            "Urban means lying in a town of at least this many inhabitants (10 000: a city of district "
            "significance, Law of the Republic of Kazakhstan No. 2572-XII of 8 December 1993, article 3): a "
            "settlement of that size, or a raster cell whose centre lies within the town's extent, a disc holding "
            "its population at 1 500 inhabitants/km² (the urban-centre density of the Degree of Urbanisation, UN "
            "Statistical Commission, 2020)."
        ),
    )
    region = forms.ModelChoiceField(
        label=_("Region (empty: whole country)"), queryset=Region.objects.all(), required=False
    )
    reach = forms.ChoiceField(
        label=_("Within reach means"),
        choices=[("distance", _("Distance (km radii)"))],
        initial="distance",
        required=False,  # absent: distance, as before travel time existed
        help_text=_(
            "Travel time needs a road network: an administrator loads one with “manage.py load_roads FILE” (an "
            "OpenStreetMap extract or any line layer; see the README, “Road networks”)."
        ),
    )
    thresholds_min = forms.CharField(
        label=_("Travel time: thresholds, minutes"),
        initial=", ".join(str(m) for m in DEFAULT_THRESHOLDS_MIN),
        required=False,
        help_text=_(
            "Up to 8 values from 1 to 600, separated by commas. The first is the catchment of the headline (children "
            "served within capacity); children within each threshold are counted too."
        ),
    )
    max_snap_m = forms.IntegerField(
        label=_("Travel time: farthest straight stretch to a road, m"),
        initial=int(DEFAULT_MAX_SNAP_M),
        min_value=0,
        max_value=100_000,
        required=False,
        help_text=_("A settlement farther than this from every road and facility is not reachable (not covered)."),
    )
    decay = forms.ChoiceField(
        label=_("2SFCA by travel time: distance decay"),
        choices=[
            ("none", _("none: every facility within the first threshold counts in full")),
            ("gaussian", _("Gaussian (Dai 2010): full weight at the door, none at the first threshold")),
        ],
        initial="none",
        required=False,  # absent: none
    )
    health_urban_m = forms.IntegerField(label=_("Health centres: urban radius, m"), initial=5_000, min_value=1)
    health_rural_m = forms.IntegerField(label=_("Health centres: rural radius, m"), initial=30_000, min_value=1)
    creative_urban_m = forms.IntegerField(
        label=_("Creative centres and art schools: urban radius, m"), initial=3_000, min_value=1
    )
    creative_rural_m = forms.IntegerField(
        label=_("Creative centres and art schools: rural radius, m"), initial=15_000, min_value=1
    )
    k = forms.IntegerField(label=_("Best sites: how many"), initial=5, min_value=1, max_value=1000)
    candidates = forms.ChoiceField(
        label=_("Best sites: candidates"),
        choices=[("settlements", _("settlements")), ("grid", _("a regular grid")), ("parcels", _("candidate parcels"))],
    )
    site_kind = forms.ChoiceField(
        label=_("Best sites: kind of the new facility"),
        choices=[
            ("innovative_creative_centre", _("creative centre")),
            ("art_school", _("art school")),
            ("health_centre", _("health centre")),
            ("year_round_health_centre", _("year-round health centre")),
        ],
        # The new sites serve the children of the run's purpose, recreation by default.
        initial="health_centre",
    )
    method = forms.ChoiceField(
        label=_("Best sites: method"),
        choices=[
            ("greedy", _("greedy (fast, at least 63 per cent of the optimum)")),
            ("exact", _("exact (MILP, may be slow)")),
        ],
    )
    hex_size_m = forms.IntegerField(label=_("Underserved areas: hexagon radius, m"), initial=5_000, min_value=100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Besides the two purposes, a planner may ask for one kind alone (art schools only, …).
        self.fields["purpose"].choices = [
            *self.fields["purpose"].choices,
            *((k.code, _("only: %(kind)s") % {"kind": k.name}) for k in FacilityKind.objects.all()),
        ]
        networks = list(RoadNetwork.objects.order_by("name"))
        if networks:
            # Each network with its label, source and date, so that the planner knows what the times rest on.
            self.fields["reach"].choices = [
                *self.fields["reach"].choices,
                *((f"network:{n.pk}", network_choice_label(n)) for n in networks),
            ]
            self.fields["reach"].help_text = _("Travel time is measured on the chosen road network.")

    def clean(self):
        c = super().clean()
        if (
            c.get("kind") == AnalysisRun.Kind.SITES
            and c.get("purpose")
            and c.get("site_kind")
            and c["site_kind"] not in selectors.purpose_kinds(purpose=c["purpose"])
        ):
            self.add_error(
                "site_kind",
                _(
                    "The new facility's kind does not serve the children chosen in “Children served by”: choose a "
                    "kind of that purpose."
                ),
            )
        if str(c.get("reach", "")).startswith("network:"):
            c["thresholds"] = self._thresholds(c.get("thresholds_min") or "")
        return c

    def _thresholds(self, text: str) -> list[float]:
        parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            self.add_error("thresholds_min", _("Give minutes as numbers separated by commas, e.g. 15, 30, 45, 60."))
            return []
        if not values or len(values) > MAX_THRESHOLDS or any(not 1 <= v <= 600 for v in values):
            self.add_error("thresholds_min", _("Give 1 to 8 thresholds, each from 1 to 600 minutes."))
        elif len(set(values)) != len(values):
            self.add_error("thresholds_min", _("A threshold is repeated."))
        return [int(v) if v == int(v) else v for v in values]

    def parameters(self) -> dict:
        c = self.cleaned_data
        health = {"urban_m": c["health_urban_m"], "rural_m": c["health_rural_m"]}
        creative = {"urban_m": c["creative_urban_m"], "rural_m": c["creative_rural_m"]}
        return {
            "demand": {
                "source": c["demand_source"],
                "raster_id": c["raster"].pk if c["raster"] else None,
                "scale_to_official": c["scale_to_official"],
                "indicator": c["indicator"],
                **(
                    {"urban_min_population": c["urban_min_population"]}
                    if c.get("urban_min_population") is not None
                    else {}
                ),
            },
            "facilities": {"as_of": c["as_of"].isoformat(), "scope": c["scope"], "purpose": c["purpose"]},
            "radii": {
                "year_round_health_centre": health,
                "health_centre": health,
                "innovative_creative_centre": creative,
                "art_school": creative,
            },
            "region_ids": [c["region"].pk] if c["region"] else [],
            "sites": {"k": c["k"], "candidates": c["candidates"], "kind": c["site_kind"], "method": c["method"]},
            "underserved": {"hex_size_m": c["hex_size_m"]},
            **(
                {
                    "travel": {
                        "network": int(c["reach"].split(":", 1)[1]),
                        "thresholds_min": c["thresholds"],
                        "max_snap_m": c["max_snap_m"] if c.get("max_snap_m") is not None else DEFAULT_MAX_SNAP_M,
                        "decay": c.get("decay") or "none",  # read by 2SFCA and the roadmap effect; the others drop it
                    }
                }
                if str(c.get("reach") or "").startswith("network:")
                else {}
            ),
        }


def network_choice_label(network: RoadNetwork) -> str:
    """“Travel time on road network N (minutes)” with the network's label, source and date."""
    details = [
        x
        for x in (
            network.label,
            network.source_description or network.source_file,
            network.source_date.isoformat() if network.source_date else "",
        )
        if x
    ]
    name = f"{network.name} ({'; '.join(details)})" if details else network.name
    return _("Travel time on road network %(name)s (minutes)") % {"name": name}


class SettlementImportForm(forms.Form):
    file = forms.FileField(label=_("CSV, XLSX or GeoJSON file"))
    source = forms.CharField(label=_("Source of the figures"), max_length=300)
    source_date = forms.DateField(
        label=_("Date the figures refer to"),
        required=False,
        help_text=_("Used for the rows without a date column of their own."),
    )

    def clean_file(self):
        f = self.cleaned_data["file"]
        name = f.name.lower()
        if not name.endswith((".csv", ".xlsx", ".geojson", ".json")):
            raise forms.ValidationError(_("Upload a .csv, .xlsx or .geojson file."))
        # The service's own limit (it checks again), looked up when called so that a changed limit applies here too.
        limit = settlements.SETTLEMENT_IMPORT_MAX_BYTES
        if f.size > limit:
            raise forms.ValidationError(_("The file is larger than %(limit)s.") % {"limit": size_label(limit)})
        return f


class RasterRegisterForm(forms.Form):
    file = forms.FileField(label=_("GeoTIFF"))
    name = forms.CharField(label=_("Name"), max_length=200)
    bands = forms.CharField(label=_("Bands that make children (e.g. 1,2,3)"), initial="1")
    indicator = forms.ChoiceField(
        label=_("The summed bands count"),
        choices=PopulationFigure.Indicator.choices,
        initial=PopulationFigure.Indicator.CHILDREN_0_17,
    )
    year = forms.IntegerField(label=_("Year"), min_value=1990, max_value=2100)
    source = forms.CharField(label=_("Source"), max_length=300)

    def clean_bands(self):
        text = self.cleaned_data["bands"]
        try:
            bands = sorted({int(p) for p in text.replace(" ", "").split(",") if p})
        except ValueError:
            raise forms.ValidationError(_("List band numbers separated by commas.")) from None
        if not bands or min(bands) < 1:
            raise forms.ValidationError(_("Band numbers start at 1."))
        return bands

    def clean_file(self):
        f = self.cleaned_data["file"]
        if not f.name.lower().endswith((".tif", ".tiff")):
            raise forms.ValidationError(_("Upload a GeoTIFF (.tif)."))
        return f


class RunRepeatForm(forms.Form):
    """One change of a run's inputs for its repeat (the buttons of the run page); services.repeat_parameters
    checks the values."""

    change = forms.ChoiceField(
        choices=[
            ("demand_source", _("demand source")),
            ("radii_factor", _("radii scaled")),
            ("radii", _("radii set")),
        ]
    )
    demand_source = forms.ChoiceField(
        choices=[("settlements", _("settlements")), ("raster", _("a population raster"))], required=False
    )
    raster = forms.ModelChoiceField(
        label=_("Population raster"),
        queryset=PopulationRaster.objects.all(),
        required=False,
        empty_label=_("the latest registered raster of the same children"),
    )
    radii_factor = forms.FloatField(label=_("Every radius ×"), required=False, min_value=0.1, max_value=10)
    urban_m = forms.FloatField(label=_("Urban radius, m"), required=False, min_value=1, max_value=500_000)
    rural_m = forms.FloatField(label=_("Rural radius, m"), required=False, min_value=1, max_value=500_000)

    def clean(self):
        c = super().clean()
        change = c.get("change")
        # A field that failed its own check already says why; these name a value left out.
        if change == "demand_source" and not c.get("demand_source") and "demand_source" not in self.errors:
            self.add_error("demand_source", _("Choose the demand source of the repeat."))
        if change == "radii_factor" and c.get("radii_factor") is None and "radii_factor" not in self.errors:
            self.add_error("radii_factor", _("Give the factor every radius is multiplied by."))
        typed = ("urban_m", "rural_m")
        if change == "radii" and all(c.get(k) is None for k in typed) and not set(typed) & set(self.errors):
            self.add_error("urban_m", _("Give the urban or the rural radius (metres)."))
        return c

    def change_dict(self) -> dict:
        """The change as services.analysis_run_repeat takes it."""
        c = self.cleaned_data
        if c["change"] == "demand_source":
            out = {"demand_source": c["demand_source"]}
            if c["demand_source"] == "raster" and c["raster"] is not None:
                out["raster_id"] = c["raster"].pk
            return out
        if c["change"] == "radii_factor":
            return {"radii_factor": c["radii_factor"]}
        return {"radii": {k: c[k] for k in ("urban_m", "rural_m") if c[k] is not None}}
