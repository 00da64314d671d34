"""A plan workbook (tracking.plan_xlsx) into a draft plan: the same checks as a row added on the page.

Which draft: a given draft (or checked) plan is updated; a given approved or superseded plan is never
changed: a new draft version is made from it ("New version from this one") and updated. Without a
plan, each plan (12, 13) that has rows in the file gets a new draft version made from its current
approved plan (empty when none).

Rows are matched by the row key the export writes (the row's measure/region/district/year, the same in
every version): a keyed row updates that row, a row without a key (or with a key the draft lacks) is
added; the draft's rows the file does not list are kept unless `remove_missing`.

Every row is checked by plan_item_problems (measure of the plan, year, counts, places, location in its
region and district) and the written plan by plan_validate: a violation about a row (region not named
by the measure, district outside the region, year after the measure's deadline) and any count above
the order's (quota exceeded) refuse the file; shortfalls (objects still missing) are reported and left
for the draft, as on the page. All errors are listed at once; nothing is saved unless there are none.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.gis.geos import Point
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.permissions import Action, can
from facilities.models import ConstructionQuota
from layers.models import District, Region
from parcels.import_columns import is_blank, number_parse, text_clean
from tracking.models import PLAN_MEASURES, Plan, PlanItem
from tracking.plan_xlsx import KEYS, FileRow, column_label, row_key
from tracking.services.errors import PermissionDeniedError, TrackingError
from tracking.services.plans import plan_create, plan_item_problems, plan_validate

PLAN_OF_MEASURE = {m: plan for plan, measures in PLAN_MEASURES.items() for m in measures}
YES = {"yes", "y", "да", "иә", "ия", "1", "true"}
NO = {"no", "n", "нет", "жоқ", "0", "false"}
# plan_item_problems' fields -> the file's columns.
FIELD_COLUMN = {"measure": "measure", "year": "year", "count": "count", "ppp_count": "ppp_count"}
FIELD_COLUMN |= {"places_each": "places_each", "location": "longitude"}
VIOLATION_COLUMN = {
    "measure_not_in_plan": "measure",
    "region_not_named": "region_name",
    "district_outside_region": "district_name",
    "year_after_deadline": "year",
}


@dataclass(frozen=True)
class RowError:
    row: int | None  # Excel's row number; None: the file as a whole
    column: str  # column key ("" for the file)
    message: str

    def __str__(self) -> str:
        where = [_("row %(n)s") % {"n": self.row}] if self.row else []
        if self.column:
            where.append(f"“{column_label(self.column)}”")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class PlanImportError(TrackingError):
    """The file does not validate: `errors` lists every problem; nothing was saved."""

    def __init__(self, errors: list[RowError]):
        self.errors = sorted(errors, key=lambda e: (e.row or 0, KEYS.index(e.column) if e.column in KEYS else -1))
        super().__init__({"__all__": [str(e) for e in self.errors]})


@dataclass
class PlanRow:
    number: int
    key: str
    measure: int
    region_id: int
    district_id: int | None
    year: int
    count: int
    ppp_count: int
    places_each: int
    location: Point | None
    names: dict[str, str]

    def values(self) -> dict[str, object]:
        return {
            "measure_id": self.measure,
            "region_id": self.region_id,
            "district_id": self.district_id,
            "year": self.year,
            "count": self.count,
            "ppp_count": self.ppp_count,
            "places_each": self.places_each,
            "location": self.location,
            **{f"name_{lang}": name for lang, name in self.names.items()},
        }


@dataclass
class PlanImportResult:
    plan: Plan
    created: bool  # a new draft version was made
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)  # the order's shortfalls left for the draft


def _fold(value: object) -> str:
    return " ".join(text_clean(value).split()).casefold()


class _Lookups:
    """Regions, districts and facility kinds by code and by name in any language (one query each)."""

    def __init__(self):
        self.regions = {r.kato: r for r in Region.objects.all()}
        self.region_names = {
            _fold(getattr(r, f"name_{lang}")): r for r in self.regions.values() for lang in ("kk", "ru", "en")
        }
        self.districts = {d.kato: d for d in District.objects.all()}
        self.district_names = defaultdict(list)
        for d in self.districts.values():
            for lang in ("kk", "ru", "en"):
                self.district_names[_fold(getattr(d, f"name_{lang}"))].append(d)
        self.kinds = {}
        for quota in ConstructionQuota.objects.select_related("object_kind"):
            kind = quota.object_kind
            names = {kind.code.casefold(), *(_fold(getattr(kind, f"name_{lang}")) for lang in ("kk", "ru", "en"))}
            self.kinds[quota.measure_id] = (kind, names)


def _whole(value: object) -> int:
    number = number_parse(value)
    if number is None or number != number.to_integral_value():
        raise ValueError
    return int(number)


def _code(value: object) -> str:
    return text_clean(value).replace(" ", "")


class _RowReader:
    """Turns one FileRow into a PlanRow, collecting its errors by column."""

    def __init__(self, row: FileRow, lookups: _Lookups):
        self.row, self.lookups, self.errors = row, lookups, []

    def error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.row.number, column, message))

    def get(self, key: str) -> object:
        value = self.row.values.get(key)
        return None if is_blank(value) else value

    def whole(self, key: str, *, default: int | None = None) -> int | None:
        value = self.get(key)
        if value is None:
            if default is None:
                self.error(key, _("a value is required"))
            return default
        try:
            return _whole(value)
        except ValueError:
            self.error(key, _("“%(v)s” is not a whole number") % {"v": value})
            return None

    def region(self) -> Region | None:
        kato, name = self.get("region_kato"), self.get("region_name")
        by_kato = self.lookups.regions.get(_code(kato)) if kato is not None else None
        by_name = self.lookups.region_names.get(_fold(name)) if name is not None else None
        if kato is not None and by_kato is None:
            self.error("region_kato", _("no region has the KATO code “%(v)s”") % {"v": kato})
        elif name is not None and by_name is None:
            self.error("region_name", _("no region is called “%(v)s”") % {"v": name})
        elif by_kato and by_name and by_kato != by_name:
            self.error(
                "region_name",
                _("the KATO code %(kato)s is the region %(r)s, not “%(v)s”")
                % {"kato": by_kato.kato, "r": by_kato.name, "v": name},
            )
        elif kato is None and name is None:
            self.error("region_name", _("a value is required"))
        return by_kato or by_name

    def district(self, region: Region | None) -> District | None:
        kato, name = self.get("district_kato"), self.get("district_name")
        if kato is not None:
            district = self.lookups.districts.get(_code(kato))
            if district is None:
                self.error("district_kato", _("no district has the KATO code “%(v)s”") % {"v": kato})
            elif name is not None and _fold(name) not in {
                _fold(getattr(district, f"name_{lang}")) for lang in ("kk", "ru", "en")
            }:
                self.error(
                    "district_name",
                    _("the KATO code %(kato)s is the district %(d)s, not “%(v)s”")
                    % {"kato": district.kato, "d": district.name, "v": name},
                )
            return district
        if name is None:
            return None
        found = {d.pk: d for d in self.lookups.district_names.get(_fold(name), [])}
        if region is not None and len(found) > 1:
            found = {pk: d for pk, d in found.items() if d.region_id == region.pk} or found
        if len(found) == 1:
            return next(iter(found.values()))
        if found:
            self.error("district_name", _("several districts are called “%(v)s”: give the KATO code") % {"v": name})
        else:
            self.error("district_name", _("no district is called “%(v)s”") % {"v": name})
        return None

    def ppp(self) -> int | None:
        value = self.get("ppp_count")
        if value is None:
            return 0
        word = _fold(value)
        if word in YES - {"1"} or word in NO - {"0"}:
            return -1 if word in YES else 0  # -1: all the row's objects (resolved with the count)
        try:
            return _whole(value)
        except ValueError:
            self.error("ppp_count", _("“%(v)s” is neither a whole number nor yes/no") % {"v": value})
            return None

    def location(self) -> Point | None:
        lon, lat = self.get("longitude"), self.get("latitude")
        if lon is None and lat is None:
            return None
        if lon is None or lat is None:
            self.error("longitude", _("give both longitude and latitude, or neither"))
            return None
        try:
            x, y = number_parse(lon), number_parse(lat)
        except ValueError:
            self.error("longitude", _("longitude and latitude must be decimal degrees"))
            return None
        if not (Decimal(-180) <= x <= 180 and Decimal(-90) <= y <= 90):
            self.error(
                "longitude", _("%(lon)s, %(lat)s are not degrees of longitude and latitude") % {"lon": lon, "lat": lat}
            )
            return None
        return Point(float(x), float(y), srid=4326)

    def read(self) -> PlanRow | None:
        measure = self.whole("measure")
        if measure is not None and measure not in PLAN_OF_MEASURE:
            self.error("measure", _("unknown measure %(m)s: a plan row is one of measures 14–26") % {"m": measure})
            measure = None
        region = self.region()
        district = self.district(region)
        year, count = self.whole("year"), self.whole("count")
        ppp, places = self.ppp(), self.whole("places_each", default=300)
        location = self.location()
        kind = self.get("facility_kind")
        if measure is not None and kind is not None and measure in self.lookups.kinds:
            expected, names = self.lookups.kinds[measure]
            if _fold(kind) not in names:
                self.error(
                    "facility_kind",
                    _("measure %(m)s builds “%(kind)s”, not “%(v)s”")
                    % {"m": measure, "kind": expected.name, "v": kind},
                )
        names = {lang: text_clean(self.get(f"name_{lang}"))[:300] for lang in ("kk", "ru", "en")}
        if self.errors or None in (measure, region, year, count, ppp, places):
            return None
        return PlanRow(
            number=self.row.number,
            key=text_clean(self.get("key")),
            measure=measure,
            region_id=region.pk,
            district_id=district.pk if district else None,
            year=year,
            count=count,
            ppp_count=count if ppp == -1 else ppp,
            places_each=places,
            location=location,
            names=names,
        )


def plan_rows_read(*, rows: list[FileRow]) -> tuple[list[PlanRow], list[RowError]]:
    """Resolve the file's rows (codes and names of regions, districts, kinds; numbers; the location)."""
    lookups, out, errors = _Lookups(), [], []
    for row in rows:
        reader = _RowReader(row, lookups)
        plan_row = reader.read()
        errors.extend(reader.errors)
        if plan_row is not None:
            out.append(plan_row)
    return out, errors


def _item_key(item: PlanItem) -> str:
    return row_key(
        measure=item.measure_id,
        region_kato=item.region.kato,
        district_kato=item.district.kato if item.district_id else None,
        year=item.year,
    )


def _cell(values: dict) -> tuple:
    return (values["measure_id"], values["region_id"], values["district_id"], values["year"])


def _apply(*, plan: Plan, rows: list[PlanRow], remove_missing: bool, result: PlanImportResult) -> list[RowError]:
    """Check `rows` against `plan` and write the valid ones; every error found (when any, the caller rolls
    back). Rows refused by their own checks are left out, so the plan's checks still see all the others."""
    errors: list[RowError] = []
    refused: set[int] = set()
    for row in rows:
        problems = plan_item_problems(
            plan=plan,
            measure=row.measure,
            year=row.year,
            count=row.count,
            ppp_count=row.ppp_count,
            places_each=row.places_each,
            region_id=row.region_id,
            district_id=row.district_id,
            location=row.location,
        )
        for name, messages in problems.items():
            errors.extend(RowError(row.number, FIELD_COLUMN.get(name, ""), m) for m in messages)
            refused.add(row.number)
    existing = {_item_key(i): i for i in plan.items.select_related("region", "district")}
    matched: dict[int, PlanRow] = {}
    first_with_key: dict[str, int] = {}
    for row in rows:
        if row.key and row.key in first_with_key:
            errors.append(
                RowError(row.number, "key", _("the same row key as row %(n)s") % {"n": first_with_key[row.key]})
            )
            refused.add(row.number)
        elif row.key:
            first_with_key[row.key] = row.number
            if row.key in existing:
                matched[existing[row.key].pk] = row
    kept = [] if remove_missing else [i for i in existing.values() if i.pk not in matched]
    cells: dict[tuple, int | None] = {_cell(i.__dict__): None for i in kept}
    for row in rows:
        cell = _cell(row.values())
        if cell in cells:
            other = cells[cell]
            message = (
                _("the same measure, region, district and year as row %(n)s") % {"n": other}
                if other
                else _("the draft already has a row for that measure, region, district and year (not in the file)")
            )
            errors.append(RowError(row.number, "measure", message))
            refused.add(row.number)
        cells.setdefault(cell, row.number)
    row_of_item: dict[int, int] = {}
    try:
        with transaction.atomic():
            for item in existing.values():
                row = matched.get(item.pk)
                if row is None or row.number in refused:
                    if row is None and remove_missing:
                        item.delete()
                        result.removed += 1
                    continue
                row_of_item[item.pk] = row.number
                values = row.values()
                if all(getattr(item, k) == v for k, v in values.items()):
                    result.unchanged += 1
                    continue
                PlanItem.objects.filter(pk=item.pk).update(**values)
                result.updated += 1
            updating = {id(row) for row in matched.values()}
            for row in rows:
                if id(row) in updating or row.number in refused:
                    continue
                item = PlanItem.objects.create(plan=plan, **row.values())
                row_of_item[item.pk] = row.number
                result.added += 1
    except IntegrityError:
        return [
            *errors,
            RowError(
                None,
                "",
                _(
                    "two rows of the file take each other's measure, region, district and year: "
                    "upload the change in two steps"
                ),
            ),
        ]
    if result.added or result.updated or result.removed:
        Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.DRAFT, checked_at=None)
        plan.status, plan.checked_at = Plan.Status.DRAFT, None
    for violation in plan_validate(plan=plan):
        if violation.item_id is not None:
            errors.append(
                RowError(
                    row_of_item.get(violation.item_id), VIOLATION_COLUMN.get(violation.rule, ""), violation.message
                )
            )
        elif violation.excess:
            errors.append(RowError(None, "", violation.message))
        else:
            result.warnings.append(violation.message)
    return errors


def _target(*, plan: Plan, user) -> tuple[Plan, bool]:
    if plan.status in (Plan.Status.DRAFT, Plan.Status.CHECKED):
        return Plan.objects.select_for_update().get(pk=plan.pk), False
    return plan_create(plan_measure=plan.plan_measure_id, user=user, copy_from=plan, is_demo=plan.is_demo), True


@transaction.atomic
def plan_xlsx_import(
    *, rows: list[FileRow], plan: Plan | None = None, remove_missing: bool = False, user=None, dry_run: bool = False
) -> list[PlanImportResult]:
    """Write the file's rows into a draft (see the module's docstring for which); one result per plan.

    PlanImportError lists every error and nothing is saved; `dry_run` checks everything and saves nothing.
    """
    if user is not None and not can(user, Action.PLAN, region_id=None):
        raise PermissionDeniedError(_("only the ministry may edit consolidated plans"))
    plan_rows, errors = plan_rows_read(rows=rows)
    if not rows:
        errors.append(RowError(None, "", _("the sheet has no plan rows")))
    if plan is not None:
        plan = Plan.objects.select_for_update().get(pk=plan.pk)  # its status as it stands, not as the caller read it
        groups = {plan.plan_measure_id: plan_rows}
        bases = {plan.plan_measure_id: plan}
    else:
        groups = defaultdict(list)
        for row in plan_rows:
            groups[PLAN_OF_MEASURE[row.measure]].append(row)
        approved = {p.plan_measure_id: p for p in Plan.objects.filter(status=Plan.Status.APPROVED)}
        bases = {m: approved.get(m) for m in groups}
    results = []
    for plan_measure, group in sorted(groups.items()):
        base = bases[plan_measure]
        if base is None:
            target, created = plan_create(plan_measure=plan_measure, user=user), True
        else:
            target, created = _target(plan=base, user=user)
        result = PlanImportResult(plan=target, created=created)
        errors.extend(_apply(plan=target, rows=group, remove_missing=remove_missing, result=result))
        results.append(result)
    if errors:
        raise PlanImportError(errors)
    if dry_run:
        transaction.set_rollback(True)
    return results
