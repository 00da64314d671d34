"""Writes of parcels, infrastructure links and documents. Every form, admin page, API call and import goes here.

Each write: checks the permission (accounts.permissions), runs the checks (attributes
in the service, geometry in parcels.checks), and saves in one transaction. A stale
`version` raises ParcelConflict (optimistic locking: UPDATE … WHERE id = %s AND version = %s).
Geometry EPSG:4326; areas in ha, lengths in m (UTM 39N–45N, see parcels.geometry).

Modules: parcels (parcels and their history), links (infrastructure links), documents
(scans), imports (files of parcels), columns (the columns a user mapped in import previews),
crs (local coordinate systems), common (errors, results, the system actor). The names below are
the package's interface: `from parcels.services import parcel_create`. The DEMO data lives in parcels.demo.
"""

from parcels.import_columns import IMPORT_ALIASES
from parcels.services.columns import import_column_choices_save
from parcels.services.common import (
    SYSTEM,
    ParcelConflict,
    ParcelValidationError,
    SaveResult,
    SystemActor,
    integrity_error_problem,
    region_edit_require,
)
from parcels.services.crs import LOCAL_CRS_FIELDS, local_crs_may_administer, local_crs_problems, local_crs_save
from parcels.services.documents import (
    ALLOWED_DOCUMENT_TYPES,
    document_add,
    document_delete,
    document_restore,
    document_type_sniff,
)
from parcels.services.imports import (
    ImportOutcome,
    ImportRow,
    RowValues,
    import_outcome_summary,
    import_row_data,
    parcels_import,
)
from parcels.services.links import LINK_FIELDS, link_create, link_delete, link_restore, link_update, link_validate
from parcels.services.parcels import (
    PARCEL_FIELDS,
    PARCEL_TRANSITIONS,
    history_with_users,
    parcel_create,
    parcel_history,
    parcel_replace,
    parcel_restore,
    parcel_revoke,
    parcel_update,
    parcel_validate,
)

__all__ = [
    "ALLOWED_DOCUMENT_TYPES",
    "IMPORT_ALIASES",
    "LINK_FIELDS",
    "LOCAL_CRS_FIELDS",
    "PARCEL_FIELDS",
    "PARCEL_TRANSITIONS",
    "SYSTEM",
    "ImportOutcome",
    "ImportRow",
    "ParcelConflict",
    "ParcelValidationError",
    "RowValues",
    "SaveResult",
    "SystemActor",
    "document_add",
    "document_delete",
    "document_restore",
    "document_type_sniff",
    "history_with_users",
    "import_column_choices_save",
    "import_outcome_summary",
    "import_row_data",
    "integrity_error_problem",
    "link_create",
    "link_delete",
    "link_restore",
    "link_update",
    "link_validate",
    "local_crs_may_administer",
    "local_crs_problems",
    "local_crs_save",
    "parcel_create",
    "parcel_history",
    "parcel_replace",
    "parcel_restore",
    "parcel_revoke",
    "parcel_update",
    "parcel_validate",
    "parcels_import",
    "region_edit_require",
]
