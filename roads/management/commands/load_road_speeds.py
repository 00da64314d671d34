"""manage.py load_road_speeds [--reset]: the default speed table (roads/data/default_speeds.yaml)."""

from django.core.management.base import BaseCommand

from roads.services import road_speeds_load_defaults


class Command(BaseCommand):
    help = "Add the default road speeds missing from the table; --reset puts every default value back."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="overwrite edited speeds with the defaults")

    def handle(self, *args, **options):
        counts = road_speeds_load_defaults(reset=options["reset"])
        self.stdout.write(f"road speeds: {counts['created']} created, {counts['reset']} reset")
