"""Import of parcels from the features of a file (parcels.io reads it): creates and updates, all or none."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from facilities.models import Facility
from parcels.checks import Problem, geometry_repair_preview, geometry_validity
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
from parcels.models import Parcel
from parcels.services.common import ParcelConflict, ParcelValidationError
from parcels.services.import_matching import (
    BoundaryChange,
    Candidate,
    FieldChange,
    boundary_compare,
    editable_facilities,
    facility_by_reference,
    facility_location_match,
    parcel_by_cadastral,
    parcel_field_changes,
    parcel_of_facility,
)
from parcels.services.parcels import PARCEL_FIELDS, parcel_create, parcel_update, parcel_validate

# What an imported row does (ImportRow.action).
CREATE, UPDATE, UNCHANGED, SKIP, CHOOSE = "create", "update", "unchanged", "skip", "choose"


@dataclass
class ImportRow:
    number: int
    cadastral_number: str
    facility_id: int | None
    problems: list[dict]
    geom: object | None = None  # the boundary the row saves (the repaired one when Repair was chosen)
    parcel_id: int | None = None
    computed_area_ha: Decimal | None = None
    action: str = CREATE
    match_text: str = ""  # how the facility or the parcel was found, in words
    facility_name: str = ""
    candidates: list[Candidate] = field(default_factory=list)  # when matched by location
    changes: list[FieldChange] = field(default_factory=list)  # an update: the fields it changes
    boundary: BoundaryChange | None = None  # an update: stored boundary → the file's
    repairable: bool = False  # the file's boundary is invalid; ST_MakeValid can repair it
    repair: BoundaryChange | None = None  # Repair chosen: the file's boundary → the repaired one
    original_geom: object | None = None  # Repair chosen: the file's (invalid) boundary
    chosen: dict = field(default_factory=dict)  # the user's choices for this row (ParcelImportUpload.choices)
    parcel_version: int | None = None  # an update: the version of the parcel it compared with

    @property
    def candidate_ids(self) -> set[int]:
        return {c.facility_id for c in self.candidates}


@dataclass
class ImportOutcome:
    rows: list[ImportRow]
    saved: int  # rows written (created + updated); 0 unless committed
    committed: bool

    @property
    def has_errors(self) -> bool:
        return any(p["severity"] == "error" for r in self.rows if r.action != SKIP for p in r.problems)

    @property
    def pending(self) -> list[ImportRow]:
        """Rows whose facility the user must still choose (or skip)."""
        return [r for r in self.rows if r.action == CHOOSE]

    @property
    def ready(self) -> bool:
        """Nothing stands in the way of saving: no error, no choice left."""
        return not self.has_errors and not self.pending

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def created(self) -> int:
        return self.count(CREATE)

    @property
    def updated(self) -> int:
        return self.count(UPDATE)

    @property
    def unchanged(self) -> int:
        return self.count(UNCHANGED)

    @property
    def skipped(self) -> int:
        return self.count(SKIP)


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


def _has_error(problems: list[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)


def _add_new(problems: list[Problem], found: list[Problem]) -> None:
    """Add the checks' findings, leaving out a field the file's values already have an error for (one per field)."""
    bad_fields = {p.field for p in problems if p.severity == "error"}
    problems += [p for p in found if p.field not in bad_fields or p.field == "geom"]


@dataclass
class _Target:
    facility: Facility | None = None
    parcel: Parcel | None = None


def _row_geometry(*, row: ImportRow, chosen: dict) -> GEOSGeometry | None:
    """The boundary to match by location (valid, or None); applies a chosen Repair to row.geom."""
    geom = row.geom
    if geom is None or geometry_validity(geom=geom) is None:
        return geom
    row.repairable = True
    repaired = geometry_repair_preview(geom=geom)
    if repaired.empty:
        return None  # nothing polygonal is left: the invalid-boundary error stands
    if chosen.get("repair"):
        row.original_geom = geom
        row.repair = boundary_compare(old=geom, new=repaired)
        row.geom = repaired
    return repaired


def _row_target(
    *, user, facilities, row: ImportRow, values: RowValues, geom, chosen: dict, problems: list[Problem]
) -> _Target:
    """Find the row's facility or parcel: explicit reference, cadastral number, then location (issue 15)."""
    target = _Target()
    ref = values.facility_ref
    if ref:
        target.facility = facility_by_reference(facilities=facilities, reference=ref)
        if target.facility is None:
            problems.append(
                Problem(
                    "facility_ref",
                    _(
                        "There is no facility with the reference or id “%(ref)s” that you may edit; "
                        "the row is matched by its cadastral number or its location instead."
                    )
                    % {"ref": ref},
                    field="facility_id",
                    severity="warning",
                )
            )
        else:
            row.match_text = _("reference “%(ref)s”") % {"ref": ref}
    existing = parcel_by_cadastral(user=user, number=row.cadastral_number)
    if existing is None and target.facility is not None:
        existing = parcel_of_facility(user=user, facility=target.facility, number=row.cadastral_number)
    if existing is not None and (target.facility is None or existing.facility_id == target.facility.pk):
        target.parcel = existing
        row.match_text = (
            _("updates parcel %(n)s") % {"n": existing.cadastral_number}
            if existing.cadastral_number
            else _("updates the facility's parcel (no cadastral number yet)")
        )
        return target
    if target.facility is not None or geom is None:
        return target
    match = facility_location_match(facilities=facilities, geom=geom)
    row.candidates = match.candidates
    wanted = chosen.get("facility")
    if wanted is not None:
        if wanted in row.candidate_ids:
            target.facility = facilities.get(pk=wanted)
            row.match_text = _("chosen by you")
        else:
            row.action = CHOOSE
            problems.append(
                Problem(
                    "facility_choice",
                    _("The facility you chose (#%(id)s) is not one of this row's candidates; choose again.")
                    % {"id": wanted},
                    field="facility_id",
                )
            )
    elif match.matched is not None:
        target.facility = facilities.get(pk=match.matched.facility_id)
        row.match_text = (
            _("its location lies inside the parcel")
            if match.how == "inside"
            else _("%(d)s from the parcel") % {"d": match.matched.distance_text}
        )
    else:
        row.action = CHOOSE
    return target


def _row_update(
    *, user, row: ImportRow, parcel: Parcel, values: RowValues, problems: list[Problem], seen_version: int | None
) -> bool:
    """Compare the row with its parcel and (no error) update it as a new version. True when written.

    `seen_version`: the parcel's version the user's preview showed; a parcel changed since then is not
    overwritten (the preview must be looked at again).
    """
    row.action, row.parcel_id, row.parcel_version = UPDATE, parcel.pk, parcel.version
    if seen_version is not None and seen_version != parcel.version:
        problems.append(Problem("conflict", str(ParcelConflict(parcel.version)), field="__all__"))
        return False
    row.facility_id = parcel.facility_id
    row.facility_name = parcel.facility.name if parcel.facility else ""
    row.changes = parcel_field_changes(parcel=parcel, data=values.data, given=set(values.sources), fields=PARCEL_FIELDS)
    if row.geom is not None:
        row.boundary = boundary_compare(old=parcel.geom, new=row.geom)
    new_geom = row.geom if row.boundary is not None and not row.boundary.same else None
    changed = {c.field: c.new for c in row.changes}
    row.computed_area_ha = parcel.computed_area_ha
    if not changed and new_geom is None and not _has_error(problems):
        row.action = UNCHANGED
        return False
    if _has_error(problems):
        merged = {k: getattr(parcel, k) for k in PARCEL_FIELDS} | changed
        found, _report = parcel_validate(
            facility=parcel.facility, geom=new_geom or parcel.geom, data=merged, parcel=parcel
        )
        _add_new(problems, found)
        return False
    try:
        with transaction.atomic():
            result = parcel_update(
                user=user, parcel_id=parcel.pk, expected_version=parcel.version, data=changed, geom=new_geom
            )
    except ParcelValidationError as exc:
        problems += exc.problems
        return False
    except ParcelConflict as exc:
        problems.append(Problem("conflict", str(exc), field="__all__"))
        return False
    except PermissionDenied:
        problems.append(Problem("facility", _("you may not change parcels in this region"), field="facility_id"))
        return False
    row.computed_area_ha = result.obj.computed_area_ha
    problems += result.warnings
    return True


def _row_create(*, user, row: ImportRow, facility: Facility | None, data: dict, problems: list[Problem]) -> bool:
    """Create the row's parcel; with its facility unknown or an error found, only check it. True when written."""
    if facility is not None:
        row.facility_id, row.facility_name = facility.pk, facility.name
    if row.geom is None:
        return False
    if facility is None or _has_error(problems):
        # Every other check runs now, so the file is fixed in one round (issue 15).
        found, report = parcel_validate(facility=facility, geom=row.geom, data=data)
        _add_new(problems, found)
        row.computed_area_ha = report.computed_area_ha
        return False
    try:
        with transaction.atomic():
            result = parcel_create(user=user, facility=facility, geom=row.geom, data=data)
    except ParcelValidationError as exc:
        problems += exc.problems
        return False
    except PermissionDenied:
        problems.append(Problem("facility", _("you may not add parcels in this region"), field="facility_id"))
        return False
    row.parcel_id = result.obj.pk
    row.computed_area_ha = result.obj.computed_area_ha
    problems += result.warnings
    return True


@transaction.atomic
def parcels_import(
    *,
    user,
    features: list,
    commit: bool,
    choices: dict | None = None,
    mapping: dict[str, str] | None = None,
    skip_unmatched: bool = False,
    seen_versions: dict[int, int] | None = None,
) -> ImportOutcome:
    """Validate (and with `commit`, save) imported features: new parcels and updates, all or none.

    Each row finds its facility (parcels.services.import_matching): the file's reference (a
    facility's reference number or internal id, among those `user` may edit), else the cadastral
    number of an active parcel `user` may edit (the row then updates it as a new version, unless
    nothing differs), else the location. A row whose facility is ambiguous or not found waits
    for the user's choice. `choices` (ParcelImportUpload.choices: per row number, "facility",
    "skip", "repair") apply the user's answers; `skip_unmatched` skips rows still waiting.
    `seen_versions` (row number → parcel version shown in the preview) keeps a confirmation from
    overwriting a parcel somebody changed after the preview.

    Every row is written inside one transaction, so later rows are checked against earlier ones
    (overlaps, duplicate numbers, a facility taken). The transaction is rolled back when `commit`
    is False (the preview), when any row has an error or when a choice is missing.
    """
    rows: list[ImportRow] = []
    saved = 0
    facilities = editable_facilities(user=user)
    chosen_rows = (choices or {}).get("rows", {})
    touched: dict[int, int] = {}  # parcel id → the row of this file that created or updates it
    for feature in features:
        chosen = chosen_rows.get(str(feature.number)) or {}
        row = ImportRow(feature.number, "", None, [], geom=feature.geom, chosen=chosen)
        rows.append(row)
        if chosen.get("skip"):
            row.action = SKIP  # left out by the user: not checked, not saved
            continue
        problems = [Problem("file", p.message, field=p.field) for p in feature.problems]
        values = import_row_data(feature.properties, mapping=mapping)
        problems += values.problems
        row.cadastral_number = values.data.get("cadastral_number", "")
        match_geom = _row_geometry(row=row, chosen=chosen)
        target = _row_target(
            user=user, facilities=facilities, row=row, values=values, geom=match_geom, chosen=chosen, problems=problems
        )
        if target.parcel is not None and target.parcel.pk in touched:
            problems.append(
                Problem(
                    "cadastral_duplicate",
                    _("Cadastral number %(n)s is also in row %(row)s of this file.")
                    % {"n": row.cadastral_number, "row": touched[target.parcel.pk]},
                    field="cadastral_number",
                )
            )
            target.parcel = None
        if row.action == CHOOSE and skip_unmatched and not _has_error(problems):
            row.action = SKIP
        elif target.parcel is not None:
            saved += _row_update(
                user=user,
                row=row,
                parcel=target.parcel,
                values=values,
                problems=problems,
                seen_version=(seen_versions or {}).get(row.number),
            )
        else:
            saved += _row_create(user=user, row=row, facility=target.facility, data=values.data, problems=problems)
        if row.parcel_id is not None:
            touched.setdefault(row.parcel_id, row.number)
        row.problems = [p.as_dict() for p in problems]
    outcome = ImportOutcome(rows, saved, committed=False)
    if commit and outcome.ready:
        outcome.committed = True
    else:
        transaction.set_rollback(True)
        outcome.saved = 0
    return outcome


def import_outcome_summary(*, outcome: ImportOutcome) -> str:
    """What the import did (or, in a preview, would do), counted per kind of row, in the user's language."""
    parts = []
    if n := outcome.created:
        parts.append(ngettext("%(n)d parcel created", "%(n)d parcels created", n) % {"n": n})
    if n := outcome.updated:
        parts.append(ngettext("%(n)d parcel updated", "%(n)d parcels updated", n) % {"n": n})
    if n := outcome.unchanged:
        parts.append(ngettext("%(n)d row unchanged", "%(n)d rows unchanged", n) % {"n": n})
    if n := outcome.skipped:
        parts.append(ngettext("%(n)d row skipped", "%(n)d rows skipped", n) % {"n": n})
    return "; ".join(parts) or _("no rows")
