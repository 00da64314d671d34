"""manage.py load_barriers FILE --network NAME [--kind water]: barriers of a road network; see roads.services."""

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from parcels.crs import ALLOWED_SRIDS
from roads.services import RoadLoadError, road_barriers_load


class Command(BaseCommand):
    help = (
        "Load barriers of a road network (water, a border, a closed area: polygons or lines from a GeoPackage, "
        "Shapefile or GeoJSON): impassable off the roads in travel times with a population raster. All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the file")
        parser.add_argument("--network", required=True, help="name of the road network the barriers belong to")
        parser.add_argument("--kind", default="water", help="what they are, e.g. water, border, closed area")
        parser.add_argument("--layer", help="layer to read when the file has several")
        parser.add_argument("--srid", type=int, choices=sorted(ALLOWED_SRIDS), help="EPSG code when the file has none")
        parser.add_argument("--replace", action="store_true", help="replace the network's barriers of this kind")
        parser.add_argument("--source", default="", help="what the file is, e.g. 'Kazhydromet water bodies'")
        parser.add_argument("--source-date", type=date.fromisoformat, help="date of the data, YYYY-MM-DD")

    def handle(self, *args, **options):
        try:
            report = road_barriers_load(
                path=Path(options["path"]),
                network=options["network"],
                kind=options["kind"],
                layer=options["layer"],
                srid=options["srid"],
                replace=options["replace"],
                source_description=options["source"],
                source_date=options["source_date"],
                progress=self.stdout.write,
            )
        except RoadLoadError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{options['kind']} barriers of {options['network']}: {report['areas']} areas, {report['lines']} lines "
            f"from {report['features_read']} features (EPSG:{report['srid']}); "
            f"{report['repaired']} invalid areas repaired (ST_MakeValid)"
        )
        self.stdout.write(f"dropped: {report['dropped'] or 'nothing'}")
