"""manage.py delete_barriers --network NAME --kind KIND: drop one kind of barriers of a network (roads.services)."""

from django.core.management.base import BaseCommand, CommandError

from roads.services import RoadLoadError, road_barriers_delete


class Command(BaseCommand):
    help = (
        "Delete the barriers of one kind (e.g. water) of a road network, and their load report; the network and "
        "its other kinds of barriers stay. Travel-time runs made afterwards no longer use them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--network", required=True, help="name of the road network the barriers belong to")
        parser.add_argument("--kind", required=True, help="the kind to delete, as loaded, e.g. water")

    def handle(self, *args, **options):
        try:
            deleted = road_barriers_delete(network=options["network"], kind=options["kind"])
        except RoadLoadError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"deleted {deleted} {options['kind']} barriers of {options['network']}")
