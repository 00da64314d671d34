from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from tracking.services import population_load


class Command(BaseCommand):
    help = (
        "Load official population by region (stat.gov.kz totals 2000–2023, data.egov.kz children 0–15 on "
        "1 Jan 2020) and store school-age 6–17 ESTIMATES (is_official=False) where no official figure exists."
    )

    def add_arguments(self, parser):
        parser.add_argument("--stats-dir", default=str(settings.SHARED_DATA_DIR / "stats"))

    def handle(self, *args, **options):
        result = population_load(stats_dir=Path(options["stats_dir"]))
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in result.items()))
