"""Background jobs (django-tasks, database backend on the portal's PostgreSQL; worker: `manage.py db_worker`)."""

from django_tasks import task


@task()
def run_analysis(run_id: int) -> str:
    """Execute one queued accessibility analysis run; returns its final status."""
    from accessibility.services import analysis_run_execute

    return analysis_run_execute(run_id=run_id).status
