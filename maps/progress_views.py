"""The public progress dashboard (anonymous): counts and KPIs of the approved plans, aggregates only.

Thin: the figures come from tracking.selectors.public_progress (built on the planners' dashboard
selectors); this module only turns them into server-rendered SVG charts and the tables beside them.
"""

from __future__ import annotations

from collections import Counter

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from tracking import charts, selectors
from tracking.forms import PublicAsOfForm

# The statuses the public charts split a bar by (done on time and done late shown together).
BAR_ORDER = ["done", "on_track", "not_started", "at_risk", "overdue"]
BAR_COLOURS = {
    "done": selectors.STATUS_COLOURS[selectors.Status.DONE_ON_TIME],
    "on_track": selectors.STATUS_COLOURS[selectors.Status.ON_TRACK],
    "not_started": selectors.STATUS_COLOURS[selectors.Status.NOT_STARTED],
    "at_risk": selectors.STATUS_COLOURS[selectors.Status.AT_RISK],
    "overdue": selectors.STATUS_COLOURS[selectors.Status.OVERDUE],
}

# Charts drawn narrow enough to stay legible when scaled down to a 360 px phone screen (SVG user units).
BAR_SIZE = {"left": 190, "span": 250}
PLOT_WIDTH = 400


def _bar_labels() -> dict[str, str]:
    return {
        "done": _("done"),
        "on_track": str(selectors.STATUS_LABELS[selectors.Status.ON_TRACK]),
        "not_started": str(selectors.STATUS_LABELS[selectors.Status.NOT_STARTED]),
        "at_risk": str(selectors.STATUS_LABELS[selectors.Status.AT_RISK]),
        "overdue": str(selectors.STATUS_LABELS[selectors.Status.OVERDUE]),
    }


def _bars(counts: selectors.ProgressCounts) -> Counter:
    return Counter({code: getattr(counts, code) for code in BAR_ORDER})


def _kpi_chart(kpi: selectors.PublicKpi):
    return charts.kpi_trajectory_svg(
        targets={y.year: y.target for y in kpi.years if y.target is not None},
        actual={y.year: y.estimate for y in kpi.years if y.estimate is not None},
        measured={y.year: y.measured for y in kpi.years if y.measured is not None},
        title=_("%(name)s, Kazakhstan, %% by year") % {"name": kpi.name},
        target_label=_("target of the order (2023: baseline)"),
        actual_label=_("ESTIMATE (places × shifts of opened facilities)"),
        measured_label=_("measured (reported by the ministry)"),
        plot_width=PLOT_WIDTH,
    )


def public_progress(request):
    """Per region and measure: planned / opened / done / on track / at risk / overdue, and the KPIs."""
    form = PublicAsOfForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "maps/progress.html", {"form": form}, status=400)
    as_of = (form.cleaned_data.get("as_of") if form.is_bound else None) or timezone.localdate()
    progress = selectors.public_progress(as_of=as_of)
    labels = _bar_labels()
    context = {
        "form": form,
        "progress": progress,
        "region_svg": charts.stacked_bars_svg(
            rows=[(region.name, _bars(counts)) for region, counts in progress.by_region],
            order=BAR_ORDER,
            colours=BAR_COLOURS,
            labels=labels,
            title=_("Facilities of the approved plans by region and status, as of %(d)s") % {"d": as_of},
            **BAR_SIZE,
        ),
        "measure_svg": charts.stacked_bars_svg(
            rows=[(_("measure %(n)s") % {"n": m.number}, _bars(counts)) for m, counts in progress.by_measure],
            order=BAR_ORDER,
            colours=BAR_COLOURS,
            labels=labels,
            title=_("Facilities of the approved plans by measure and status, as of %(d)s") % {"d": as_of},
            **BAR_SIZE,
        ),
        "kpis": [(kpi, _kpi_chart(kpi)) for kpi in progress.kpis],
        "generated_at": timezone.now(),
    }
    return render(request, "maps/progress.html", context)
