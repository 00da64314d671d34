"""Periodic jobs: which management command runs when (`manage.py run_scheduler`).

One scheduler process per deployment (the `scheduler` service of docker-compose.yml) runs the
jobs of settings.SCHEDULE at their crontab times in TIME_ZONE. Every job is an idempotent
management command, so a job that runs twice (a restarted scheduler, a second one by mistake)
does no harm, and an operator can run any of them by hand. A failing job is logged with its
traceback by APScheduler and does not stop the others; a run missed while the scheduler was
down is made up once within the grace time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from django.conf import settings
from django.core.management import call_command
from django.db import close_old_connections

logger = logging.getLogger("gis_portal.scheduler")


@dataclass(frozen=True)
class Job:
    name: str
    command: str
    description: str


JOBS = (
    Job("deadline_digest", "send_deadline_digest", "e-mail each user what falls due, in the user's language"),
    Job("cleanup_uploads", "cleanup_uploads", "remove unconfirmed parcel-import previews and orphan upload files"),
    Job("backup", "backup", "pg_dump and MEDIA_ROOT archive into BACKUP_DIR, keeping BACKUP_KEEP"),
)
MISFIRE_GRACE_SECONDS = 3600


def job_run(job: Job) -> None:
    """Run one job's command in this process."""
    logger.info("job %s: starting %s", job.name, job.command)
    call_command(job.command, verbosity=1)
    logger.info("job %s: done", job.name)


def _scheduled_run(job: Job) -> None:
    # The scheduler lives for weeks between jobs: drop connections the database (or a restart of
    # it) may have closed meanwhile, as Django does around each request.
    close_old_connections()
    try:
        job_run(job)
    finally:
        close_old_connections()


def scheduled_jobs() -> list[tuple[Job, CronTrigger]]:
    """The jobs switched on in settings.SCHEDULE with their triggers (an empty crontab line switches a job off).

    Raises ValueError naming the job when a crontab line is malformed.
    """
    unknown = set(settings.SCHEDULE) - {job.name for job in JOBS}
    if unknown:
        raise ValueError(f"SCHEDULE names unknown jobs: {', '.join(sorted(unknown))}")
    out = []
    for job in JOBS:
        line = (settings.SCHEDULE.get(job.name) or "").strip()
        if not line:
            continue
        try:
            trigger = CronTrigger.from_crontab(line, timezone=settings.TIME_ZONE)
        except ValueError as exc:
            raise ValueError(f"schedule of {job.name} ({line!r}) is not a crontab line: {exc}") from exc
        out.append((job, trigger))
    return out


def scheduler_build() -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=settings.TIME_ZONE)
    for job, trigger in scheduled_jobs():
        scheduler.add_job(
            _scheduled_run,
            trigger,
            args=[job],
            id=job.name,
            name=job.description,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=MISFIRE_GRACE_SECONDS,
        )
    return scheduler
