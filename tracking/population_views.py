"""The page where planners and administrators load official district population figures from a file."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.permissions import Action, can
from tracking import selectors, services
from tracking.forms import DistrictPopulationForm
from tracking.population_file import expected_columns


@login_required
def population_import(request):
    if not can(request.user, Action.PLAN, region_id=None):
        raise PermissionDenied(_("only the ministry enters official population figures"))
    form = DistrictPopulationForm()
    result = None
    status = 200
    if request.method == "POST":
        form = DistrictPopulationForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = services.district_population_load(
                    data=upload.read(),
                    filename=upload.name,
                    user=request.user,
                    dry_run=form.cleaned_data["dry_run"],
                )
            except services.TrackingError as exc:
                for field, problems in exc.problems.items():
                    for problem in problems:
                        form.add_error(field if field in form.fields else None, problem)
            else:
                if result.saved:
                    messages.success(
                        request,
                        _("Saved: %(created)s new, %(updated)s updated, %(unchanged)s unchanged.")
                        % {"created": result.created, "updated": result.updated, "unchanged": result.unchanged},
                    )
        if not form.is_valid() or (result is not None and result.problems):
            status = 400
    context = {
        "form": form,
        "result": result,
        "expected_columns": expected_columns(),
        "figures": selectors.district_population_figures()[:500],
        "figure_count": selectors.district_population_figures().count(),
    }
    return render(request, "tracking/population_import.html", context, status=status)
