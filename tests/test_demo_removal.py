"""`manage.py demo_data --remove`: every demo row of every app, with its history and files, in one step."""

from __future__ import annotations

import io
import os
from datetime import date

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from pghistory.models import Event

from accounts.services import demo_users_ensure
from facilities.models import Facility
from gis_portal import demo
from tracking.models import Report, StageRecord
from tracking.services import report_submit

pytestmark = pytest.mark.django_db


def _models_with_demo_flag() -> list:
    return [m for m in apps.get_models() if "is_demo" in {f.name for f in m._meta.fields}]


def _demo_rows() -> dict[str, int]:
    """Rows flagged demo in any table, history tables included."""
    counts = {m._meta.label: m.objects.filter(is_demo=True).count() for m in _models_with_demo_flag()}
    return {label: n for label, n in counts.items() if n}


@pytest.fixture
def full_demo(settings, tmp_path, planner):
    """What scripts/run loads: facilities (session-wide), parcels, tracking with approved plans, accessibility
    runs, the demo accounts, and one submitted report of demo data."""
    settings.MEDIA_ROOT = str(tmp_path)
    call_command("load_demo_parcels", "--regions", "710000000,610000000", "--per-region", "2", verbosity=0)
    call_command("load_demo_tracking", verbosity=0)
    call_command("accessibility_demo", "--replace", stdout=io.StringIO())
    demo_users_ensure(admin_username="admin_demo_t", admin_password="pw-admin-12345!", demo_password="pw-demo-1234!")
    report = report_submit(kind=Report.Kind.CONSOLIDATED, as_of=date(2025, 1, 1), language="en", user=planner)
    return report


def test_dry_run_counts_and_deletes_nothing(full_demo):
    before = _demo_rows()
    out = io.StringIO()
    call_command("demo_data", "--dry-run", stdout=out)
    assert _demo_rows() == before
    text = out.getvalue()
    for label in ("facilities.Facility", "parcels.Parcel", "tracking.Plan", "accessibility.AnalysisRun"):
        assert f"would remove {demo.demo_counts()[label]} {label}" in text
    assert demo.demo_counts()["facilities.Facility"] == Facility.objects.filter(is_demo=True).count() > 0
    assert demo.demo_counts()["accounts.User"] == 3
    assert demo.demo_counts()["tracking.Report"] == 1


def test_remove_leaves_no_demo_row_in_any_table(full_demo, client, planner):
    demo_stage_ids = list(StageRecord.objects.filter(tracked__is_demo=True).values_list("id", flat=True))
    assert demo_stage_ids and _demo_rows()
    report_file = full_demo.pdf_file.path
    real = Facility.objects.filter(is_demo=False).count()

    out = io.StringIO()
    call_command("demo_data", "--remove", stdout=out)

    assert _demo_rows() == {}, "demo rows (or their history) left behind"
    # History of demo rows that carry no flag themselves (stage records) is gone as well.
    stage_events = next(m for m in apps.get_models() if issubclass(m, Event) and m.pgh_tracked_model is StageRecord)
    assert not stage_events.objects.filter(pgh_obj_id__in=demo_stage_ids).exists()
    assert not get_user_model().objects.filter(username__in=["planner", "akimat_astana", "akimat_turkistan"]).exists()
    assert get_user_model().objects.filter(username="admin_demo_t").exists()  # the administrator stays
    assert not Report.objects.exists()
    assert not os.path.exists(report_file)
    assert Facility.objects.filter(is_demo=False).count() == real
    assert "removed" in out.getvalue()

    # No demo banner anywhere once the demo rows are gone.
    page = client.get("/en/").content.decode()
    assert "demo-banner" not in page and "DEMO DATA" not in page


def test_remove_is_all_or_nothing(full_demo, monkeypatch):
    before = _demo_rows()
    real_entries = demo._entries

    def failing_last():
        entries = real_entries()

        def explode(rows):
            raise OSError("disk unavailable")

        last = entries[-1]
        return [*entries[:-1], demo.DemoRows(label=last.label, order=last.order, rows=last.rows, before_delete=explode)]

    monkeypatch.setattr(demo, "_entries", failing_last)
    with pytest.raises(OSError):
        demo.demo_remove()
    assert _demo_rows() == before


def test_command_needs_a_mode():
    with pytest.raises(CommandError, match="--dry-run"):
        call_command("demo_data")
