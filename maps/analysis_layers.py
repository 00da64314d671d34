"""The accessibility analysis's layers of the analysis map: underserved areas, recommended sites,
children in settlements, catchments and (travel-time runs) isochrones.

Each reads the run named by ?run=<id> (else the latest finished run of its kind) from the
analysis results' layers (accessibility/collections.py: the same rows, names and scope as the
API), and adds a folium layer with GeoJSON built in PostGIS (EPSG:4326).
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accessibility import geojson, selectors
from accessibility.models import AnalysisRun
from layers.settlement_selectors import OSM_ATTRIBUTION
from layers.webmap.elements import FeatureLayer
from maps.registry import register_analysis_layer


def _run(options, kind: str) -> AnalysisRun | None:
    run_id = options.get("run") if options else None
    if run_id and str(run_id).isdigit():
        run = AnalysisRun.objects.filter(pk=int(run_id), kind=kind, status=AnalysisRun.Status.DONE).first()
        if run is not None:
            return run
    return selectors.latest_done_run(kind=kind)


def build_underserved(*, map, request, options):
    run = _run(options, "underserved")
    if run is None or not selectors.user_can_read(request.user):
        return None
    FeatureLayer(
        data=geojson.areas_geojson(user=request.user, run=run),
        name=str(_("Underserved areas (uncovered children)")),
        options={
            "style": {"color": "#c62828", "weight": 1, "fillOpacity": 0.35},
            "popupFields": [
                ["uncovered", str(_("uncovered children"))],
                ["children", str(_("children"))],
                ["rank", str(_("rank"))],
            ],
        },
    ).add_to(map)
    return {str(_("underserved hexagon")): "#c62828"}


def build_sites(*, map, request, options):
    run = _run(options, "sites")
    if run is None or not selectors.user_can_read(request.user):
        return None
    FeatureLayer(
        data=geojson.sites_geojson(user=request.user, run=run, selected_only=True),
        name=str(_("Recommended sites")),
        options={
            "style": {"color": "#6a1b9a", "radius": 8},
            "popupFields": [
                ["selected_order", str(_("order chosen"))],
                ["marginal_gain", str(_("children added"))],
                ["label", str(_("candidate"))],
            ],
            "urlTemplate": reverse("accessibility:run_detail", args=[run.pk]),
            "urlLabel": str(_("run")),
        },
    ).add_to(map)
    return {str(_("recommended site")): "#6a1b9a"}


def build_population(*, map, request, options):
    run = _run(options, "coverage")
    if run is None or not selectors.user_can_read(request.user) or not run.point_results.exists():
        return None
    # `covered` is a boolean: the browser looks colours up by its text.
    colours = {"true": "#2e7d32", "false": "#c62828"}
    FeatureLayer(
        data=geojson.settlements_geojson(user=request.user, run=run),
        name=str(_("Children in settlements (covered or not)")),
        options={
            "colorBy": "covered",
            "colors": colours,
            "style": {"radius": 5},
            # OSM places are ODbL data: their notice goes with them wherever they are drawn.
            "attribution": OSM_ATTRIBUTION if (run.inputs.get("demand") or {}).get("osm_places") else None,
            "popupFields": [
                ["name", str(_("settlement"))],
                ["children", str(_("children"))],
                ["distance_m", str(_("distance to the nearest facility, m"))],
                # Null (not computed, e.g. an older run) leaves the line out of the popup, never a 0.
                ["served", str(_("children served within capacity"))],
                # The radius the settlement's class (urban or rural) got: the one rule, shown per point.
                ["radius_m", str(_("catchment radius it got (urban or rural), m"))],
            ],
        },
    ).add_to(map)
    return {str(_("children covered")): colours["true"], str(_("children not covered")): colours["false"]}


def build_catchments(*, map, request, options):
    run = _run(options, "coverage")
    # A travel-time run has no radii: its catchments are the isochrones (build_isochrones).
    if run is None or not selectors.user_can_read(request.user) or "radii" not in run.parameters:
        return None
    ids = (run.inputs.get("facilities") or {}).get("ids") or []
    FeatureLayer(
        data=geojson.catchments_geojson(facility_ids=ids, radii=run.parameters["radii"]),
        name=str(_("Catchments (rural radius)")),
        options={
            "style": {"color": "#1e88e5", "weight": 1, "fillOpacity": 0.08},
            "popupFields": [["radius_m", str(_("radius, m"))]],
        },
        show=False,
    ).add_to(map)
    return {str(_("catchment")): "#1e88e5"}


# Isochrone fills, the smallest threshold darkest: nested polygons are drawn largest first, each lighter.
ISOCHRONE_COLOURS = ("#0d47a1", "#1565c0", "#1976d2", "#1e88e5", "#2196f3", "#42a5f5", "#64b5f6", "#90caf9")


def _js_number(value: float) -> str:
    """The text JavaScript gives a number (the key the browser looks a colour up by): 30 for 30.0."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def build_isochrones(*, map, request, options):
    run = _run(options, "coverage")
    if run is None or not selectors.user_can_read(request.user) or not run.parameters.get("travel"):
        return None
    minutes = sorted(float(m) for m in run.parameters["travel"]["thresholds_min"])
    # Spread over the ramp: the smallest threshold the darkest, the largest the lightest (at most 8 thresholds).
    last = len(ISOCHRONE_COLOURS) - 1
    colours = {
        _js_number(m): ISOCHRONE_COLOURS[min(last, round(i * last / max(len(minutes) - 1, 1)))]
        for i, m in enumerate(minutes)
    }
    FeatureLayer(
        data=geojson.isochrones_geojson(user=request.user, run=run),
        name=str(_("Isochrones (minutes of travel)")),
        options={
            "colorBy": "minutes",
            "colors": colours,
            "style": {"weight": 1, "fillOpacity": 0.3},
            "tooltipFromPopup": True,
            "title": "name",
            "lang": (get_language() or "kk")[:2],
            "popupFields": [
                ["minutes", str(_("minutes of travel"))],
                ["area_km2", str(_("area, km²"))],
            ],
            "decimals": {"minutes": 1, "area_km2": 1},
        },
    ).add_to(map)
    return {str(_("within %(minutes)s min")) % {"minutes": f"{m:g}"}: colours[_js_number(m)] for m in minutes}


def analysis_layers_register() -> None:
    register_analysis_layer(
        key="accessibility_population", label=_("Children in settlements"), build=build_population, order=10
    )
    register_analysis_layer(key="accessibility_catchments", label=_("Catchments"), build=build_catchments, order=20)
    register_analysis_layer(key="accessibility_isochrones", label=_("Isochrones"), build=build_isochrones, order=25)
    register_analysis_layer(
        key="accessibility_underserved", label=_("Underserved areas"), build=build_underserved, order=30
    )
    register_analysis_layer(key="accessibility_sites", label=_("Recommended sites"), build=build_sites, order=40)
