"""Import of parcels from the features of a file (parcels.io reads it): all or none, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.permissions import Action, scope_queryset
from facilities.models import Facility
from parcels.checks import Problem
from parcels.import_columns import (
    FACILITY_REF,
    area_parse,
    cadastral_parse,
    choice_parse,
    columns_resolve,
    date_parse,
    term_parse,
    text_clean,
)
from parcels.services.common import ParcelValidationError
from parcels.services.parcels import parcel_create


@dataclass
class ImportRow:
    number: int
    cadastral_number: str
    facility_id: int | None
    problems: list[dict]
    geom: object | None = None
    parcel_id: int | None = None
    computed_area_ha: Decimal | None = None


@dataclass
class ImportOutcome:
    rows: list[ImportRow]
    saved: int
    committed: bool

    @property
    def has_errors(self) -> bool:
        return any(p["severity"] == "error" for r in self.rows for p in r.problems)


@dataclass
class RowValues:
    """What one feature's attributes say (parcels.services.imports.import_row_data)."""

    data: dict  # parcel fields (PARCEL_FIELDS names), normalised
    facility_ref: str  # the file's reference to a facility as written (internal id or reference number), "" if none
    problems: list[Problem]
    sources: dict[str, str] = field(default_factory=dict)  # parcel field (or "facility_ref") → column it came from


def import_row_data(properties: dict, *, mapping: dict[str, str] | None = None) -> RowValues:
    """Map a feature's attributes to parcel data (parcels.import_columns reads names and values).

    `mapping` (column → field, "" = not used) adds the user's own choices for columns not recognised by
    name. Every problem of the row is reported; each names the column as written in the file and the reason.
    Empty land category, right and status default to settlement, temporary free use and candidate.
    """
    values: dict = {}
    sources: dict[str, str] = {}
    for use, value in zip(columns_resolve(properties, mapping=mapping), properties.values(), strict=True):
        if use.feeds:
            values[use.feeds] = value
            sources[use.feeds] = use.column
    problems: list[Problem] = []

    def read(name: str, parse, default=None, *, code: str):
        if name not in values:
            return default
        try:
            found = parse(values[name])
        except ValueError as exc:
            problems.append(Problem(code, f"{sources[name]}: {exc}", field=name))
            return default
        return default if found is None else found

    data: dict = {k: text_clean(values.get(k)) for k in ("act_number", "issuing_akimat", "notes")}
    data["cadastral_number"] = read(
        "cadastral_number", cadastral_parse, text_clean(values.get("cadastral_number")), code="cadastral_format"
    )
    data["declared_area_ha"] = read("declared_area_ha", area_parse, code="declared_area")
    data["act_date"] = read("act_date", date_parse, code="act_date")
    data["term_years"] = read("term_years", term_parse, code="term")
    for name, default in (("land_category", "settlement"), ("right_type", "temporary_free"), ("status", "candidate")):
        data[name] = read(name, partial(choice_parse, kind=name), default, code=name)
    facility_ref = text_clean(values.get(FACILITY_REF))
    return RowValues(data=data, facility_ref=facility_ref, problems=problems, sources=sources)


@transaction.atomic
def parcels_import(*, user, features: list, commit: bool, mapping: dict[str, str] | None = None) -> ImportOutcome:
    """Validate (and with `commit`, save) imported features as new parcels: all or none.

    Every feature is created inside one transaction, so later features are
    checked against earlier ones (overlaps, duplicate numbers). The transaction
    is rolled back when `commit` is False (the preview) or when any feature
    has an error; the outcome lists each feature's problems. `mapping` is the user's
    choice of field for columns not recognised by name (parcels.import_columns.columns_resolve).
    """
    rows: list[ImportRow] = []
    saved = 0
    facilities = scope_queryset(user, Facility.objects.select_related("region", "district"), action=Action.EDIT)
    for feature in features:
        problems = [Problem("file", p.message, field=p.field) for p in feature.problems]
        values = import_row_data(feature.properties, mapping=mapping)
        data = values.data
        problems += values.problems
        facility_id = int(values.facility_ref) if values.facility_ref.isdigit() else None
        if facility_id is None:
            problems.append(Problem("facility", _("give the facility's id (column facility_id)"), field="facility_id"))
        row = ImportRow(feature.number, data.get("cadastral_number", ""), facility_id, [], geom=feature.geom)
        facility = None
        if facility_id is not None:
            try:
                facility = facilities.get(pk=facility_id)
            except ObjectDoesNotExist:
                problems.append(
                    Problem(
                        "facility",
                        _("there is no facility %(id)s that you may edit") % {"id": facility_id},
                        field="facility_id",
                    )
                )
        if not any(p.severity == "error" for p in problems) and feature.geom is not None and facility is not None:
            try:
                with transaction.atomic():
                    result = parcel_create(user=user, facility=facility, geom=feature.geom, data=data)
                row.parcel_id = result.obj.pk
                row.computed_area_ha = result.obj.computed_area_ha
                problems += result.warnings
                saved += 1
            except ParcelValidationError as exc:
                problems += exc.problems
            except PermissionDenied:
                problems.append(Problem("facility", _("you may not add parcels in this region"), field="facility_id"))
        row.problems = [p.as_dict() for p in problems]
        rows.append(row)
    outcome = ImportOutcome(rows, saved, committed=False)
    if commit and not outcome.has_errors:
        outcome.committed = True
    else:
        transaction.set_rollback(True)
        outcome.saved = 0
    return outcome
