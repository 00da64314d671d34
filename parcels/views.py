"""Pages of land parcels and infrastructure (thin: check input, call a selector or service, render)."""

from __future__ import annotations

import json
from pathlib import Path

import folium
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.gis.gdal.error import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from folium.plugins import Draw

from accounts.permissions import Action, can, may_create_parcel, user_has_role
from gis_portal.csp import map_csp
from layers.webmap.builders import base_map, map_parts
from parcels import checks, selectors, services
from parcels.forms import DocumentForm, ExportFilterForm, LinkForm, ParcelForm
from parcels.models import InfrastructureLink, Parcel, ParcelDocument, ParcelStatus


def _require_role(request) -> None:
    if not user_has_role(request.user):
        raise PermissionDenied


def _map(*, bounds=None, height="60vh"):
    # Land officers draw and check parcels against the imagery and cadastral layers an administrator configured.
    return base_map(bounds=bounds, height=height, editor_layers=True)


def _parts(m, request=None) -> dict:
    parts = map_parts(m, nonce=getattr(request, "csp_nonce", None))
    return {"map_header": parts.header, "map_html": parts.html, "map_script": parts.script}


def _bounds(geom, pad: float = 0.003):
    x0, y0, x1, y1 = geom.extent
    return [[y0 - pad, x0 - pad], [y1 + pad, x1 + pad]]


def _region_outline(m, region) -> None:
    if region is not None and region.geom is not None:
        folium.GeoJson(
            region.geom.simplify(0.002, preserve_topology=True).json,
            name=_("Region outline"),
            style_function=lambda _f: {"color": "#c0392b", "weight": 2, "fill": False},
            interactive=False,
        ).add_to(m)


def _problems_to_form(form, problems) -> None:
    for problem in problems:
        field = problem.field if problem.field in form.fields else None
        form.add_error(field, problem.message)


# ---------------------------------------------------------------------------
# Parcels
# ---------------------------------------------------------------------------


@login_required
@map_csp
def parcel_list(request):
    _require_role(request)
    filters = {k: request.GET.get(k, "").strip() for k in ("region", "status", "q")}
    parcels = list(selectors.parcel_list(user=request.user, filters=filters)[:500])
    readiness = selectors.parcel_infrastructure_readiness(parcel_ids=[p.pk for p in parcels])
    for p in parcels:
        p.ready = readiness.get(p.pk, False)
    m = _map()
    if parcels:
        folium.GeoJson(
            selectors.layer_geojson(
                layer="parcels", queryset=selectors.parcel_list(user=request.user, filters=filters), user=request.user
            ),
            name=_("Parcels"),
            style_function=lambda _f: {"color": "#1f6feb", "weight": 2, "fillOpacity": 0.3},
            tooltip=folium.GeoJsonTooltip(fields=["cadastral_number", "status"]),
        ).add_to(m)
    context = {
        "parcels": parcels,
        "filters": filters,
        "statuses": ParcelStatus.choices,
        "may_edit": may_create_parcel(request.user),
        "demo_present": any(p.is_demo for p in parcels),
        **_parts(m, request),
    }
    return render(request, "parcels/parcel_list.html", context)


def _get_parcel(request, pk: int, action: Action = Action.VIEW) -> Parcel:
    parcel = get_object_or_404(Parcel.objects.select_related("facility", "region", "district"), pk=pk)
    if not can(request.user, Action.VIEW, region_id=parcel.region_id):
        raise Http404  # other regions' parcels do not exist for this user
    if action == Action.EDIT and not can(request.user, Action.EDIT, region_id=parcel.region_id):
        raise PermissionDenied
    return parcel


@login_required
@map_csp
def parcel_detail(request, pk: int):
    parcel = _get_parcel(request, pk)
    links = list(parcel.links.select_related("utility"))
    m = _map(bounds=_bounds(parcel.geom))
    _region_outline(m, parcel.region)
    folium.GeoJson(
        parcel.geom.json, name=_("Parcel"), style_function=lambda _f: {"color": "#1f6feb", "weight": 3}
    ).add_to(m)
    routes = selectors.layer_geojson(layer="infrastructure-links", queryset=parcel.links.all(), user=request.user)
    folium.GeoJson(routes, name=_("Routes"), style_function=lambda _f: {"color": "#e67e22", "weight": 3}).add_to(m)
    history = services.parcel_history(parcel=parcel)
    link_versions = {link.pk: link.version for link in links}
    link_history = services.history_with_users(
        list(
            InfrastructureLink.pgh_event_model.objects.filter(parcel_id=parcel.pk)
            .select_related("pgh_context")
            .order_by("-pgh_id")[:50]
        )
    )
    for event in link_history:
        # Restorable: an earlier state of a link that still exists (not its current state).
        current = link_versions.get(event.pgh_obj_id)
        event.restore_version = current if current is not None and event.version != current else None
    attached = set(parcel.documents.values_list("pk", flat=True))
    document_history = services.history_with_users(
        list(
            ParcelDocument.pgh_event_model.objects.filter(parcel_id=parcel.pk)
            .select_related("pgh_context")
            .order_by("-pgh_id")[:50]
        )
    )
    for event in document_history:
        event.restorable = event.pgh_label == "delete" and event.pgh_obj_id not in attached
    context = {
        "parcel": parcel,
        "links": links,
        "ready": selectors.parcel_infrastructure_readiness(parcel_ids=[parcel.pk]).get(parcel.pk, False),
        "documents": parcel.documents.all(),
        "history": history,
        "link_history": link_history,
        "document_history": document_history,
        "replaced_parcels": Parcel.objects.filter(facility=parcel.facility).exclude(pk=parcel.pk),
        "may_edit": can(request.user, Action.EDIT, region_id=parcel.region_id),
        "document_form": DocumentForm(),
        "demo_present": parcel.is_demo or bool(parcel.facility and parcel.facility.is_demo),
        **_parts(m, request),
    }
    return render(request, "parcels/parcel_detail.html", context)


def _draw_map(*, geom=None, region=None, polyline: bool = False, parcel_geom=None, focus=None):
    bounds = _bounds(geom or parcel_geom) if (geom or parcel_geom) else None
    if bounds is None and focus is not None:
        bounds = _bounds(focus, pad=0.004)  # around the facility's point: ready to draw at street scale
    if bounds is None and region is not None and region.geom is not None:
        x0, y0, x1, y1 = region.geom.extent
        bounds = [[y0, x0], [y1, x1]]
    m = _map(bounds=bounds, height="55vh")
    _region_outline(m, region)
    if parcel_geom is not None:
        folium.GeoJson(parcel_geom.json, name=_("Parcel"), style_function=lambda _f: {"color": "#1f6feb"}).add_to(m)
    # Not in the layer switcher: hiding the group being drawn into would hide new shapes.
    group = folium.FeatureGroup(name=_("Drawn shape"), control=False)
    if geom is not None:
        folium.GeoJson(geom.json, style_function=lambda _f: {"color": "#e67e22", "weight": 3}).add_to(group)
    group.add_to(m)
    draw_options = {k: False for k in ("polyline", "polygon", "rectangle", "circle", "marker", "circlemarker")}
    if polyline:
        draw_options["polyline"] = {}
    else:
        draw_options["polygon"] = {"allowIntersection": False, "showArea": True}
        draw_options["rectangle"] = {}
    draw = Draw(feature_group=group, draw_options=draw_options, edit_options={"edit": True, "remove": True})
    draw.add_to(m)
    return m, group


def _geom_or_none(text):
    """The typed/drawn GeoJSON as a geometry to show on the map again, or None when it does not parse."""
    if not text:
        return None
    try:
        return GEOSGeometry(text, srid=4326)
    except (GEOSException, GDALException, ValueError, TypeError):
        return None


@login_required
@map_csp
def parcel_edit(request, pk: int | None = None):
    """Create (pk=None) or edit a parcel; the boundary is drawn on the map (folium Draw) or pasted as GeoJSON."""
    _require_role(request)
    parcel = _get_parcel(request, pk, Action.EDIT) if pk else None
    if parcel is None and not may_create_parcel(request.user):
        raise PermissionDenied
    initial = {}
    if parcel is not None:
        initial = {k: getattr(parcel, k) for k in services.PARCEL_FIELDS} | {
            "facility": parcel.facility_id,
            "geom": parcel.geom.json,
            "version": parcel.version,
        }
    elif request.GET.get("facility"):
        initial["facility"] = request.GET["facility"]
    form = ParcelForm(request.POST or None, user=request.user, parcel=parcel, initial=initial)
    warnings, repaired = [], None
    if request.method == "POST" and form.is_valid():
        geom = form.cleaned_data["geom"]
        if "repair" in request.POST:
            # Explicit repair: show ST_MakeValid's result in the form; nothing is saved until "Save".
            repaired = checks.geometry_repair_preview(geom=geom)
            data = form.data.copy()
            data["geom"] = repaired.json
            form = ParcelForm(data, user=request.user, parcel=parcel, initial=initial)
            form.is_valid()
            messages.info(request, _("The boundary was repaired. Check the result on the map, then save."))
        else:
            try:
                if parcel is None:
                    result = services.parcel_create(
                        user=request.user, facility=form.cleaned_data["facility"], geom=geom, data=form.parcel_data()
                    )
                else:
                    result = services.parcel_update(
                        user=request.user,
                        parcel_id=parcel.pk,
                        expected_version=form.cleaned_data.get("version") or 0,
                        data=form.parcel_data(),
                        geom=geom,
                    )
            except services.ParcelValidationError as exc:
                _problems_to_form(form, exc.problems)
            except services.ParcelConflict as exc:
                form.add_error(None, str(exc))
            else:
                for w in result.warnings:
                    messages.warning(request, w.message)
                messages.success(request, _("The parcel was saved."))
                return redirect("parcels:detail", pk=result.obj.pk)
    geom_text = form.data.get("geom") if form.is_bound else initial.get("geom")
    geom = _geom_or_none(geom_text)
    region = parcel.region if parcel else getattr(getattr(request.user, "membership", None), "region", None)
    focus = None
    facility = form.cleaned_data.get("facility") if form.is_bound and hasattr(form, "cleaned_data") else None
    if facility is None and initial.get("facility"):
        wanted = str(initial["facility"])
        facility = form.fields["facility"].queryset.filter(pk=int(wanted)).first() if wanted.isdigit() else None
    if facility is not None and facility.location is not None:
        focus = facility.location
    m, group = _draw_map(geom=geom, region=region, focus=focus)
    if focus is not None:
        folium.CircleMarker((focus.y, focus.x), radius=6, color="#6a1b9a", tooltip=str(facility)).add_to(m)
    context = {
        "form": form,
        "parcel": parcel,
        "warnings": warnings,
        "repaired": repaired,
        "draw_group": group.get_name(),
        "map_name": m.get_name(),
        **_parts(m, request),
    }
    return render(request, "parcels/parcel_form.html", context)


@login_required
@require_POST
def parcel_revoke(request, pk: int):
    parcel = _get_parcel(request, pk, Action.EDIT)
    try:
        services.parcel_revoke(
            user=request.user,
            parcel_id=parcel.pk,
            expected_version=int(request.POST.get("version") or 0),
            reason=request.POST.get("reason", "")[:300],
        )
        messages.success(request, _("The parcel was revoked; it stays in the facility's history."))
    except services.ParcelConflict as exc:
        messages.error(request, str(exc))
    return redirect("parcels:detail", pk=parcel.pk)


def _restore_and_report(request, parcel: Parcel, restore, success: str):
    """Run one restore service call and turn its outcome into page messages (or a 400 for bad numbers).

    `restore` is called with no arguments; it parses the posted event/version numbers itself, so a
    malformed number or an event of another object surfaces here as the same 400.
    """
    try:
        restore()
        messages.success(request, success)
    except services.ParcelConflict as exc:
        messages.error(request, str(exc))
    except services.ParcelValidationError as exc:
        for p in exc.problems:
            messages.error(request, p.message)
    except (ValueError, ObjectDoesNotExist):
        return HttpResponseBadRequest(_("Bad version or event number."))
    return redirect("parcels:detail", pk=parcel.pk)


def _posted_int(request, name: str) -> int:
    return int(request.POST.get(name) or 0)


@login_required
@require_POST
def parcel_restore(request, pk: int):
    parcel = _get_parcel(request, pk, Action.EDIT)
    return _restore_and_report(
        request,
        parcel,
        lambda: services.parcel_restore(
            user=request.user,
            parcel_id=parcel.pk,
            event_id=_posted_int(request, "event"),
            expected_version=_posted_int(request, "version"),
        ),
        _("The earlier version was restored."),
    )


# ---------------------------------------------------------------------------
# Infrastructure links
# ---------------------------------------------------------------------------


@login_required
@map_csp
def link_edit(request, parcel_pk: int, pk: int | None = None):
    parcel = _get_parcel(request, parcel_pk, Action.EDIT)
    link = get_object_or_404(InfrastructureLink, pk=pk, parcel=parcel) if pk else None
    initial = {}
    if link is not None:
        initial = {k: getattr(link, k) for k in services.LINK_FIELDS} | {
            "utility": link.utility_id,
            "route": link.route.json if link.route else "",
            "version": link.version,
        }
    form = LinkForm(request.POST or None, link=link, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if link is None:
                services.link_create(
                    user=request.user,
                    parcel=parcel,
                    utility=form.cleaned_data["utility"],
                    data=form.link_data(),
                    route=form.cleaned_data["route"],
                )
            else:
                services.link_update(
                    user=request.user,
                    link_id=link.pk,
                    expected_version=form.cleaned_data.get("version") or 0,
                    data=form.link_data(),
                    route=form.cleaned_data["route"],
                    clear_route=form.cleaned_data["route"] is None,
                )
        except services.ParcelValidationError as exc:
            _problems_to_form(form, exc.problems)
        except services.ParcelConflict as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The infrastructure link was saved."))
            return redirect("parcels:detail", pk=parcel.pk)
    m, group = _draw_map(
        geom=link.route if link else None, region=parcel.region, polyline=True, parcel_geom=parcel.geom
    )
    context = {
        "form": form,
        "parcel": parcel,
        "link": link,
        "draw_group": group.get_name(),
        "map_name": m.get_name(),
        "max_gap_m": settings.PARCEL_ROUTE_MAX_GAP_M,
        **_parts(m, request),
    }
    return render(request, "parcels/link_form.html", context)


@login_required
@require_POST
def link_delete(request, parcel_pk: int, pk: int):
    parcel = _get_parcel(request, parcel_pk, Action.EDIT)
    link = get_object_or_404(InfrastructureLink, pk=pk, parcel=parcel)
    services.link_delete(user=request.user, link_id=link.pk)
    messages.success(request, _("The infrastructure link was deleted."))
    return redirect("parcels:detail", pk=parcel.pk)


@login_required
@require_POST
def link_restore(request, parcel_pk: int, pk: int):
    parcel = _get_parcel(request, parcel_pk, Action.EDIT)
    link = get_object_or_404(InfrastructureLink, pk=pk, parcel=parcel)
    return _restore_and_report(
        request,
        parcel,
        lambda: services.link_restore(
            user=request.user,
            link_id=link.pk,
            event_id=_posted_int(request, "event"),
            expected_version=_posted_int(request, "version"),
        ),
        _("The earlier version was restored."),
    )


# ---------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------


@login_required
@require_POST
def document_restore(request, parcel_pk: int):
    parcel = _get_parcel(request, parcel_pk, Action.EDIT)
    return _restore_and_report(
        request,
        parcel,
        lambda: services.document_restore(user=request.user, parcel=parcel, event_id=_posted_int(request, "event")),
        _("The document was restored."),
    )


@login_required
@require_POST
def document_upload(request, parcel_pk: int):
    parcel = _get_parcel(request, parcel_pk, Action.EDIT)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.document_add(
                user=request.user,
                parcel=parcel,
                uploaded_file=form.cleaned_data["file"],
                title=form.cleaned_data["title"],
                kind=form.cleaned_data["kind"],
                max_bytes=settings.PARCEL_DOCUMENT_MAX_BYTES,
            )
            messages.success(request, _("The document was attached."))
        except services.ParcelValidationError as exc:
            for p in exc.problems:
                messages.error(request, p.message)
    else:
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
    return redirect("parcels:detail", pk=parcel.pk)


@login_required
def document_download(request, pk: int):
    """Serve a scan only to users who may read its region (files are outside the web root)."""
    document = get_object_or_404(ParcelDocument, pk=pk)
    if not can(request.user, Action.VIEW, region_id=document.region_id):
        raise Http404
    response = FileResponse(
        document.file.open("rb"),
        content_type=document.content_type,
        as_attachment=True,
        filename=f"{document.parcel_id}-{document.pk}{Path(document.file.name).suffix}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# ---------------------------------------------------------------------------
# Import and export
# ---------------------------------------------------------------------------


@login_required
def export(request):
    _require_role(request)
    form = ExportFilterForm(request.GET)
    if not form.is_valid():
        return HttpResponse(json.dumps(form.errors), status=400, content_type="application/json")
    filters = {k: form.cleaned_data.get(k) for k in ("region", "status", "q")}
    content, media_type, filename = selectors.parcel_export(
        queryset=selectors.parcel_list(user=request.user, filters=filters),
        fmt=form.cleaned_data.get("format") or "geojson",
    )
    response = HttpResponse(content, content_type=media_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def compliance(request):
    _require_role(request)
    measure, overdue, rows = selectors.measure5_compliance(user=request.user)
    context = {
        "measure": measure,
        "overdue": overdue,
        "rows": rows,
        "demo_present": any(f.is_demo for r in rows for f in r.missing),
    }
    return render(request, "parcels/compliance.html", context)
