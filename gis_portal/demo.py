"""Demo data across the apps: one registry of what each app invented, to count and remove it in one step.

Each app that creates demonstration rows (flagged `is_demo`) declares them in its `demo.py` with
`register(...)`: the querysets of its demo rows, most dependent first. `manage.py demo_data
--remove` (after `--dry-run`) deletes them all in one transaction, in the order of `order` (rows that
others depend on last), with any files they own; the portal then shows no demo banner, since that
banner appears only while demo rows exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils.module_loading import autodiscover_modules


@dataclass(frozen=True)
class DemoRows:
    label: str  # e.g. "parcels.Parcel"
    order: int  # removed in ascending order: dependent rows first
    rows: Callable[[], QuerySet]
    before_delete: Callable[[QuerySet], None] | None = None  # e.g. remove files the rows own


_REGISTRY: dict[str, DemoRows] = {}


def register(*, label: str, order: int, rows: Callable[[], QuerySet], before_delete=None) -> None:
    _REGISTRY[label] = DemoRows(label=label, order=order, rows=rows, before_delete=before_delete)


def _entries() -> list[DemoRows]:
    # Every installed app's demo.py registers its rows when imported (as the admin's autodiscovery).
    autodiscover_modules("demo")
    return sorted(_REGISTRY.values(), key=lambda e: (e.order, e.label))


def demo_counts() -> dict[str, int]:
    """{model label: demo rows} of every app, in removal order."""
    return {entry.label: entry.rows().count() for entry in _entries()}


@transaction.atomic
def demo_remove() -> dict[str, int]:
    """Delete every demo row of every app in one transaction; {model label: rows deleted}."""
    removed = {}
    for entry in _entries():
        rows = entry.rows()
        removed[entry.label] = rows.count()
        if entry.before_delete is not None:
            entry.before_delete(rows)
        rows.delete()
    return removed
