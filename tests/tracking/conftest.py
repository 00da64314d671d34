"""Fixtures of the tracking tests: the demo consolidated plans (approved, no stage records yet)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.utils import timezone

from tracking.demo import demo_plans_build_and_approve
from tracking.models import TrackedFacility
from tracking.services import stage_record_add


@pytest.fixture
def plans(db):
    """Plans 12 and 13 built from the 150 demo facilities and approved (inside the test's transaction)."""
    return demo_plans_build_and_approve()


def at(day: str, hour: int = 12) -> datetime:
    """An aware datetime (Asia/Almaty) on `day` (YYYY-MM-DD)."""
    return timezone.make_aware(datetime.combine(date.fromisoformat(day), datetime.min.time()).replace(hour=hour))


@pytest.fixture
def record():
    """record(tracked, stage, actual, recorded=None, **kw): a stage with a document, recorded in the past."""

    def make(tracked: TrackedFacility, stage: str, actual: str | None = None, recorded: str | None = None, **kw):
        actual_date = date.fromisoformat(actual) if actual else None
        if actual_date is not None and stage != "construction_progress":
            kw.setdefault("doc_number", f"T-{stage}")
            kw.setdefault("doc_date", actual_date)
        if stage == "opened" and actual_date is not None:
            kw.setdefault("places_in_use", 300)
        return stage_record_add(
            tracked=tracked,
            stage=stage,
            actual_date=actual_date,
            recorded_at=at(recorded or actual or kw.get("planned_date").isoformat()),
            **kw,
        )

    return make


def chain_to(record, tracked, last: str, start: str = "2024-02-01", step_days: int = 30, recorded: str | None = None):
    """Record every stage (without infrastructure) up to `last`, `step_days` apart from `start`."""
    from datetime import timedelta

    order = ["parcel", "design", "expertise", "construction_started", "accepted", "opened"]
    day = date.fromisoformat(start)
    for stage in order:
        record(tracked, stage, day.isoformat(), recorded=recorded)
        if stage == last:
            return day
        day += timedelta(days=step_days)
    return day


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Report files and uploads of these tests go to a temporary folder, not var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
