"""Official population figures of districts, loaded from a ministry or statistics office file (CSV or XLSX).

A row: the district (KATO code, or its name with its region), the age band, the year (or the date the
figure refers to), the number of people, the source and the date of the source. Every row's problems are
reported together and nothing is saved while any remain. The key of a figure is district + year + age
band: loading the same file again changes nothing, a corrected file updates its figures.

Against the region's figure of the same age band and year: when the districts of a region (those of the
file and those already loaded) add up to more than the region's OFFICIAL figure, the file is refused (one
of the two is wrong); against a region ESTIMATE it is a warning (the district figures are used, and the
pages say that they exceed the region's).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import Action, can
from layers.models import KATO_REGEX, District, PopulationFigure, Region
from layers.settlement_services import settlement_estimates_refresh
from parcels.import_columns import column_key, date_parse, is_blank, number_parse, text_clean
from tracking.population_file import FileUnreadable, age_parse, band_indicator, people_parse, table_read
from tracking.services.errors import PermissionDeniedError, TrackingError

# Words around a unit's name that files add or leave out ("Аршалынский район", "Ақмола облысы").
_UNIT_WORDS = {
    "район", "ауданы", "аудан", "district", "rayon", "область", "облысы", "облыс", "обл", "region", "oblast",
    "г", "город", "каласы", "city", "городская", "администрация", "га",
}  # fmt: skip


def _name_key(name: object) -> str:
    return " ".join(w for w in column_key(name).split() if w not in _UNIT_WORDS)


@dataclass
class RowProblem:
    row: int  # as the user sees it: the line of the CSV, the row of the sheet
    column: str  # the file's column name, "" for the row as a whole
    message: str


@dataclass
class DistrictLoad:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    saved: bool = False


@dataclass
class _Row:
    number: int
    district: District
    year: int
    indicator: str
    age_from: int | None
    age_to: int | None
    value: int
    source: str
    source_date: date | None
    source_issued: date

    @property
    def key(self) -> tuple:
        return (self.district.id, self.year, self.indicator, self.age_from, self.age_to)


class _Units:
    """Districts and regions by KATO code and by name (within the region for districts)."""

    def __init__(self):
        self.regions = {r.kato: r for r in Region.objects.all()}
        self.region_names: dict[str, Region] = {}
        for r in self.regions.values():
            for name in (r.name_kk, r.name_ru, r.name_en, r.name_in_order_kk):
                self.region_names.setdefault(_name_key(name), r)
        self.districts = {d.kato: d for d in District.objects.select_related("region")}
        self.district_names: dict[tuple[int, str], list[District]] = defaultdict(list)
        for d in self.districts.values():
            for key in {_name_key(n) for n in (d.name_kk, d.name_ru, d.name_en)}:
                self.district_names[(d.region_id, key)].append(d)

    def region(self, value: object) -> Region:
        text = text_clean(value)
        found = self.regions.get(text) if re.fullmatch(KATO_REGEX, text) else self.region_names.get(_name_key(text))
        if found is None:
            raise ValueError(_("unknown region «%(v)s»") % {"v": text})
        return found

    def district(self, *, kato: object, name: object, region: Region | None) -> District:
        code = text_clean(kato)
        if code:
            if not re.fullmatch(KATO_REGEX, code):
                raise ValueError(_("«%(v)s» is not a KATO code (9 digits)") % {"v": code})
            if code in self.regions:
                raise ValueError(_("%(v)s is the KATO code of a region, not of a district") % {"v": code})
            found = self.districts.get(code)
            if found is None:
                raise ValueError(_("unknown district KATO code %(v)s") % {"v": code})
            if region is not None and found.region_id != region.id:
                raise ValueError(
                    _("district %(kato)s (%(name)s) is not in the region %(region)s")
                    % {"kato": code, "name": found.name, "region": region.name}
                )
            return found
        if region is None:
            raise ValueError(_("give the district's KATO code, or its name with its region"))
        matches = self.district_names.get((region.id, _name_key(name)), [])
        if not matches:
            raise ValueError(
                _("no district «%(v)s» in the region %(region)s") % {"v": text_clean(name), "region": region.name}
            )
        if len(matches) > 1:
            raise ValueError(_("«%(v)s» names several districts; give the KATO code") % {"v": text_clean(name)})
        return matches[0]


def _year(cells: dict, *, today: date) -> tuple[int, date | None]:
    """(year, date the figure refers to) from the year and/or date cells. Raises ValueError."""
    when = date_parse(cells.get("date")) if not is_blank(cells.get("date")) else None
    year = None
    if not is_blank(cells.get("year")):
        number = number_parse(cells.get("year"))
        if number is None or number != number.to_integral_value() or not 1990 <= number <= 2100:
            raise ValueError(_("«%(v)s» is not a year (1990–2100)") % {"v": cells.get("year")})
        year = int(number)
    if year is None and when is None:
        raise ValueError(_("the year (or the date the figure refers to) is missing"))
    if when is not None and year is not None and when.year != year:
        raise ValueError(_("the date %(d)s is not in the year %(y)s") % {"d": when.strftime("%d.%m.%Y"), "y": year})
    if when is not None and when > today:
        raise ValueError(_("the date %(d)s is in the future") % {"d": when.strftime("%d.%m.%Y")})
    return (year if year is not None else when.year), when


def _row_read(number: int, cells: dict, *, columns: dict, units: _Units, today: date, problems: list) -> _Row | None:
    """One row, or None with its problems (each cell checked, so a row reports all of its problems)."""
    found = {}

    def check(name, column, fn):
        try:
            found[name] = fn()
        except (ValueError, ArithmeticError) as exc:
            problems.append(RowProblem(number, columns.get(column, ""), str(exc) or _("not valid")))

    region = None
    if not is_blank(cells.get("region")):
        check("region", "region", lambda: units.region(cells["region"]))
        region = found.get("region")
        if "region" not in found:
            return None
    check(
        "district",
        "kato" if not is_blank(cells.get("kato")) else "district",
        lambda: units.district(kato=cells.get("kato"), name=cells.get("district"), region=region),
    )
    if "age_from" in columns or "age_to" in columns:
        check(
            "age",
            "age_from",
            lambda: (
                band_indicator(people_parse(cells.get("age_from")), people_parse(cells.get("age_to")))
                if not (is_blank(cells.get("age_from")) and is_blank(cells.get("age_to")))
                else age_parse(cells.get("age"))
            ),
        )
    else:
        check("age", "age", lambda: age_parse(cells.get("age")))
    check("year", "year" if "year" in columns else "date", lambda: _year(cells, today=today))
    check("value", "value", lambda: people_parse(cells.get("value")))
    source = text_clean(cells.get("source"))
    if not source:
        problems.append(RowProblem(number, columns["source"], _("the source is missing")))
    elif len(source) > 300:
        problems.append(RowProblem(number, columns["source"], _("the source is longer than 300 characters")))

    def issued():
        when = date_parse(cells.get("source_issued"))
        if when is None:
            raise ValueError(_("the date of the source is missing"))
        if when > today:
            raise ValueError(_("the date %(d)s is in the future") % {"d": when.strftime("%d.%m.%Y")})
        return when

    check("issued", "source_issued", issued)
    if not {"district", "age", "year", "value", "issued"} <= found.keys() or not source:
        return None
    indicator, age_from, age_to = found["age"]
    year, when = found["year"]
    return _Row(
        number, found["district"], year, indicator, age_from, age_to, found["value"], source, when, found["issued"]
    )


def _against_regions(rows: list[_Row], result: DistrictLoad) -> None:
    """Districts of a region (file + already loaded) against the region's figure of the same band and year."""
    in_file = {r.key for r in rows}
    sums: dict[tuple, int] = defaultdict(int)
    numbers: dict[tuple, list[int]] = defaultdict(list)
    for r in rows:
        key = (r.district.region_id, r.year, r.indicator, r.age_from, r.age_to)
        sums[key] += r.value
        numbers[key].append(r.number)
    region_ids = {k[0] for k in sums}
    for f in PopulationFigure.objects.filter(region_id__in=region_ids, district__isnull=False):
        key = (f.region_id, f.year, f.indicator, f.age_from, f.age_to)
        if key in sums and (f.district_id, f.year, f.indicator, f.age_from, f.age_to) not in in_file:
            sums[key] += f.value
    for f in PopulationFigure.objects.filter(region_id__in=region_ids, district__isnull=True).select_related("region"):
        key = (f.region_id, f.year, f.indicator, f.age_from, f.age_to)
        if key not in sums or sums[key] <= f.value:
            continue
        params = {"region": f.region.name, "year": f.year, "sum": sums[key], "value": f.value, "source": f.source}
        if f.is_official:
            result.problems.append(
                RowProblem(
                    min(numbers[key]),
                    "",
                    _(
                        "the districts of %(region)s add up to %(sum)s for %(year)s, more than the region's official "
                        "figure %(value)s (%(source)s); rows %(rows)s"
                    )
                    % {**params, "rows": ", ".join(map(str, sorted(numbers[key])))},
                )
            )
        else:
            result.warnings.append(
                _(
                    "the districts of %(region)s add up to %(sum)s for %(year)s, more than the region's ESTIMATE "
                    "%(value)s: the district figures are used and the pages say so"
                )
                % params
            )


@transaction.atomic
def district_population_load(*, data: bytes, filename: str, user=None, dry_run: bool = False) -> DistrictLoad:
    """Check every row of the file and, when none has a problem (and not `dry_run`), save its figures
    (official, of districts). Raises TrackingError when the file itself cannot be read."""
    if user is not None and not can(user, Action.PLAN, region_id=None):
        raise PermissionDeniedError(_("only the ministry enters official population figures"))
    try:
        table = table_read(data=data, filename=filename)
    except FileUnreadable as exc:
        raise TrackingError({"file": [str(exc)]}) from None
    units, today = _Units(), timezone.localdate()
    result = DistrictLoad(rows=len(table.rows))
    rows: list[_Row] = []
    first: dict[tuple, int] = {}
    for number, cells in table.rows:
        row = _row_read(number, cells, columns=table.columns, units=units, today=today, problems=result.problems)
        if row is None:
            continue
        if row.key in first:
            result.problems.append(
                RowProblem(number, "", _("the same district, year and age band as row %(n)s") % {"n": first[row.key]})
            )
            continue
        first[row.key] = number
        rows.append(row)
    _against_regions(rows, result)
    result.problems.sort(key=lambda p: p.row)
    if result.problems or dry_run:
        return result
    for r in rows:
        values = {
            "region_id": r.district.region_id,
            "value": r.value,
            "is_official": True,
            "source": r.source,
            "source_date": r.source_date,
            "source_issued": r.source_issued,
        }
        figure, created = PopulationFigure.objects.get_or_create(
            district=r.district, year=r.year, indicator=r.indicator, age_from=r.age_from, age_to=r.age_to,
            defaults=values,
        )  # fmt: skip
        if created:
            result.created += 1
        elif all(getattr(figure, k) == v for k, v in values.items()):
            result.unchanged += 1
        else:
            for k, v in values.items():
                setattr(figure, k, v)
            figure.note = ""
            figure.save()
            result.updated += 1
    result.saved = True
    if result.created or result.updated:
        # Places without a figure share their district's total (layers.analysis.settlement_estimates).
        settlement_estimates_refresh()
    return result
