from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from parcels.uploads import import_uploads_cleanup, stale_before


class Command(BaseCommand):
    help = (
        "Remove parcel-import uploads whose preview was not confirmed within the age limit, and every file of the "
        "import area that no live preview refers to. Idempotent; the scheduler runs it hourly."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--max-age-hours",
            type=float,
            default=settings.PARCEL_IMPORT_PREVIEW_MAX_AGE_HOURS,
            help="age above which an unconfirmed preview is removed (default: PARCEL_IMPORT_PREVIEW_MAX_AGE_HOURS)",
        )

    def handle(self, *args, **options):
        result = import_uploads_cleanup(
            older_than=stale_before(now=timezone.now(), max_age_hours=options["max_age_hours"])
        )
        self.stdout.write(f"expired previews removed: {result.expired}; orphan files removed: {result.orphans}")
