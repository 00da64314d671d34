from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gis_portal.backups import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the database (pg_dump) and MEDIA_ROOT into BACKUP_DIR, keeping the newest BACKUP_KEEP of each."

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, default=settings.BACKUP_DIR, help="default: BACKUP_DIR")
        parser.add_argument("--keep", type=int, default=settings.BACKUP_KEEP, help="default: BACKUP_KEEP")

    def handle(self, *args, **options):
        if options["keep"] < 1:
            raise CommandError("--keep must be at least 1")
        try:
            outcome = backup_create(directory=options["dir"], keep=options["keep"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        for path in outcome.written:
            self.stdout.write(f"written: {path}")
        for path in outcome.removed:
            self.stdout.write(f"removed: {path}")
