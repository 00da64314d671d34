from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tracking.services import TrackingError, district_population_load


class Command(BaseCommand):
    help = (
        "Load official district population figures from a CSV or XLSX file (KATO or district name with region, "
        "age band, year or date, value, source, source date). Nothing is saved when any row has a problem; "
        "the problems are printed and the exit status is non-zero."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="check the file, save nothing")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from None
        try:
            result = district_population_load(data=data, filename=path.name, dry_run=options["dry_run"])
        except TrackingError as exc:
            raise CommandError(" ".join(m for ms in exc.problems.values() for m in ms)) from None
        for warning in result.warnings:
            self.stderr.write(f"warning: {warning}")
        if result.problems:
            for p in result.problems:
                self.stderr.write(f"row {p.row}" + (f", {p.column}" if p.column else "") + f": {p.message}")
            raise CommandError(f"{len(result.problems)} problem(s); nothing saved")
        if not result.saved:
            self.stdout.write(f"{result.rows} rows checked, no problem (dry run: nothing saved)")
            return
        self.stdout.write(
            f"{result.rows} rows: {result.created} created, {result.updated} updated, {result.unchanged} unchanged"
        )
