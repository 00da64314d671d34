from datetime import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gis_portal.scheduler import JOBS, job_run, scheduled_jobs, scheduler_build


class Command(BaseCommand):
    help = (
        "Run the periodic jobs (deadline digest, upload cleanup, backup) at the times of settings.SCHEDULE "
        "(SCHEDULE_* variables). --list shows them with their next run; --run-now JOB runs one job once and exits."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--list", action="store_true", help="print the jobs and their next run, then exit")
        group.add_argument("--run-now", metavar="JOB", choices=[j.name for j in JOBS], help="run one job now")

    def handle(self, *args, **options):
        try:
            jobs = scheduled_jobs()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["run_now"]:
            job_run(next(j for j in JOBS if j.name == options["run_now"]))
            return
        if options["list"]:
            now = timezone.localtime()
            for job, trigger in jobs:
                upcoming: datetime | None = trigger.get_next_fire_time(None, now)
                self.stdout.write(f"{job.name}\t{settings.SCHEDULE[job.name]}\tnext {upcoming:%Y-%m-%d %H:%M %Z}")
            return
        if not jobs:
            raise CommandError("every job is switched off (SCHEDULE_* are empty): nothing to run")
        self.stdout.write(f"scheduler: {len(jobs)} job(s) in {settings.TIME_ZONE}; Ctrl+C to stop")
        scheduler_build().start()
