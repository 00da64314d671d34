from django.core.management.base import BaseCommand

from accessibility.demo import demo_runs_create


class Command(BaseCommand):
    help = "Run each of the five accessibility analyses on the demo data (results flagged demo)."

    def add_arguments(self, parser):
        parser.add_argument("--replace", action="store_true", help="delete earlier demo runs first")
        parser.add_argument(
            "--raster", action="store_true", help="also build a synthetic demo raster and run coverage on it"
        )

    def handle(self, *args, **options):
        demo_runs_create(replace=options["replace"], with_raster=options["raster"], echo=self.stdout.write)
