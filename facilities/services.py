"""Writes of the roadmap's reference data (Order No. 191-ө: regions, bodies, measures, quotas, KPI targets).

The DEMO facilities are made by facilities.demo.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from django.db import transaction

from facilities.models import (
    ConstructionQuota,
    FacilityKind,
    KpiIndicator,
    KpiTarget,
    Measure,
    ResponsibleBody,
    Section,
)
from layers.models import Region
from layers.services import regions_sync

ROADMAP_JSON = Path(__file__).resolve().parent / "data" / "roadmap.json"


def roadmap_data_read(*, path: Path = ROADMAP_JSON) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


@transaction.atomic
def reference_data_load(*, path: Path = ROADMAP_JSON) -> dict[str, int]:
    """Load regions, bodies, sections, the 26 measures, quotas and KPI targets of the order.

    Idempotent: rows are matched by their natural keys and updated in place.
    """
    data = roadmap_data_read(path=path)
    regions_sync(rows=data["regions"])
    for row in data["bodies"]:
        ResponsibleBody.objects.update_or_create(
            code=row["code"], defaults={k: row[k] for k in ("name_kk", "name_ru", "name_en")}
        )
    for row in data["sections"]:
        Section.objects.update_or_create(
            code=row["code"], defaults={k: row[k] for k in ("title_kk", "title_ru", "title_en")}
        )
    for row in data["facility_kinds"]:
        FacilityKind.objects.update_or_create(
            code=row["code"],
            defaults={
                **{k: row[k] for k in ("name_kk", "name_ru", "name_en")},
                "shifts_per_year": row.get("shifts_per_year", 1),
                "shifts_basis": row.get("shifts_basis", ""),
                "shifts_assumed": row.get("shifts_assumed", True),
            },
        )
    bodies = {b.code: b for b in ResponsibleBody.objects.all()}
    for row in data["measures"]:
        measure, _ = Measure.objects.update_or_create(
            number=row["number"],
            defaults={
                "section_id": row["section"],
                **{
                    k: row[k]
                    for k in (
                        "title_kk",
                        "title_ru",
                        "title_en",
                        "completion_form_code",
                        "completion_form_kk",
                        "completion_form_ru",
                        "completion_form_en",
                        "deadline_text_kk",
                        "deadline_kind",
                        "responsible_text_kk",
                    )
                },
                "deadline_start": date.fromisoformat(row["deadline_start"]),
                "deadline_end": date.fromisoformat(row["deadline_end"]),
                "recurrence_months": row.get("recurrence_months") or [],
            },
        )
        measure.responsible.set([bodies[code] for code in row["responsible"]])
    regions = {r.kato: r for r in Region.objects.all()}
    for row in data["quotas"]:
        quota, _ = ConstructionQuota.objects.update_or_create(
            measure_id=row["measure"],
            defaults={
                "count": row["count"],
                "object_kind_id": row["object_kind"],
                "ppp_count": row["ppp_count"],
                "target_stage": row["target_stage"],
                "regions_text_kk": row["regions_text_kk"],
            },
        )
        quota.regions.set([regions[kato] for kato in row["regions"]])
    for row in data["kpis"]:
        indicator, _ = KpiIndicator.objects.update_or_create(
            code=row["code"],
            defaults={
                **{k: row[k] for k in ("name_kk", "name_ru", "name_en", "unit", "baseline_year")},
                "baseline": row["baseline"],
            },
        )
        for year, value in row["targets"].items():
            KpiTarget.objects.update_or_create(indicator=indicator, year=int(year), defaults={"value": value})
    return {
        "regions": len(data["regions"]),
        "measures": len(data["measures"]),
        "quotas": len(data["quotas"]),
        "bodies": len(data["bodies"]),
    }
