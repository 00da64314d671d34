"""The columns a user mapped in an import preview, remembered for the user's next files."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from parcels.checks import Problem
from parcels.import_columns import IMPORT_FIELDS, column_key
from parcels.models import ImportColumnChoice
from parcels.services.common import ParcelValidationError

COLUMN_MAX_LENGTH = ImportColumnChoice._meta.get_field("column").max_length


@transaction.atomic
def import_column_choices_save(*, user, choices: dict[str, str]) -> int:
    """Remember, for `user`, the field each column (name as written or normalised) feeds; "" = not used.

    All or none: an unknown field or an unusable column name raises ParcelValidationError naming it.
    Returns the number of choices saved.
    """
    problems: list[Problem] = []
    rows: dict[str, str] = {}
    for column, field in choices.items():
        key = column_key(column)
        if field not in IMPORT_FIELDS and field != "":
            problems.append(
                Problem(
                    "column_field",
                    _("%(c)s: “%(f)s” is not a field a column can feed") % {"c": column, "f": field},
                    field="column",
                )
            )
        elif not key or len(key) > COLUMN_MAX_LENGTH:
            problems.append(
                Problem(
                    "column_name",
                    _("“%(c)s” cannot be remembered: its name is empty or longer than %(n)d characters")
                    % {"c": str(column)[:80], "n": COLUMN_MAX_LENGTH},
                    field="column",
                )
            )
        else:
            rows[key] = field
    if problems:
        raise ParcelValidationError(problems)
    for key, field in rows.items():
        ImportColumnChoice.objects.update_or_create(user=user, column=key, defaults={"field": field})
    return len(rows)
