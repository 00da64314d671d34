"""Demo data across the apps: one registry of what each app invented, to count and remove it in one step.

Each app that creates demonstration rows (flagged `is_demo`) declares them in its `demo.py` with
`register(...)`: the querysets of its demo rows, most dependent first. `manage.py demo_data
--remove` (after `--dry-run`) deletes them all in one transaction, in the order of `order` (rows that
others depend on last), with any files they own and the rows that cascade from them, and then the
history (pghistory events) of every deleted row: invented records should not survive as "history"
once real data replace them. The portal then shows no demo banner, since that banner appears only
while demo rows exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import router, transaction
from django.db.models import Model, Q, QuerySet
from django.db.models.deletion import Collector
from django.utils.module_loading import autodiscover_modules
from pghistory.models import Event


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


def _deleted_ids(rows: QuerySet) -> dict[type[Model], set]:
    """{model: primary keys} of the rows a delete of `rows` removes, cascades included."""
    collector = Collector(using=router.db_for_write(rows.model))
    collector.collect(rows)
    ids: dict[type[Model], set] = {}
    for model, instances in collector.data.items():
        ids.setdefault(model._meta.concrete_model, set()).update(obj.pk for obj in instances)
    for fast in collector.fast_deletes:
        ids.setdefault(fast.model._meta.concrete_model, set()).update(fast.values_list("pk", flat=True))
    return ids


def _history_models() -> dict[type[Model], list[type[Event]]]:
    """{tracked model: its pghistory event models}."""
    tracked: dict[type[Model], list[type[Event]]] = {}
    for model in apps.get_models():
        fields = {f.name for f in model._meta.fields}
        if issubclass(model, Event) and model.pgh_tracked_model is not None and "pgh_obj" in fields:
            tracked.setdefault(model.pgh_tracked_model._meta.concrete_model, []).append(model)
    return tracked


@transaction.atomic
def demo_remove() -> dict[str, int]:
    """Delete every demo row of every app and their history in one transaction; {label: rows deleted}."""
    removed: dict[str, int] = {}
    deleted: dict[type[Model], set] = {}
    for entry in _entries():
        rows = entry.rows()
        removed[entry.label] = rows.count()
        for model, ids in _deleted_ids(rows).items():
            deleted.setdefault(model, set()).update(ids)
        if entry.before_delete is not None:
            entry.before_delete(rows)
        rows.delete()
    # The delete triggers have just written "delete" events too: they go with the rest, and so do the
    # events of demo rows deleted earlier (a demo seeder run again replaces its rows).
    history = _history_models()
    for model, events in history.items():
        for event_model in events:
            demo_events = Q(pgh_obj_id__in=deleted.get(model, ()))
            if "is_demo" in {f.name for f in event_model._meta.fields}:
                demo_events |= Q(is_demo=True)
            count, _ = event_model.objects.filter(demo_events).delete()
            if count:
                removed[event_model._meta.label] = count
    return removed
