"""The analysis results as layers: REST, OGC API – Features, downloads and the analysis map read them.

Registered by AccessibilityConfig.ready(), before the URLconf (api.urls builds its
routes from the registry at import). Rows of every run that stored results
(runs store them with their "done" status in one transaction), filtered by `run`.

Who reads them: as the accessibility pages and API say, any signed-in user with
a role (planners, administrators, akimats) — never anonymous clients. Akimat
users read only the rows of their own region (accounts.permissions.scope_queryset
over `region_field`), the rule of the run's zone tables; rows without a region
(the national total, sites outside every region boundary) are for the ministry only.

Geometry is EPSG:4326: district or region boundaries (MultiPolygon), candidate
sites and settlements (Point), underserved hexagons (Polygon), isochrones (MultiPolygon). Distances are
metres on the WGS 84 ellipsoid; children counts are floats (raster cells hold
fractional people).
"""

from __future__ import annotations

from django.db.models import Case, F, FloatField, Q, QuerySet, Value, When
from django.db.models.functions import Greatest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accessibility.models import AnalysisRun, AreaResult, Isochrone, PointResult, SiteResult, ZoneResult
from gis_portal.geo.collections import Collection, Filter, ParamError, register

# --- shared pieces ----------------------------------------------------------------------------------------

RUN_FILTER = Filter(("run_id",), "int", _("analysis run id(s)"))
IS_DEMO_FILTER = Filter(("run__is_demo",), "bool", _("results of demo runs only (true) or of the others (false)"))
REGION_FILTER = Filter(("region__kato",), "kato", _("region KATO code(s)"))


def _scenario_condition(values: list) -> Q:
    unknown = [v for v in values if v not in ZoneResult.Scenario.values]
    if unknown:
        raise ParamError(
            "scenario",
            gettext("%(value)r is not a scenario; use one of %(allowed)s")
            % {"value": unknown[0], "allowed": ", ".join(ZoneResult.Scenario.values)},
        )
    return Q(scenario__in=values)


def _run_kind_condition(values: list) -> Q:
    unknown = [v for v in values if v not in AnalysisRun.Kind.values]
    if unknown:
        raise ParamError(
            "kind",
            gettext("%(value)r is not an analysis; use one of %(allowed)s")
            % {"value": unknown[0], "allowed": ", ".join(AnalysisRun.Kind.values)},
        )
    return Q(run__kind__in=values)


def _minutes_condition(values: list) -> Q:
    """Whole minutes: a threshold with a fraction of a minute (the API accepts them) matches its nearest whole
    minute, half a minute rounding up."""
    condition = Q()
    for v in values:
        condition |= Q(minutes__gte=v - 0.5, minutes__lt=v + 0.5)
    return condition


MINUTES_FILTER = Filter(
    (),
    "int",
    _("threshold(s), whole minutes of travel (a threshold with a fraction of a minute matches the nearest)"),
    condition=_minutes_condition,
    reads=("minutes",),
)
SCENARIO_FILTER = Filter(
    (),
    "code",
    _("scenario(s): current (as of the run's date), before (the roadmap) or after (every planned facility open)"),
    condition=_scenario_condition,
    reads=("scenario",),
    choices=tuple(ZoneResult.Scenario.values),
)
RUN_KIND_FILTER = Filter(
    (),
    "code",
    _("analysis kind(s): coverage, fca, roadmap, sites, underserved"),
    condition=_run_kind_condition,
    reads=("run_kind",),
    choices=tuple(AnalysisRun.Kind.values),
)


def _selected_condition(values: list) -> Q:
    """`selected=true`: the sites chosen (they have an order); false: the candidates left; both: every site."""
    if len(set(values)) > 1:
        return Q()
    return Q(selected_order__isnull=not values[0])


# Properties every analysis row carries: its run, the kind of analysis, demo or not, when it finished.
RUN_PROPERTIES = {
    "run": "run_id",
    "run_kind": "run__kind",
    "is_demo": "run__is_demo",
    "finished_at": "run__finished_at",
}
RUN_TYPES = {"run": "integer", "is_demo": "boolean"}

# The zone rows' derived figures, as ZoneResult.uncovered / .covered_pct compute them (None when not measured).
UNCOVERED = Case(
    When(covered__isnull=False, then=Greatest(F("children") - F("covered"), Value(0.0))),
    default=None,
    output_field=FloatField(),
)
COVERED_PCT = Case(
    When(covered__isnull=False, children__gt=0, then=Value(100.0) * F("covered") / F("children")),
    default=None,
    output_field=FloatField(),
)
# Within reach but beyond what capacity serves, as ZoneResult.over_capacity (None when served was not computed).
OVER_CAPACITY = Case(
    When(served__isnull=False, covered__isnull=False, then=Greatest(F("covered") - F("served"), Value(0.0))),
    default=None,
    output_field=FloatField(),
)
ZONE_FIGURES = {
    "scenario": "scenario",
    "children": "children",
    "children_served": "served",
    "children_over_capacity": OVER_CAPACITY,
    "children_not_covered": UNCOVERED,
    "covered": "covered",
    "uncovered": UNCOVERED,
    "covered_pct": COVERED_PCT,
    "mean_distance_m": "mean_distance_m",
    "access_per_1000": "access_per_1000",
    "without_access": "without_access",
    "scale_factor": "scale_factor",
}
ZONE_TYPES = {
    **RUN_TYPES,
    **{
        name: "number"
        for name in (
            "children",
            "children_served",
            "children_over_capacity",
            "children_not_covered",
            "covered",
            "uncovered",
            "covered_pct",
            "mean_distance_m",
            "access_per_1000",
            "without_access",
            "scale_factor",
        )
    },
}


# --- selectors (base querysets; the API scopes and filters them) ---------------------------------------------


def district_results() -> QuerySet:
    """Zone rows of one district each (their region is always set)."""
    return ZoneResult.objects.filter(district__isnull=False)


def region_results() -> QuerySet:
    """Region totals: a region and no district (the national total has neither and no geometry)."""
    return ZoneResult.objects.filter(region__isnull=False, district__isnull=True)


def site_rows() -> QuerySet:
    return SiteResult.objects.all()


def area_rows() -> QuerySet:
    """Underserved hexagons; each carries the region of its centroid (set when the run saved them)."""
    return AreaResult.objects.all()


def settlement_rows() -> QuerySet:
    return PointResult.objects.all()


def isochrone_rows() -> QuerySet:
    """Isochrones of the travel-time coverage runs; each belongs to the region of its facility."""
    return Isochrone.objects.all()


# --- the collections -------------------------------------------------------------------------------------------


def collections_register() -> None:

    register(
        Collection(
            id="accessibility-zones",
            title=_("Accessibility by district"),
            description=_(
                "Children served within capacity, within reach but over capacity and not covered (empty where the "
                "run did not compute capacity), children within reach of a facility whatever its capacity (covered), "
                "mean distance to the nearest facility (metres) and places per 1 000 children, per district and "
                "scenario of each analysis run. Signed-in users only; akimat users read their own region."
            ),
            selector=district_results,
            geometry="district__geom",
            geometry_type="MultiPolygon",
            public=False,
            region_field="region",
            public_properties={
                **RUN_PROPERTIES,
                "region": "region__kato",
                "district": "district__kato",
                "name_kk": "district__name_kk",
                "name_ru": "district__name_ru",
                "name_en": "district__name_en",
                **ZONE_FIGURES,
            },
            filters={
                "run": RUN_FILTER,
                "kind": RUN_KIND_FILTER,
                "scenario": SCENARIO_FILTER,
                "region": REGION_FILTER,
                "district": Filter(("district__kato",), "kato", _("district KATO code(s)")),
                "is_demo": IS_DEMO_FILTER,
            },
            ordering={"id": "pk", "run": "run_id", "district": "district__kato", "children": "children"},
            default_ordering="id",
            updated_field="run__finished_at",
            property_types=ZONE_TYPES,
        )
    )

    register(
        Collection(
            id="accessibility-regions",
            title=_("Accessibility by region"),
            description=_(
                "The region totals of each analysis run and scenario: children served within capacity, within reach "
                "but over capacity and not covered, children within reach whatever the capacity (covered), mean "
                "distance to the nearest facility (metres), places per 1 000 children. Signed-in users only; akimat "
                "users read their own region."
            ),
            selector=region_results,
            geometry="region__geom",
            geometry_type="MultiPolygon",
            public=False,
            region_field="region",
            public_properties={
                **RUN_PROPERTIES,
                "region": "region__kato",
                "name_kk": "region__name_kk",
                "name_ru": "region__name_ru",
                "name_en": "region__name_en",
                **ZONE_FIGURES,
            },
            filters={
                "run": RUN_FILTER,
                "kind": RUN_KIND_FILTER,
                "scenario": SCENARIO_FILTER,
                "region": REGION_FILTER,
                "is_demo": IS_DEMO_FILTER,
            },
            ordering={"id": "pk", "run": "run_id", "region": "region__kato", "children": "children"},
            default_ordering="id",
            updated_field="run__finished_at",
            property_types=ZONE_TYPES,
        )
    )

    register(
        Collection(
            id="accessibility-sites",
            title=_("Best new sites"),
            description=_(
                "Candidate sites of the best-sites analyses: rank by the children a facility there would add alone "
                "and, for the sites chosen, the order chosen and the children added then. Signed-in users only; "
                "akimat users read the sites in their own region."
            ),
            selector=site_rows,
            geometry="location",
            geometry_type="Point",
            public=False,
            region_field="region",
            public_properties={
                **RUN_PROPERTIES,
                "region": "region__kato",
                "rank": "rank",
                "label": "label",
                "candidate_ref": "candidate_ref",
                "solo_gain": "solo_gain",
                "selected_order": "selected_order",
                "marginal_gain": "marginal_gain",
            },
            filters={
                "run": RUN_FILTER,
                "region": REGION_FILTER,
                "selected": Filter(
                    (),
                    "bool",
                    _("sites chosen by the analysis (true) or only the other candidates (false)"),
                    condition=_selected_condition,
                    reads=("selected_order",),
                ),
                "is_demo": IS_DEMO_FILTER,
            },
            ordering={"id": "pk", "run": "run_id", "rank": "rank", "solo_gain": "solo_gain"},
            default_ordering="id",
            updated_field="run__finished_at",
            property_types={
                **RUN_TYPES,
                "rank": "integer",
                "solo_gain": "number",
                "selected_order": "integer",
                "marginal_gain": "number",
            },
        )
    )

    register(
        Collection(
            id="accessibility-areas",
            title=_("Underserved areas"),
            description=_(
                "Hexagons of the underserved-areas analyses with the children inside and those with no facility in "
                "reach, most uncovered first (rank). A hexagon belongs to the region of its centroid. Signed-in users "
                "only; akimat users read their own region's hexagons."
            ),
            selector=area_rows,
            geometry="geom",
            geometry_type="Polygon",
            public=False,
            region_field="region",
            public_properties={
                **RUN_PROPERTIES,
                "region": "region__kato",
                "rank": "rank",
                "children": "children",
                "uncovered": "uncovered",
            },
            filters={
                "run": RUN_FILTER,
                "region": REGION_FILTER,
                "is_demo": IS_DEMO_FILTER,
            },
            ordering={"id": "pk", "run": "run_id", "rank": "rank", "uncovered": "uncovered"},
            default_ordering="id",
            updated_field="run__finished_at",
            property_types={**RUN_TYPES, "rank": "integer", "children": "number", "uncovered": "number"},
        )
    )

    register(
        Collection(
            id="accessibility-settlements",
            title=_("Accessibility by settlement"),
            description=_(
                "Per settlement of the analyses whose demand came from settlements: children, distance to the nearest "
                "facility (metres, WGS 84 ellipsoid; empty when no facility exists), covered or not, children served "
                "within capacity, urban or rural and the catchment radius that applied (metres), places per 1 000 "
                "children. Signed-in users only; akimat users read their own region's settlements."
            ),
            selector=settlement_rows,
            geometry="settlement__location",
            geometry_type="Point",
            public=False,
            region_field="settlement__region",
            public_properties={
                **RUN_PROPERTIES,
                "region": "settlement__region__kato",
                "settlement": "settlement_id",
                "name": "settlement__name",
                "scenario": "scenario",
                "children": "children",
                "distance_m": "distance_m",
                "covered": "covered",
                "served": "served",
                "urban": "urban",
                "radius_m": "radius_m",
                "access_per_1000": "access_per_1000",
            },
            filters={
                "run": RUN_FILTER,
                "kind": RUN_KIND_FILTER,
                "scenario": SCENARIO_FILTER,
                "region": Filter(("settlement__region__kato",), "kato", _("region KATO code(s)")),
                "covered": Filter(("covered",), "bool", _("covered settlements (true) or the others (false)")),
                "is_demo": IS_DEMO_FILTER,
            },
            ordering={"id": "pk", "run": "run_id", "children": "children"},
            default_ordering="id",
            updated_field="run__finished_at",
            property_types={
                **RUN_TYPES,
                "settlement": "integer",
                "children": "number",
                "distance_m": "number",
                "covered": "boolean",
                "served": "number",
                "urban": "boolean",
                "radius_m": "number",
                "access_per_1000": "number",
            },
        )
    )

    register(
        Collection(
            id="accessibility-isochrones",
            title=_("Isochrones"),
            description=_(
                "Per facility and threshold of the travel-time coverage runs, the area from which the facility is "
                "reached within that many minutes by road (the stretch to the road off the network included; with a "
                "population raster, the friction grid's cells), and its area in km² (equal-area projection). The "
                "polygons of one facility are nested. Signed-in users only; akimat users read the isochrones of "
                "their own region's facilities."
            ),
            selector=isochrone_rows,
            geometry="geom",
            geometry_type="MultiPolygon",
            public=False,
            region_field="facility__region",
            public_properties={
                **RUN_PROPERTIES,
                "region": "facility__region__kato",
                "facility": "facility_id",
                "facility_kind": "facility__kind_id",
                "name_kk": "facility__name_kk",
                "name_ru": "facility__name_ru",
                "name_en": "facility__name_en",
                "minutes": "minutes",
                "area_km2": "area_km2",
            },
            filters={
                "run": RUN_FILTER,
                "facility": Filter(("facility_id",), "int", _("facility id(s)")),
                "minutes": MINUTES_FILTER,
                "region": Filter(("facility__region__kato",), "kato", _("region KATO code(s)")),
                "is_demo": IS_DEMO_FILTER,
            },
            ordering={"id": "pk", "run": "run_id", "facility": "facility_id", "minutes": "minutes"},
            default_ordering="id",
            updated_field="run__finished_at",
            property_types={**RUN_TYPES, "facility": "integer", "minutes": "number", "area_km2": "number"},
        )
    )
