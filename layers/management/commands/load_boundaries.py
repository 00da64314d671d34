"""Load region or district polygons from any OGR-readable file (GeoJSON, Shapefile, GeoPackage…)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from layers.services import BoundaryImportError, boundaries_load, parse_field_map


class Command(BaseCommand):
    help = (
        "Load boundaries from a vector file in any CRS. Example: "
        "load_boundaries adm1.shp --level region --field-map kato=KATO,name_kk=ADM1_KK "
        "--source 'Ministry cadastre 2025'"
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--level", choices=["region", "district"], required=True)
        parser.add_argument(
            "--field-map", required=True, help="target=SOURCE pairs: kato (required), name_kk, name_ru, name_en"
        )
        parser.add_argument("--layer", default=None, help="layer name or index (default: the first)")
        parser.add_argument("--srid", type=int, default=None, help="EPSG code when the file carries no CRS")
        parser.add_argument("--source", required=True, help="source and licence, stored with each boundary")

    def handle(self, *args, path: Path, level, field_map, layer, srid, source, **options):
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        if layer is not None and layer.isdigit():
            layer = int(layer)
        try:
            result = boundaries_load(
                path=path,
                level=level,
                field_map=parse_field_map(field_map),
                layer=layer,
                source_srid=srid,
                source_label=source,
            )
        except BoundaryImportError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{level}: {result.updated} updated, {result.created} created"
            + (f", not in reference data (skipped): {', '.join(result.skipped)}" if result.skipped else "")
        )
