"""Map pages. Thin: check input and permission, build the map (maps.pages), render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.permissions import Action, can
from facilities import services as facility_services
from facilities.models import Facility
from facilities.selectors import demo_data_present, facility_history
from gis_portal.csp import map_csp
from layers.models import Region
from layers.webmap.builders import map_parts
from maps import pages, public_table, selectors
from maps.forms import METRICS, NationalMapForm
from maps.registry import analysis_layers
from tracking.timeline import facility_timeline


def _deny_unless_viewer(request):
    """None when the user may see the working maps; else a redirect to sign in (or 403)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not selectors.map_viewer_allowed(request.user):
        raise PermissionDenied(_("Your account has no role that may see the working maps."))
    return None


def legend_context() -> dict:
    """Statuses and kinds with their label and colour, for the legend of a map page."""
    labels = selectors.status_labels()
    kinds = selectors.kind_labels()
    colors = selectors.status_colors()
    return {
        "statuses": [(code, labels.get(code, code), color) for code, color in colors.items()],
        "kinds": [(code, kinds.get(code, code), color) for code, color in selectors.KIND_COLORS.items()],
    }


def _common(request) -> dict:
    return {"demo_present": demo_data_present()}


@map_csp
def national_map(request):
    denied = _deny_unless_viewer(request)
    if denied:
        return denied
    data = request.GET.copy()
    # Show the defaults in the form (today, progress) so the visible date is the one used.
    data.setdefault("as_of", timezone.localdate().isoformat())
    data.setdefault("metric", "progress")
    form = NationalMapForm(data)
    context = {**_common(request), "form": form, "metrics": METRICS}
    if not form.is_valid():
        return render(request, "maps/national.html", context, status=400)
    data = form.cleaned_data
    m, count, metrics = pages.national_map(user=request.user, filters=data, as_of=data["as_of"], metric=data["metric"])
    context.update(
        {
            "map": map_parts(m, nonce=request.csp_nonce),
            "facility_count": count,
            "as_of": data["as_of"],
            "metric": data["metric"],
            "legend": legend_context(),
            "breaks": _breaks(),
            "kpi_missing": sum(1 for v in metrics.values() if v["recreation_coverage"] is None),
        }
    )
    return render(request, "maps/national.html", context)


def _breaks() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Legend classes of each choropleth metric: (key, label, [(range, colour)])."""
    result = []
    for key, label in METRICS:
        b = selectors.METRIC_BREAKS[key]
        ranges = [f"< {b[0]}"] + [f"{lo}–{hi}" for lo, hi in zip(b, b[1:], strict=False)] + [f"≥ {b[-1]}"]
        result.append((key, label, list(zip(ranges, selectors.CHOROPLETH_COLORS, strict=True))))
    return result


@map_csp
def region_map(request, kato: str):
    denied = _deny_unless_viewer(request)
    if denied:
        return denied
    region = get_object_or_404(Region, kato=kato)
    if not can(request.user, Action.VIEW, region_id=region.pk):
        raise PermissionDenied(_("You may not view this region."))
    m, count, with_parcels = pages.region_map(user=request.user, region=region, as_of=timezone.localdate())
    context = {
        **_common(request),
        "region": region,
        "map": map_parts(m, nonce=request.csp_nonce),
        "facility_count": count,
        "with_parcels": with_parcels,
        "legend": legend_context(),
        "parcel_legend": pages.parcel_legend() if with_parcels else [],
        "link_legend": pages.link_legend() if with_parcels else [],
    }
    return render(request, "maps/region.html", context)


@map_csp
def facility_page(request, pk: int):
    """Public fields and the map for everyone; parcels, stages and documents for users who may view its region."""
    facility = get_object_or_404(
        Facility.objects.select_related("kind", "measure", "region", "district", "tracking"), pk=pk
    )
    if not selectors.facility_visible(user=request.user, facility_id=facility.pk):
        raise Http404(_("No facility with this number is on the map."))
    authorised = can(request.user, Action.VIEW, region_id=facility.region_id)
    as_of = timezone.localdate()
    m = pages.facility_map(user=request.user, facility=facility, as_of=as_of, with_parcels=authorised)
    status, opened = selectors.facility_status_and_opened(as_of=as_of, facility_id=facility.pk)
    history, head = facility_history(facility=facility) if authorised else ([], 0)
    context = {
        **_common(request),
        "facility": facility,
        "map": map_parts(m, nonce=request.csp_nonce),
        "status": status,
        "status_label": selectors.status_labels().get(status, status),
        "opened": opened,
        "authorised": authorised,
        "finances": selectors.facility_finances(facility_id=facility.pk, authorised=authorised),
        # The one timeline of the facility (tracking.timeline), also on its tracking page.
        "timeline": facility_timeline(facility_id=facility.pk).entries if authorised else None,
        # Everybody else: stages reached and planned only (no documents, executors, notes, parcels).
        "public_timeline": None if authorised else public_table.public_timeline(facility=facility, as_of=as_of),
        "today": as_of,
        "documents": selectors.facility_documents(user=request.user, facility=facility) if authorised else None,
        "tracking_url": _tracking_url(facility) if authorised else None,
        "parcel_legend": pages.parcel_legend() if authorised else [],
        "history": history,
        "history_head": head,
        "may_restore": can(request.user, Action.PLAN, region_id=facility.region_id),
        "may_edit": bool(facility_services.facility_editable_fields(request.user, region_id=facility.region_id)),
    }
    return render(request, "maps/facility.html", context)


@login_required
@require_POST
def facility_restore(request, pk: int):
    """Restore the facility's data from one of its history events (the ministry plans facilities)."""
    facility = get_object_or_404(Facility, pk=pk)
    if not can(request.user, Action.PLAN, region_id=facility.region_id):
        raise PermissionDenied(_("Only the ministry may change the facilities of the plan."))
    try:
        facility_services.facility_restore(
            user=request.user,
            facility_id=facility.pk,
            event_id=int(request.POST.get("event") or ""),
            expected_head=int(request.POST.get("head") or ""),
        )
    except ValueError:
        return HttpResponseBadRequest(_("Bad version or event number."))
    except facility_services.FacilityRestoreError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The earlier version was restored."))
    return redirect(reverse("maps:facility", kwargs={"pk": facility.pk}) + "#history")


def _tracking_url(facility: Facility) -> str | None:
    """The facility's timeline on its tracking page (keyed by the tracked facility, not the facility)."""
    tracked = getattr(facility, "tracking", None)
    return reverse("tracking:facility", kwargs={"pk": tracked.pk}) + "#timeline" if tracked is not None else None


@map_csp
def analysis_map(request):
    """Base map and facilities; the analysis layers come from apps registered in maps.registry."""
    denied = _deny_unless_viewer(request)
    if denied:
        return denied
    m, legends = pages.analysis_map(user=request.user, request=request, as_of=timezone.localdate())
    context = {
        **_common(request),
        "map": map_parts(m, nonce=request.csp_nonce),
        "layers": analysis_layers(),
        "legends": legends,
    }
    return render(request, "maps/analysis.html", context)
