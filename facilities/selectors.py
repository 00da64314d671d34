"""Reads of the roadmap and its facilities (one query path for pages and the API)."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from facilities.models import CREATIVE_MEASURES, HEALTH_MEASURES, Facility, KpiIndicator, KpiTarget, Measure
from gis_portal.history import history_head, history_with_users
from layers.models import Region


def measure_list() -> QuerySet[Measure]:
    """The 26 measures with section, responsible bodies, quota (and its regions) and facility counts."""
    return (
        Measure.objects.select_related("section", "quota", "quota__object_kind")
        .prefetch_related("responsible", Prefetch("quota__regions", queryset=Region.objects.order_by("kato")))
        .annotate(
            facility_count=Count("facilities", distinct=True),
            demo_facility_count=Count("facilities", filter=Q(facilities__is_demo=True), distinct=True),
        )
        .order_by("number")
    )


def region_summary_list() -> QuerySet[Region]:
    """Regions with their counts of planned health and creative facilities and places."""
    return Region.objects.annotate(
        health_count=Count("facilities", filter=Q(facilities__measure_id__in=HEALTH_MEASURES)),
        creative_count=Count("facilities", filter=Q(facilities__measure_id__in=CREATIVE_MEASURES)),
        places_total=Sum("facilities__places"),
        demo_count=Count("facilities", filter=Q(facilities__is_demo=True)),
        has_boundary=Count("id", filter=Q(geom__isnull=False)),
    ).order_by("kato")


def kpi_list() -> QuerySet[KpiIndicator]:
    return KpiIndicator.objects.prefetch_related(Prefetch("targets", queryset=KpiTarget.objects.order_by("year")))


def facility_list(
    *,
    region_kato: str | None = None,
    measure: int | None = None,
    kind: str | None = None,
) -> QuerySet[Facility]:
    """Facilities filtered by region (KATO), measure number and kind code."""
    qs = Facility.objects.select_related("kind", "measure", "region", "district")
    if region_kato:
        qs = qs.filter(region__kato=region_kato)
    if measure:
        qs = qs.filter(measure_id=measure)
    if kind:
        qs = qs.filter(kind_id=kind)
    return qs


def demo_data_present() -> bool:
    return Facility.objects.filter(is_demo=True).exists()


def facility_history(*, facility: Facility, limit: int = 100) -> tuple[list, int]:
    """(events newest first, each with `.who` and `.restorable`; the head for the restore form's lock).

    Every event but the newest is restorable: the newest is the facility as it stands.
    """
    events = history_with_users(
        list(facility.events.select_related("pgh_context").order_by("-pgh_id")[:limit])  # type: ignore[attr-defined]
    )
    head = history_head(facility.events.all())  # type: ignore[attr-defined]
    for event in events:
        event.restorable = event.pgh_id != head
    return events, head
