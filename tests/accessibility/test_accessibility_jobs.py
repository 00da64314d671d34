"""The background job mechanism for real: django-tasks' database backend and its db_worker command."""

import io

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from accessibility.models import AnalysisRun
from accessibility.services import analysis_run_create


def test_run_is_queued_and_executed_by_the_db_worker(astana_settlements, region_a, monkeypatch):
    run = analysis_run_create(kind="coverage", parameters={"region_ids": [region_a.id]})
    job = DBTaskResult.objects.get(id=run.task_id)
    assert job.status == "READY" and job.args_kwargs["kwargs"] == {"run_id": run.pk}
    assert run.status == AnalysisRun.Status.QUEUED and run.progress == 0
    # The worker closes "obsolete" connections between jobs; inside the test's transaction that would
    # drop the transaction, so that one housekeeping call is neutralised. Everything else is the real worker.
    import django_tasks_db.management.commands.db_worker as worker

    monkeypatch.setattr(worker, "close_old_connections", lambda: None)
    call_command("db_worker", "--batch", "--max-tasks", "1", "--interval", "0", "--no-startup-delay", verbosity=0)
    job.refresh_from_db()
    run.refresh_from_db()
    assert job.status == "SUCCESSFUL" and job.return_value == "done"
    assert run.status == AnalysisRun.Status.DONE and run.progress == 1.0 and run.zone_results.exists()


def test_command_runs_in_the_foreground_with_a_progress_bar(astana_settlements, region_a):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "run_accessibility",
        "coverage",
        "--params",
        f'{{"region_ids": [{region_a.id}]}}',
        "--demo",
        stdout=out,
        stderr=err,
    )
    assert "] 100.0%" in err.getvalue() and "#" * 40 in err.getvalue()
    run = AnalysisRun.objects.latest("id")
    assert run.is_demo and run.status == "done" and f"run {run.pk} done" in out.getvalue()
    # Re-running from the stored parameters reproduces the figures.
    call_command("run_accessibility", "coverage", "--rerun", str(run.pk), stdout=io.StringIO(), stderr=io.StringIO())
    again = AnalysisRun.objects.latest("id")
    assert again.pk != run.pk and again.parameters == run.parameters and again.summary == run.summary


def test_command_background_only_queues(db, region_a):
    out = io.StringIO()
    call_command("run_accessibility", "fca", "--background", stdout=out)
    run = AnalysisRun.objects.latest("id")
    assert run.status == "queued" and DBTaskResult.objects.filter(id=run.task_id).exists()
    assert "queued" in out.getvalue()


def test_command_reports_bad_parameters(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="facilities.scope"):
        call_command("run_accessibility", "coverage", "--params", '{"facilities": {"scope": "x"}}')


def test_demo_command_runs_all_five_analyses(db):
    out = io.StringIO()
    call_command("accessibility_demo", stdout=out)
    runs = AnalysisRun.objects.filter(is_demo=True)
    # Every analysis, and distance coverage once per purpose (recreation, additional education).
    assert sorted(runs.values_list("kind", flat=True)) == sorted([*AnalysisRun.Kind.values, "coverage"])
    coverage = runs.filter(kind="coverage")
    assert sorted(r.parameters["facilities"]["purpose"] for r in coverage) == ["education", "recreation"]
    assert all(r.summary["children_served"] <= r.summary["children_total"] for r in coverage)
    assert set(runs.values_list("status", flat=True)) == {"done"}
