"""What every app's history pages share: who made each django-pghistory event, and the newest event.

The events are written by database triggers (pghistory.track on the models); the request's user
is in the context metadata (pghistory.middleware.HistoryMiddleware), so scripts and shells show "—".
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Max


def history_with_users(events: list) -> list:
    """Attach `.who` (username, or "—" for scripts and shells) to pghistory events. One query for the users."""
    ids = {(e.pgh_context.metadata or {}).get("user") for e in events if e.pgh_context_id}
    names = dict(get_user_model().objects.filter(pk__in=[i for i in ids if i]).values_list("pk", "username"))
    for event in events:
        user_id = (event.pgh_context.metadata or {}).get("user") if event.pgh_context_id else None
        event.who = names.get(user_id, "—")
    return events


def history_head(events) -> int:
    """The number of the newest event among `events` (a queryset of an event model), 0 when there is none.

    Models without a version column use it as their optimistic lock: a restore form carries the head
    it was rendered with, and every write path (forms, admin, API, QuerySet.update) moves it on.
    """
    return events.aggregate(head=Max("pgh_id"))["head"] or 0
