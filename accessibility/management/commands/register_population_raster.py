from django.core.management.base import BaseCommand, CommandError

from accessibility.services import RasterRegistrationError, population_raster_register
from layers.models import PopulationFigure


class Command(BaseCommand):
    help = "Register a population GeoTIFF (any CRS) and the bands whose sum is the children counted."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--name", required=True)
        parser.add_argument("--bands", default="1", help="1-based band numbers summed into children, e.g. 1,2,3")
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument("--source", required=True)
        parser.add_argument("--indicator", default="children_0_17", choices=PopulationFigure.Indicator.values)
        parser.add_argument("--demo", action="store_true", help="flag the raster (and its runs) as demo data")
        parser.add_argument("--copy", action="store_true", help="copy the file under MEDIA_ROOT")

    def handle(self, *args, **options):
        try:
            bands = [int(b) for b in options["bands"].split(",") if b.strip()]
        except ValueError as exc:
            raise CommandError(f"--bands: {options['bands']!r} is not a list of numbers") from exc
        try:
            raster = population_raster_register(
                path=options["path"],
                name=options["name"],
                bands=bands,
                year=options["year"],
                source=options["source"],
                indicator=options["indicator"],
                is_demo=options["demo"],
                copy_to_media=options["copy"],
            )
        except RasterRegistrationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"raster {raster.pk}: {raster.width} × {raster.height}, {raster.crs_name}, "
            f"children = bands {raster.children_bands}"
        )
