"""Population figures by region: official totals and children from the bundled open data, school-age
estimates derived from them, and official school-age figures entered by the ministry."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.permissions import Action, can
from layers.models import PopulationFigure, Region
from tracking.services.errors import PermissionDeniedError, TrackingError

TOTALS_FILE = "kz_population_by_region_2000-2023_stat.gov.kz.csv"
AGES_FILE = "kz_population_by_region_age_sex_2020-01-01_data.egov.kz.csv"
TOTALS_SOURCE = (
    "stat.gov.kz (Bureau of National Statistics), population at the start of the year, "
    "via open-data-kazakhstan/population-projections-by-regions"
)
AGES_SOURCE = (
    "data.egov.kz, population by age groups and sex on 1 January 2020, via open-data-kazakhstan/demographics-kz"
)
ESTIMATE_SOURCE = "ESTIMATE by gis_portal (not official)"
ESTIMATE_METHOD = (
    "School-age 6–17 estimated as total population of the year × share of children 0–15 in the total "
    "on 1 Jan 2020 (data.egov.kz; for Abai, Zhetisu and Ulytau the share of the pre-2022 region they were "
    "part of: East Kazakhstan, Almaty region, Karaganda) × 12/16 (ages 6–17 assumed as populous as an "
    "average year of ages 0–15)."
)
# Russian names in the two files -> KATO of the order's regions.
RU_NAME_TO_KATO = {
    "Абай": "100000000",
    "Акмолинская": "110000000",
    "Актюбинская": "150000000",
    "Алматинская": "190000000",
    "Атырауская": "230000000",
    "Западно-Казахстанская": "270000000",
    "Жамбылская": "310000000",
    "Жетісу": "330000000",
    "Карагандинская": "350000000",
    "Костанайская": "390000000",
    "Кызылординская": "430000000",
    "Мангистауская": "470000000",
    "Павлодарская": "550000000",
    "Северо-Казахстанская": "590000000",
    "Туркестанская": "610000000",
    "Туркестанская 1": "610000000",
    "Ұлытау": "620000000",
    "Восточно-Казахстанская": "630000000",
    "г. Астана": "710000000",
    "город Нур-Султан": "710000000",
    "г. Алматы": "750000000",
    "город Алматы": "750000000",
    "г. Шымкент": "790000000",
    "город Шымкент": "790000000",
}
# Regions created in 2022 and the pre-2022 region their territory came from.
PARENT_2020 = {"100000000": "630000000", "330000000": "190000000", "620000000": "350000000"}


@transaction.atomic
def population_load(*, stats_dir: Path, estimate_years: tuple[int, ...] = (2020, 2021, 2022, 2023)) -> dict[str, int]:
    """Load official totals (2000–2023) and children 0–15 (1 Jan 2020) by region, with their sources,
    then store school-age 6–17 ESTIMATES (is_official=False, method in `note`) unless an official
    figure exists for that region and year. Idempotent."""
    regions = {r.kato: r for r in Region.objects.all()}
    loaded = {"total": 0, "children_0_15": 0, "school_age_estimates": 0}
    totals: dict[tuple[str, int], int] = {}
    with open(stats_dir / TOTALS_FILE, encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            kato = RU_NAME_TO_KATO.get((row.get("Область") or "").strip())
            try:
                year, value = int(row["Год"]), int(float(row["Население"]))
            except (TypeError, ValueError):
                continue
            if kato is None or kato not in regions:
                continue
            totals[(kato, year)] = value
            PopulationFigure.objects.update_or_create(
                region=regions[kato],
                district=None,
                year=year,
                indicator=PopulationFigure.Indicator.TOTAL,
                defaults={
                    "value": value,
                    "is_official": True,
                    "source": TOTALS_SOURCE,
                    "source_date": date(year, 1, 1),
                    "note": "",
                },
            )
            loaded["total"] += 1
    children: dict[str, int] = {}
    with open(stats_dir / AGES_FILE, encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            kato = RU_NAME_TO_KATO.get(row["region"].strip())
            if kato is None:
                continue
            value = int(row["men_0-15"]) + int(row["women_0-15"])
            children[kato] = value
            PopulationFigure.objects.update_or_create(
                region=regions[kato],
                district=None,
                year=2020,
                indicator=PopulationFigure.Indicator.CHILDREN_0_15,
                defaults={
                    "value": value,
                    "is_official": True,
                    "source": AGES_SOURCE,
                    "source_date": date(2020, 1, 1),
                    "note": "Boundaries before 2022 (17 units)",
                },
            )
            loaded["children_0_15"] += 1
    for kato, region in regions.items():
        parent = PARENT_2020.get(kato, kato)
        if parent not in children or (parent, 2020) not in totals:
            continue
        share = children[parent] / totals[(parent, 2020)]
        for year in estimate_years:
            if (kato, year) not in totals:
                continue
            official = PopulationFigure.objects.filter(
                region=region, district=None, year=year, indicator="school_age_6_17", is_official=True
            ).exists()
            if official:
                continue
            PopulationFigure.objects.update_or_create(
                region=region,
                district=None,
                year=year,
                indicator=PopulationFigure.Indicator.SCHOOL_AGE_6_17,
                defaults={
                    "value": round(totals[(kato, year)] * share * 12 / 16),
                    "is_official": False,
                    "source": ESTIMATE_SOURCE,
                    "source_date": date(year, 1, 1),
                    "note": ESTIMATE_METHOD,
                },
            )
            loaded["school_age_estimates"] += 1
    return loaded


@transaction.atomic
def school_age_official_set(
    *, region_id: int, year: int, value: int, source: str, source_date: date | None = None, user=None
) -> PopulationFigure:
    """The ministry enters an official school-age (6–17) figure; it replaces an estimate."""
    if user is not None and not can(user, Action.PLAN, region_id=None):
        raise PermissionDeniedError(_("only the ministry enters official population figures"))
    problems = {}
    if value <= 0:
        problems["value"] = [_("must be positive")]
    if not source.strip():
        problems["source"] = [_("an official figure needs its source")]
    if not 1990 <= year <= 2100:
        problems["year"] = [_("invalid year")]
    if problems:
        raise TrackingError(problems)
    figure, _created = PopulationFigure.objects.update_or_create(
        region_id=region_id,
        district=None,
        year=year,
        indicator=PopulationFigure.Indicator.SCHOOL_AGE_6_17,
        defaults={
            "value": value,
            "is_official": True,
            "source": source.strip(),
            "source_date": source_date,
            "note": "",
        },
    )
    return figure
