"""Background jobs (django-tasks, database backend on the portal's PostgreSQL; worker: `manage.py db_worker`).

The job runs accessibility.execution, which does not import the services: they import this module
to enqueue the job (accessibility.services.runs), so the imports go one way only.
"""

from django_tasks import task

from accessibility.execution import analysis_run_execute


@task()
def run_analysis(run_id: int) -> str:
    """Execute one queued accessibility analysis run; returns its final status."""
    return analysis_run_execute(run_id=run_id).status
