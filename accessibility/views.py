"""Pages of the accessibility analysis: runs (list, detail with tables, map and progress), imports, downloads."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import folium
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from accessibility import comparison, geojson, selectors, services
from accessibility.forms import RasterRegisterForm, RunForm, RunRepeatForm, SettlementImportForm
from accessibility.headline import capacity_headlines, travel_thresholds
from accessibility.models import AnalysisRun
from accessibility.notes import note_text
from accounts.permissions import user_region_id
from layers.settlement_selectors import OSM_ATTRIBUTION, settlement_attribution
from layers.webmap.builders import base_map, map_parts

SUMMARY_LABELS = {
    "children": gettext_lazy("children"),
    "covered": gettext_lazy("children within reach (whatever the capacity)"),
    "covered_pct": gettext_lazy("children within reach (whatever the capacity), %"),
    "children_total": gettext_lazy("children counted"),
    "children_served": gettext_lazy("children served within capacity"),
    "children_over_capacity": gettext_lazy("children within reach but over capacity"),
    "children_not_covered": gettext_lazy("children not covered"),
    "covered_within_reach_pct": gettext_lazy("within reach of a facility, whatever its capacity, %"),
    "served_pct": gettext_lazy("children served within capacity, %"),
    "capacity_total": gettext_lazy("capacity counted (places × shifts a year)"),
    "facilities": gettext_lazy("facilities counted"),
    "locations": gettext_lazy("populated places or cells"),
    "access_per_1000": gettext_lazy("places per 1 000 children reachable"),
    "children_without_access": gettext_lazy("children with no facility in reach"),
    "places": gettext_lazy("places in the facilities"),
    "uncovered_before": gettext_lazy("uncovered children before the new sites"),
    "added": gettext_lazy("children added by the chosen sites"),
    "uncovered_after": gettext_lazy("uncovered children after the new sites"),
    "upper_bound": gettext_lazy("proven upper bound of the optimum"),
    "certified_ratio": gettext_lazy("share of the optimum proven reached"),
    "method": gettext_lazy("method"),
    "optimal": gettext_lazy("proven optimal"),
    "k": gettext_lazy("sites asked"),
    "selected": gettext_lazy("sites chosen"),
    "candidates": gettext_lazy("candidates"),
    "hexagons_with_children": gettext_lazy("hexagons with children"),
    "kept": gettext_lazy("hexagons kept"),
    "cells_not_reachable": gettext_lazy("populated cells not reachable (outside the friction grid)"),
}

# The numbers of the comparison page (accessibility.comparison): headline keys and zone keys.
COMPARISON_LABELS = {
    "children_total": gettext_lazy("children"),
    "children_served": gettext_lazy("children served within capacity"),
    "children_over_capacity": gettext_lazy("children within reach but over capacity"),
    "children_not_covered": gettext_lazy("children not covered"),
    "children_within_reach": gettext_lazy("children within reach (whatever the capacity)"),
    "covered_within_reach_pct": gettext_lazy("within reach (whatever the capacity), %"),
    "served_pct": gettext_lazy("served within capacity, %"),
    "children": gettext_lazy("children"),
    "served": gettext_lazy("served within capacity"),
    "over_capacity": gettext_lazy("within reach but over capacity"),
    "not_covered": gettext_lazy("not covered"),
    "within_reach": gettext_lazy("within reach (whatever the capacity)"),
    "within_reach_pct": gettext_lazy("within reach, %"),
    "headline_minutes": gettext_lazy("catchment of the headline, minutes of travel"),
    "children_not_reachable": gettext_lazy("children not reachable (too far from every road)"),
    "settlements_not_reachable": gettext_lazy("settlements not reachable (too far from every road)"),
    "mean_time_min": gettext_lazy("mean travel time to the nearest facility, minutes (children reached)"),
}


def summary_items(summary: dict) -> list[tuple]:
    """(label, formatted value) of a run's summary; (label, before, after) for the roadmap effect."""
    if set(summary) == {"before", "after"}:
        before, after = dict(summary_items(summary["before"])), dict(summary_items(summary["after"]))
        return [(label, before.get(label, "—"), after.get(label, "—")) for label in after]
    items = []
    for key, value in summary.items():
        if isinstance(value, list | dict):
            continue  # lists (facilities reaching nobody) have their own table on the page
        label = str(SUMMARY_LABELS.get(key, key))
        if isinstance(value, bool):
            text = _("yes") if value else _("no")
        elif isinstance(value, float):
            text = f"{value:,.3f}" if key == "certified_ratio" else f"{value:,.1f}"
        else:
            text = str(value)
        items.append((label, text))
    return items


def _deny(request):
    if not request.user.is_authenticated:
        return redirect(f"{reverse('login')}?next={request.get_full_path()}")
    return HttpResponseForbidden(_("Your role does not allow this page."))


def _run_or_404(request, pk: int) -> AnalysisRun:
    run = selectors.run_get(user=request.user, run_id=pk)
    if run is None:
        raise Http404(_("No such analysis run."))
    return run


@require_http_methods(["GET", "POST"])
def run_list(request):
    if not selectors.user_can_read(request.user):
        return _deny(request)
    can_run = selectors.user_can_run(request.user)
    form = RunForm(request.POST or None) if can_run else None
    if request.method == "POST":
        if not can_run:
            return _deny(request)
        if form.is_valid():
            try:
                run = services.analysis_run_create(
                    kind=form.cleaned_data["kind"], parameters=form.parameters(), user=request.user
                )
            except services.RunParameterError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("The analysis is queued; this page shows its progress."))
                return redirect("accessibility:run_detail", pk=run.pk)
    runs = list(selectors.run_list(user=request.user)[:100])
    return render(
        request,
        "accessibility/run_list.html",
        {"runs": runs, "form": form, "can_run": can_run, "demo_present": any(r.is_demo for r in runs)},
    )


def run_detail(request, pk: int):
    if not selectors.user_can_read(request.user):
        return _deny(request)
    run = _run_or_404(request, pk)
    scenarios = ["before", "after"] if run.kind == AnalysisRun.Kind.ROADMAP else ["current"]
    tables = []
    for scenario in scenarios:
        rows = list(selectors.zone_results(user=request.user, run=run, scenario=scenario, level="region"))
        national = list(selectors.zone_results(user=request.user, run=run, scenario=scenario, level="national"))
        outside = list(selectors.zone_results(user=request.user, run=run, scenario=scenario, level="outside"))
        tables.append(
            {
                "scenario": scenario,
                "rows": rows,
                "outside": outside[0] if outside else None,
                "national": national[0] if national else None,
            }
        )
    side_by_side = None
    if run.kind == AnalysisRun.Kind.ROADMAP and len(tables) == 2:
        after = {r.region_id: r for r in tables[1]["rows"]}
        side_by_side = [(b, after.get(b.region_id)) for b in tables[0]["rows"]]
    bins = list(run.distance_bins.filter(scenario=scenarios[-1]))
    context = {
        "run": run,
        "summary": summary_items(run.summary),
        "headlines": capacity_headlines(kind=run.kind, summary=run.summary),
        "travel": run.inputs.get("travel"),
        "travel_thresholds": travel_thresholds(summary=run.summary),
        "notes": [note_text(n) for n in run.notes],
        "kind_shares": selectors.children_kind_shares(run=run),
        "osm_attribution": OSM_ATTRIBUTION,
        "tables": tables,
        "side_by_side": side_by_side,
        "bins": bins,
        "sites": list(selectors.site_results(user=request.user, run=run)[:200]),
        "areas": list(selectors.area_results(user=request.user, run=run)[:50]),
        "map": _run_map(run, user=request.user, nonce=getattr(request, "csp_nonce", None))
        if run.status == AnalysisRun.Status.DONE
        else None,
        "can_run": selectors.user_can_run(request.user),
        "repeat_form": RunRepeatForm(),
        "repeats": list(selectors.run_list(user=request.user).filter(repeat_of=run)),
        "demo_present": run.is_demo,
        "has_raster_output": (services.run_output_dir(run) / "distance_m_current.tif").exists(),
    }
    return render(request, "accessibility/run_detail.html", context)


def _run_map(run: AnalysisRun, *, user, nonce: str | None = None):
    """The run's map: districts shaded by coverage/access, underserved hexagons and recommended sites."""
    m = base_map(aria_label=_("Analysis map"), height="60vh")
    scenario = "after" if run.kind == AnalysisRun.Kind.ROADMAP else "current"
    metric = "access_per_1000" if run.kind == AnalysisRun.Kind.FCA else "covered"
    fields, aliases = ["name_en", "children"], [_("District"), _("Children")]
    if any(h.computed for h in capacity_headlines(kind=run.kind, summary=run.summary)):
        fields += ["children_served", "children_over_capacity", "children_not_covered"]
        aliases += [_("Served within capacity"), _("Within reach but over capacity"), _("Not covered")]
    if metric == "covered":
        fields.append("covered")
        aliases.append(_("Within reach of a facility, whatever its capacity"))
    else:
        fields.append(metric)
        aliases.append(_("Places per 1 000 children"))
    folium.GeoJson(
        geojson.districts_geojson(run=run, scenario=scenario, region_ids=run.parameters.get("region_ids") or None),
        name=_("Districts"),
        style_function=lambda f, metric=metric: _district_style(f, metric),
        tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases),
    ).add_to(m)
    if run.kind == AnalysisRun.Kind.UNDERSERVED:
        folium.GeoJson(
            geojson.areas_geojson(user=user, run=run),
            name=_("Underserved areas"),
            style_function=lambda f: {"color": "#c62828", "weight": 1, "fillOpacity": 0.4},
            tooltip=folium.GeoJsonTooltip(fields=["rank", "uncovered"], aliases=[_("Rank"), _("Uncovered children")]),
        ).add_to(m)
    sites = geojson.sites_geojson(user=user, run=run, selected_only=True) if run.kind == AnalysisRun.Kind.SITES else ""
    # No site chosen (every candidate adds nobody, e.g. all beyond the travel time): no layer, whose tooltip
    # would have no field to show.
    if sites and json.loads(sites)["features"]:
        folium.GeoJson(
            sites,
            name=_("Recommended sites"),
            marker=folium.CircleMarker(radius=8, color="#6a1b9a", fill=True, fill_opacity=0.9),
            tooltip=folium.GeoJsonTooltip(
                fields=["selected_order", "marginal_gain", "label"],
                aliases=[_("Order"), _("Children added"), _("Candidate")],
            ),
        ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    return {"parts": map_parts(m, nonce=nonce)}


def _district_style(feature, metric):
    p = feature["properties"]
    children = p.get("children") or 0
    value = p.get(metric)
    if not children or value is None:
        return {"color": "#90a4ae", "weight": 0.5, "fillOpacity": 0.05}
    share = value / children if metric == "covered" else min(value / 50.0, 1.0)
    red, green = int(220 * (1 - share)), int(160 * share)
    return {"color": "#607d8b", "weight": 0.5, "fillColor": f"#{red:02x}{green:02x}40", "fillOpacity": 0.55}


def run_districts(request, pk: int):
    if not selectors.user_can_read(request.user):
        return _deny(request)
    run = _run_or_404(request, pk)
    rows = list(selectors.district_table_rows(user=request.user, run=run))
    return render(request, "accessibility/run_districts.html", {"run": run, "rows": rows, "demo_present": run.is_demo})


@require_POST
def run_rerun(request, pk: int):
    if not selectors.user_can_run(request.user):
        return _deny(request)
    run = _run_or_404(request, pk)
    new = services.analysis_run_rerun(run=run, user=request.user)
    messages.success(request, _("A new run with the same parameters is queued."))
    return redirect("accessibility:run_detail", pk=new.pk)


@require_POST
def run_repeat(request, pk: int):
    """Repeat the run with one input changed (the buttons of the run page); the new run's page compares."""
    if not selectors.user_can_run(request.user):
        return _deny(request)
    run = _run_or_404(request, pk)
    form = RunRepeatForm(request.POST)
    if not form.is_valid():
        for name, errors in form.errors.items():
            label = form.fields[name].label if name in form.fields else None
            for error in errors:
                messages.error(request, f"{label}: {error}" if label else error)
        return redirect("accessibility:run_detail", pk=run.pk)
    try:
        new = services.analysis_run_repeat(run=run, change=form.change_dict(), user=request.user)
    except services.RunParameterError as exc:
        messages.error(request, _("The run cannot be repeated so: %(problem)s") % {"problem": exc})
        return redirect("accessibility:run_detail", pk=run.pk)
    messages.success(request, _("The repeat is queued; its page compares it with run #%(pk)s.") % {"pk": run.pk})
    return redirect("accessibility:run_detail", pk=new.pk)


def run_compare(request, pk: int, other: int):
    """Two runs side by side: the parameters that differ, the headline numbers, the numbers per region."""
    if not selectors.user_can_read(request.user):
        return _deny(request)
    a, b = _run_or_404(request, pk), _run_or_404(request, other)
    found = comparison.run_comparison(user=request.user, a=a, b=b)
    for scenario in found["scenarios"]:
        scenario["headline"] = [_comparison_cells(p) for p in scenario["headline"]]
        for zone in scenario["zones"]:
            zone["numbers"] = [_comparison_cells(p) for p in zone["numbers"]]
    context = {"comparison": found, "demo_present": a.is_demo or b.is_demo}
    return render(request, "accessibility/run_compare.html", context)


def _number_text(value: float | None, *, pct: bool, signed: bool = False) -> str:
    if value is None:
        return str(_("not computed"))
    sign = "+" if signed and value else ""
    return f"{value:{sign},.1f}" if pct else f"{value:{sign},.0f}"


def _comparison_cells(pair: dict) -> dict:
    """A compared number as the page shows it: label, both values and the signed difference, formatted;
    a number a run did not compute reads "not computed", a difference with it "—"."""
    pct = pair["key"].endswith("_pct")
    difference = pair["difference"]
    return {
        "key": pair["key"],
        "label": COMPARISON_LABELS[pair["key"]],
        "a": _number_text(pair["a"], pct=pct),
        "b": _number_text(pair["b"], pct=pct),
        "difference": "—" if difference is None else _number_text(difference, pct=pct, signed=True),
    }


def _zone_level(row) -> str:
    """national, region, district or outside (every district): what a zone row of the CSV is."""
    if row.outside:
        return "outside"
    if row.district_id:
        return "district"
    return "region" if row.region_id else "national"


def _csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def run_download(request, pk: int, what: str, fmt: str):
    """zones.csv, districts.geojson, sites.geojson/.csv, areas.geojson, settlements.csv, distance.tif."""
    if not selectors.user_can_read(request.user):
        return _deny(request)
    run = _run_or_404(request, pk)
    stem = f"accessibility_run_{run.pk}_{what}"
    if what == "zones" and fmt == "csv":
        rows = selectors.zone_results(user=request.user, run=run, level="all")
        # The run's share of children in places with an estimated population (not official), on every row.
        shares = selectors.children_kind_shares(run=run)
        estimated_share = round(shares["estimate"], 4) if shares else ""
        return _csv_response(
            f"{stem}.csv",
            [
                "scenario",
                "level",
                "region_kato",
                "district_kato",
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
                "is_demo",
                "children_estimated_share",
            ],
            (
                [
                    r.scenario,
                    _zone_level(r),
                    r.region.kato if r.region else "",
                    r.district.kato if r.district else "",
                    r.children,
                    r.served,
                    r.over_capacity,
                    r.not_covered,
                    r.covered,
                    r.uncovered,
                    r.covered_pct,
                    r.mean_distance_m,
                    r.access_per_1000,
                    r.without_access,
                    r.scale_factor,
                    run.is_demo,
                    estimated_share,
                ]
                for r in rows
            ),
        )
    if what == "districts" and fmt == "geojson":
        scenario = request.GET.get("scenario") or ("after" if run.kind == AnalysisRun.Kind.ROADMAP else "current")
        region_ids = None if selectors.user_can_run(request.user) else [user_region_id(request.user)]
        text = geojson.districts_geojson(run=run, scenario=scenario, region_ids=region_ids)
        return _geojson_response(f"{stem}.geojson", text)
    if what == "sites" and fmt == "geojson":
        return _geojson_response(f"{stem}.geojson", geojson.sites_geojson(user=request.user, run=run))
    if what == "sites" and fmt == "csv":
        return _csv_response(
            f"{stem}.csv",
            ["rank", "selected_order", "lon", "lat", "label", "candidate_ref", "solo_gain", "marginal_gain"],
            (
                [
                    s.rank,
                    s.selected_order,
                    s.location.x,
                    s.location.y,
                    s.label,
                    s.candidate_ref,
                    s.solo_gain,
                    s.marginal_gain,
                ]
                for s in selectors.site_results(user=request.user, run=run)
            ),
        )
    if what == "areas" and fmt == "geojson":
        return _geojson_response(f"{stem}.geojson", geojson.areas_geojson(user=request.user, run=run))
    if what == "settlements" and fmt == "csv":
        rows = selectors.point_results(user=request.user, run=run)
        # A travel-time run adds each settlement's seconds to the nearest facility and whether it reaches a road.
        travel = bool(run.parameters.get("travel"))
        return _csv_response(
            f"{stem}.csv",
            [
                "scenario",
                "settlement_id",
                "name",
                "lon",
                "lat",
                "children",
                "distance_m",
                "covered",
                "served",
                "urban",
                "radius_m",
                "access_per_1000",
                "population_kind",
                "population_source",
                "attribution",
                *(["travel_time_s", "reachable"] if travel else []),
            ],
            (
                [
                    p.scenario,
                    p.settlement_id,
                    p.settlement.name,
                    p.settlement.location.x,
                    p.settlement.location.y,
                    p.children,
                    p.distance_m,
                    p.covered,
                    p.served,
                    p.urban,
                    p.radius_m,
                    p.access_per_1000,
                    # official / osm_tag / gazetteer / estimate: only "official" is an official figure.
                    p.settlement.population_kind,
                    p.settlement.population_source,
                    settlement_attribution(source=p.settlement.source),
                    *([p.travel_time_s, p.reachable] if travel else []),
                ]
                for p in rows.iterator()
            ),
        )
    if what == "distance" and fmt == "tif":
        path = services.run_output_dir(run) / "distance_m_current.tif"
        if not path.exists():
            raise Http404(_("This run wrote no raster (only runs on a population raster do)."))
        return FileResponse(path.open("rb"), as_attachment=True, filename=f"{stem}.tif", content_type="image/tiff")
    raise Http404(_("No such download."))


def _geojson_response(filename: str, text: str) -> HttpResponse:
    response = HttpResponse(text, content_type="application/geo+json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_http_methods(["GET", "POST"])
def settlement_import(request):
    if not selectors.user_can_run(request.user):
        return _deny(request)
    form = SettlementImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        f = form.cleaned_data["file"]
        name = f.name.lower()
        fmt = "csv" if name.endswith(".csv") else "xlsx" if name.endswith(".xlsx") else "geojson"
        try:
            result = services.settlements_import(
                content=f.read(),
                fmt=fmt,
                source=form.cleaned_data["source"],
                source_date=form.cleaned_data["source_date"],
            )
        except services.SettlementImportError as exc:
            for error in exc.errors:
                form.add_error("file", error)
        else:
            created = ngettext("%(n)d new settlement", "%(n)d new settlements", result.created) % {"n": result.created}
            updated = ngettext("%(n)d updated", "%(n)d updated", result.updated) % {"n": result.updated}
            messages.success(
                request, _("Settlements imported: %(created)s, %(updated)s.") % {"created": created, "updated": updated}
            )
            if not result.unmatched:
                return redirect("accessibility:run_list")
    return render(
        request,
        "accessibility/form_page.html",
        {
            "form": form,
            "title": _("Import settlements"),
            "help": _(
                "An official settlement list (CSV, XLSX or GeoJSON). Columns, in Kazakh, Russian or English: KATO "
                "code, name (kk/ru), population, children, age groups (e.g. 0-5, 6-17), date, and optionally lon/lat "
                "(EPSG:4326). Rows are matched to the bundled places by KATO code, else by name in their district or "
                "region; the official figures replace OpenStreetMap tags and estimates there."
            ),
            "unmatched": result.unmatched if result else None,
        },
    )


@require_http_methods(["GET", "POST"])
def raster_list(request):
    if not selectors.user_can_read(request.user):
        return _deny(request)
    can_run = selectors.user_can_run(request.user)
    form = RasterRegisterForm(request.POST or None, request.FILES or None) if can_run else None
    if request.method == "POST":
        if not can_run:
            return _deny(request)
        if form.is_valid():
            c = form.cleaned_data
            target = Path(settings.MEDIA_ROOT) / "accessibility" / "rasters" / f"{uuid.uuid4().hex}.tif"
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as out:
                for part in c["file"].chunks():
                    out.write(part)
            try:
                services.population_raster_register(
                    path=target,
                    name=c["name"],
                    bands=c["bands"],
                    year=c["year"],
                    source=c["source"],
                    indicator=c["indicator"],
                    user=request.user,
                )
            except services.RasterRegistrationError as exc:
                target.unlink(missing_ok=True)
                form.add_error("file", str(exc).replace(target.name, c["file"].name))
            else:
                messages.success(request, _("The raster is registered."))
                return redirect("accessibility:raster_list")
    rasters = list(selectors.raster_list())
    return render(
        request,
        "accessibility/raster_list.html",
        {"rasters": rasters, "form": form, "demo_present": any(r.is_demo for r in rasters)},
    )
