from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accessibility.services import SettlementImportError, settlements, settlements_import
from gis_portal.units import size_label


class Command(BaseCommand):
    help = "Import settlements with population and child population from CSV or GeoJSON (EPSG:4326)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--source", required=True, help="where the figures come from")
        parser.add_argument("--format", choices=["csv", "geojson"], help="default: from the file extension")

    def handle(self, *args, **options):
        path = Path(options["path"])
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        if path.stat().st_size > settlements.SETTLEMENT_IMPORT_MAX_BYTES:
            # Checked before reading, so a huge file is never loaded into memory.
            raise CommandError(f"{path}: the file is larger than {size_label(settlements.SETTLEMENT_IMPORT_MAX_BYTES)}")
        fmt = options["format"] or ("csv" if path.suffix.lower() == ".csv" else "geojson")
        try:
            result = settlements_import(content=path.read_bytes(), fmt=fmt, source=options["source"])
        except SettlementImportError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"settlements: {result['created']} created, {result['updated']} updated")
