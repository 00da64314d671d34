"""Writes of the accessibility app, one module per subject; this package re-exports their public names.

- errors: RunParameterError, SettlementImportError, RasterRegistrationError;
- parameters: a run's parameters completed with defaults and checked (radii in metres);
- runs: analysis runs created and queued as django-tasks jobs, re-run from stored parameters;
- repeats: a run repeated with one input changed (demand source, radii, urban threshold);
- rasters: population GeoTIFFs registered (any CRS);
- settlements (+ settlement_files): settlement lists (CSV, XLSX, GeoJSON) matched to the bundled places.

A queued run is executed by accessibility.execution (re-exported here: analysis_run_execute,
run_output_dir). The DEMO seeders live in accessibility.demo.
"""

from accessibility.execution import analysis_run_execute, run_output_dir
from accessibility.services.errors import RasterRegistrationError, RunParameterError, SettlementImportError
from accessibility.services.parameters import (
    CANDIDATE_SOURCES,
    DEFAULT_CHILD_SHARE,
    DEFAULT_RADII,
    FALLBACK_RADIUS,
    MAX_CANDIDATES,
    SCOPES,
    run_parameters_normalise,
)
from accessibility.services.rasters import population_raster_register
from accessibility.services.repeats import REPEAT_CHANGES, analysis_run_repeat, repeat_parameters
from accessibility.services.runs import analysis_run_create, analysis_run_rerun
from accessibility.services.settlements import SETTLEMENT_FIELDS, SETTLEMENT_IMPORT_MAX_BYTES, settlements_import

__all__ = [
    "CANDIDATE_SOURCES",
    "DEFAULT_CHILD_SHARE",
    "DEFAULT_RADII",
    "FALLBACK_RADIUS",
    "MAX_CANDIDATES",
    "REPEAT_CHANGES",
    "SCOPES",
    "SETTLEMENT_FIELDS",
    "SETTLEMENT_IMPORT_MAX_BYTES",
    "RasterRegistrationError",
    "RunParameterError",
    "SettlementImportError",
    "analysis_run_create",
    "analysis_run_execute",
    "analysis_run_repeat",
    "analysis_run_rerun",
    "population_raster_register",
    "repeat_parameters",
    "run_output_dir",
    "run_parameters_normalise",
    "settlements_import",
]
