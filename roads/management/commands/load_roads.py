"""manage.py load_roads FILE --name NAME: load a road network (OSM extract or line layer); see roads.services."""

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from parcels.crs import ALLOWED_SRIDS
from roads.services import RoadLoadError, road_network_load


class Command(BaseCommand):
    help = (
        "Load a road network for travel times: an OpenStreetMap extract (.osm.pbf, .osm; highway=* roads) or a "
        "line layer (GeoPackage, Shapefile, GeoJSON) with a road-class field. All or nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the file")
        parser.add_argument("--name", required=True, help="name of the network (unique)")
        parser.add_argument("--label", default="", help="e.g. summer, winter")
        parser.add_argument("--source", default="", help="what the file is, e.g. 'Geofabrik Kazakhstan extract'")
        parser.add_argument("--source-date", type=date.fromisoformat, help="date of the data, YYYY-MM-DD")
        parser.add_argument("--class-field", default="highway", help="field with the road class (line layers)")
        parser.add_argument(
            "--speed-field",
            help="field with a speed limit in km/h (line layers; default: maxspeed when the layer has it)",
        )
        parser.add_argument(
            "--oneway-field",
            help="field with yes/no/-1 one-way values (line layers; default: oneway when the layer has it)",
        )
        parser.add_argument(
            "--surface-field", help="field with the surface (line layers; default: surface when the layer has it)"
        )
        parser.add_argument("--layer", help="layer to read when the file has several")
        parser.add_argument("--srid", type=int, choices=sorted(ALLOWED_SRIDS), help="EPSG code when the file has none")
        parser.add_argument("--replace", action="store_true", help="replace the network of the same name")

    def handle(self, *args, **options):
        try:
            network = road_network_load(
                path=Path(options["path"]),
                name=options["name"],
                label=options["label"],
                source_description=options["source"],
                source_date=options["source_date"],
                class_field=options["class_field"],
                speed_field=options["speed_field"],
                oneway_field=options["oneway_field"],
                surface_field=options["surface_field"],
                layer=options["layer"],
                srid=options["srid"],
                replace=options["replace"],
                progress=self.stdout.write,
            )
        except RoadLoadError as exc:
            raise CommandError(str(exc)) from exc
        report = network.report
        self.stdout.write(
            f"network {network.pk} {network.name}: {network.edge_count} edges, {network.vertex_count} vertices, "
            f"{network.length_km:.1f} km, {network.component_count} connected pieces "
            f"({report['components']['islands']} apart from the main one, "
            f"{report['components']['island_length_km']:.1f} km)"
        )
        self.stdout.write(f"dropped: {report['dropped'] or 'nothing'}")
        if report["classes_without_speed"]:
            self.stdout.write(
                f"classes without a speed (add them to the speed table): {report['classes_without_speed']}"
            )
        if report["not_roads"]:
            self.stdout.write(f"highway ways that are not roads (not loaded): {report['not_roads']}")
