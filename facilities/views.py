from django.shortcuts import render

from facilities import selectors
from facilities.models import CREATIVE_MEASURES, HEALTH_MEASURES


def home(request):
    """One screen that explains the roadmap: measures, quotas, KPI targets and regions."""
    measures = list(selectors.measure_list())
    regions = list(selectors.region_summary_list())
    quotas = [m.quota for m in measures if hasattr(m, "quota")]
    context = {
        "measures": measures,
        "regions": regions,
        "kpis": selectors.kpi_list(),
        "health_total": sum(q.count for q in quotas if q.measure_id in HEALTH_MEASURES),
        "creative_total": sum(q.count for q in quotas if q.measure_id in CREATIVE_MEASURES),
        "facility_total": sum(m.facility_count for m in measures),
        "regions_without_boundary": [r for r in regions if not r.has_boundary],
    }
    return render(request, "facilities/home.html", context)
