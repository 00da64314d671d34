"""Import of parcels from the features of a file (parcels.io reads it): all or none, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.permissions import Action, scope_queryset
from facilities.models import Facility
from parcels.checks import Problem
from parcels.models import LandCategory, LandRight
from parcels.services.common import ParcelValidationError
from parcels.services.parcels import parcel_create

# Attribute names accepted in imported files (lower case) → parcel field.
IMPORT_ALIASES = {
    "facility_id": "facility_id",
    "facility": "facility_id",
    "facility_i": "facility_id",  # Shapefile (DBF) names are cut to 10 characters
    "cadastral_number": "cadastral_number",
    "cadastral": "cadastral_number",
    "cadastral_n": "cadastral_number",
    "cadastral_": "cadastral_number",
    "kad_nomer": "cadastral_number",
    "declared_area_ha": "declared_area_ha",
    "declared_a": "declared_area_ha",
    "area_ha": "declared_area_ha",
    "land_category": "land_category",
    "land_categ": "land_category",
    "right_type": "right_type",
    "act_number": "act_number",
    "act_date": "act_date",
    "issuing_akimat": "issuing_akimat",
    "issuing_ak": "issuing_akimat",
    "term_years": "term_years",
    "status": "status",
    "notes": "notes",
}


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


def _parse_date(value) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip()[:10]
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


@dataclass
class RowValues:
    """What one feature's attributes say (parcels.services.imports.import_row_data)."""

    data: dict  # parcel fields (PARCEL_FIELDS names), normalised
    facility_ref: str  # the file's reference to a facility as written (internal id or reference number), "" if none
    problems: list[Problem]
    sources: dict[str, str] = field(default_factory=dict)  # parcel field (or "facility_ref") → column it came from


def import_row_data(properties: dict, *, mapping: dict[str, str] | None = None) -> RowValues:
    """Map a feature's attributes to parcel data; problems name the field and the reason.

    `mapping` (column → field) adds the user's own choices for columns not recognised by name.
    """
    values = {}
    sources: dict[str, str] = {}
    for key, value in properties.items():
        target = (mapping or {}).get(str(key)) or IMPORT_ALIASES.get(str(key).strip().lower())
        if target and target not in values:
            values[target] = value
            sources[target] = str(key)
    problems: list[Problem] = []
    facility_ref = str(values.pop("facility_id", "") or "").strip()
    if "facility_id" in sources:
        sources["facility_ref"] = sources.pop("facility_id")
    data: dict = {
        k: (str(values.get(k) or "").strip()) for k in ("cadastral_number", "act_number", "issuing_akimat", "notes")
    }
    data["status"] = str(values.get("status") or "candidate").strip().lower()
    data["land_category"] = str(values.get("land_category") or "settlement").strip().lower()
    data["right_type"] = str(values.get("right_type") or "temporary_free").strip().lower()
    if data["land_category"] not in LandCategory.values:
        problems.append(
            Problem(
                "land_category",
                _("unknown land category “%(v)s”; use one of %(l)s")
                % {"v": data["land_category"], "l": ", ".join(LandCategory.values)},
                field="land_category",
            )
        )
    if data["right_type"] not in LandRight.values:
        problems.append(
            Problem(
                "right_type",
                _("unknown right “%(v)s”; use one of %(l)s")
                % {"v": data["right_type"], "l": ", ".join(LandRight.values)},
                field="right_type",
            )
        )
    try:
        area = values.get("declared_area_ha")
        data["declared_area_ha"] = (
            Decimal(str(area).replace(",", ".")).quantize(Decimal("0.0001")) if area not in (None, "") else None
        )
        if data["declared_area_ha"] is not None and not data["declared_area_ha"].is_finite():
            raise ValueError(area)
    except (ArithmeticError, ValueError):
        data["declared_area_ha"] = None
        problems.append(
            Problem(
                "declared_area",
                _("the declared area “%(v)s” is not a number of hectares") % {"v": values.get("declared_area_ha")},
                field="declared_area_ha",
            )
        )
    try:
        data["act_date"] = _parse_date(values.get("act_date"))
    except ValueError:
        data["act_date"] = None
        problems.append(
            Problem(
                "act_date",
                _("the act date “%(v)s” is not a date (YYYY-MM-DD)") % {"v": values.get("act_date")},
                field="act_date",
            )
        )
    term = values.get("term_years")
    try:
        data["term_years"] = int(float(term)) if term not in (None, "") else None
    except ValueError:
        data["term_years"] = None
        problems.append(
            Problem("term", _("the term “%(v)s” is not a number of years") % {"v": term}, field="term_years")
        )
    return RowValues(data=data, facility_ref=facility_ref, problems=problems, sources=sources)


@transaction.atomic
def parcels_import(*, user, features: list, commit: bool) -> ImportOutcome:
    """Validate (and with `commit`, save) imported features as new parcels: all or none.

    Every feature is created inside one transaction, so later features are
    checked against earlier ones (overlaps, duplicate numbers). The transaction
    is rolled back when `commit` is False (the preview) or when any feature
    has an error; the outcome lists each feature's problems.
    """
    rows: list[ImportRow] = []
    saved = 0
    facilities = scope_queryset(user, Facility.objects.select_related("region", "district"), action=Action.EDIT)
    for feature in features:
        problems = [Problem("file", p.message, field=p.field) for p in feature.problems]
        values = import_row_data(feature.properties)
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
