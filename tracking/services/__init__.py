"""Writes of tracking, one module per subject; this package re-exports their public names.

- errors: TrackingError and its subclasses (403 PermissionDeniedError, 409 StaleVersionError);
- plans: consolidated plans of measures 12 and 13 (versions, rows, validation, approval);
- plan_import: a plan workbook (tracking.plan_xlsx) into a draft plan, with per-row errors;
- stages: stage records of tracked facilities, reason for delay;
- measures: progress of the non-construction measures;
- population: official population figures and school-age estimates;
- population_districts: official district figures loaded from a CSV/XLSX file;
- kpi: measured KPI values reported by the ministry;
- reports: frozen semi-annual reports;
- restore: restore from history (a draft plan, a plan row, a stage record).

The DEMO seeders live in tracking.demo (they call these services; re-exporting them here would
make an import cycle).
"""

from tracking.services.errors import PermissionDeniedError, StaleVersionError, TrackingError
from tracking.services.kpi import kpi_measurement_set
from tracking.services.measures import measure_record_add
from tracking.services.plan_import import PlanImportError, PlanImportResult, RowError, plan_xlsx_import
from tracking.services.plans import (
    Violation,
    plan_approve,
    plan_check,
    plan_create,
    plan_item_add,
    plan_item_delete,
    plan_item_problems,
    plan_validate,
)
from tracking.services.population import (
    AGES_FILE,
    AGES_SOURCE,
    ESTIMATE_METHOD,
    ESTIMATE_SOURCE,
    PARENT_2020,
    RU_NAME_TO_KATO,
    TOTALS_FILE,
    TOTALS_SOURCE,
    population_load,
    school_age_official_set,
)
from tracking.services.population_districts import DistrictLoad, RowProblem, district_population_load
from tracking.services.reports import report_submit
from tracking.services.restore import plan_item_restore, plan_restore, stage_record_restore
from tracking.services.stages import overdue_reason_set, stage_disagreement_review, stage_record_add

__all__ = [
    "PlanImportError",
    "PlanImportResult",
    "RowError",
    "plan_xlsx_import",
    "AGES_FILE",
    "DistrictLoad",
    "RowProblem",
    "AGES_SOURCE",
    "ESTIMATE_METHOD",
    "ESTIMATE_SOURCE",
    "PARENT_2020",
    "RU_NAME_TO_KATO",
    "TOTALS_FILE",
    "TOTALS_SOURCE",
    "PermissionDeniedError",
    "StaleVersionError",
    "TrackingError",
    "Violation",
    "district_population_load",
    "kpi_measurement_set",
    "measure_record_add",
    "overdue_reason_set",
    "plan_approve",
    "plan_check",
    "plan_create",
    "plan_item_add",
    "plan_item_delete",
    "plan_item_problems",
    "plan_item_restore",
    "plan_restore",
    "plan_validate",
    "population_load",
    "report_submit",
    "school_age_official_set",
    "stage_disagreement_review",
    "stage_record_add",
    "stage_record_restore",
]
