"""The facility editor: planners create and edit facilities, akimats place their region's, on a map.

Thin: permission (facilities.services.facility_editable_fields, one policy with the admin), the form
(maps.facility_forms), a service call (facilities.services), the map (click to place, drag to move,
coordinates typed in any allowed CRS and transformed on the server). Locations EPSG:4326.
"""

from __future__ import annotations

import folium
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.permissions import Action, can
from facilities import services
from facilities.models import Facility
from facilities.selectors import facility_history
from gis_portal.csp import map_csp
from gis_portal.history import history_head
from layers.webmap.builders import base_map, json_for_script, map_parts
from maps.facility_forms import WGS84, FacilityForm

# Around a placed facility the map opens at street scale (degrees of padding).
_PAD = 0.01


def _initial(facility: Facility) -> dict:
    initial = {name: getattr(facility, name) for name in services.FACILITY_FIELDS if name != "location"}
    initial |= {"measure": facility.measure_id, "kind": facility.kind_id, "region": facility.region_id}
    initial |= {"district": facility.district_id, "crs": WGS84, "head": history_head(facility.events.all())}
    if facility.location is not None:
        initial |= {"x": f"{facility.location.x:.7f}", "y": f"{facility.location.y:.7f}"}
    return initial


def _outline(m: folium.Map, geom, *, name: str, color: str) -> None:
    if geom is not None:
        folium.GeoJson(
            geom.simplify(0.002, preserve_topology=True).json,
            name=name,
            style_function=lambda _f, c=color: {"color": c, "weight": 2, "fill": False},
            interactive=False,
        ).add_to(m)


def _editor_map(*, facility: Facility | None, point) -> folium.Map:
    """The editor's map: the configured base layers (editors' too), the region and district outlines."""
    region = facility.region if facility else None
    if point is not None:
        bounds = [[point.y - _PAD, point.x - _PAD], [point.y + _PAD, point.x + _PAD]]
    elif region is not None and region.geom is not None:
        x0, y0, x1, y1 = region.geom.extent
        bounds = [[y0, x0], [y1, x1]]
    else:
        bounds = None
    m = base_map(bounds=bounds, height="55vh", editor_layers=True, aria_label=_("Facility location"))
    if facility is not None:
        _outline(m, region.geom, name=_("Region outline"), color="#c0392b")
        if facility.district is not None:
            _outline(m, facility.district.geom, name=_("District outline"), color="#6a1b9a")
    return m


def _problems_to_form(form: FacilityForm, problems) -> None:
    for problem in problems:
        # A location problem is shown at the coordinates the user typed.
        field = "x" if problem.field == "location" else problem.field
        form.add_error(field if field in form.fields else None, problem.message)


def _save(request, form: FacilityForm, facility: Facility | None) -> Facility | None:
    """Save through the services; None (the errors on the form) when nothing was saved."""
    try:
        if facility is None:
            return services.facility_create(user=request.user, data=form.facility_data())
        return services.facility_update(
            user=request.user,
            facility_id=facility.pk,
            expected_head=form.cleaned_data.get("head") or 0,
            data=form.facility_data(),
        )
    except services.FacilityValidationError as exc:
        _problems_to_form(form, exc.problems)
    except services.FacilityConflict as exc:
        form.add_error(None, exc.messages[0])
    return None


@login_required
@map_csp
def facility_edit(request, pk: int | None = None):
    """Create (pk None: the ministry) or edit a facility (the ministry everything, its akimat the location).

    "Show on the map" transforms typed coordinates and shows the point in WGS 84 without saving.
    """
    facility = None
    if pk is None:
        if not can(request.user, Action.PLAN, region_id=None):
            raise PermissionDenied(_("Only the ministry may add facilities to the plan."))
        editable = frozenset(services.FACILITY_FIELDS)
    else:
        facility = get_object_or_404(Facility.objects.select_related("region", "district"), pk=pk)
        if not can(request.user, Action.VIEW, region_id=facility.region_id):
            raise Http404(_("No facility with this number is on the map."))
        editable = services.facility_editable_fields(request.user, region_id=facility.region_id)
        if not editable:
            raise PermissionDenied(_("You may not change the facilities of this region."))
    initial = _initial(facility) if facility else {"crs": WGS84}
    kwargs = {"editable": editable, "region_id": facility.region_id if facility else None, "initial": initial}
    form = FacilityForm(request.POST or None, **kwargs)
    if request.method == "POST" and form.is_valid():
        point = form.cleaned_data.get("location")
        if "locate" in request.POST and point is not None:
            # Preview: the typed point in WGS 84 on the map and in the fields; nothing is saved.
            data = request.POST.copy()
            data.update({"crs": WGS84, "x": f"{point.x:.7f}", "y": f"{point.y:.7f}"})
            form = FacilityForm(data, **kwargs)
            form.is_valid()
            messages.info(request, _("The point is shown on the map in WGS 84. Check it, then save."))
        elif "locate" not in request.POST:
            saved = _save(request, form, facility)
            if saved is not None:
                messages.success(request, _("The facility was saved."))
                return redirect("maps:facility", pk=saved.pk)
    point = form.cleaned_data.get("location") if form.is_bound and hasattr(form, "cleaned_data") else None
    if point is None and not form.is_bound and facility is not None:
        point = facility.location
    m = _editor_map(facility=facility, point=point)
    history, head = facility_history(facility=facility) if facility else ([], 0)
    context = {
        "form": form,
        "facility": facility,
        "map": map_parts(m, nonce=request.csp_nonce),
        "map_name": m.get_name(),
        "point_json": json_for_script([point.y, point.x] if point is not None else None),
        "location_editable": "location" in editable,
        "plan_editable": "measure" in editable,
        "history": history,
        "history_head": head,
        "may_restore": facility is not None and can(request.user, Action.PLAN, region_id=facility.region_id),
    }
    return render(request, "maps/facility_form.html", context)
