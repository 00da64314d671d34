"""Import a settlement list (official figures) from CSV, XLSX or GeoJSON; matched to the bundled places."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accessibility.services import SettlementImportError, settlements, settlements_import
from gis_portal.units import size_label
from parcels.import_columns import date_parse

SUFFIX_FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".geojson": "geojson", ".json": "geojson"}


class Command(BaseCommand):
    help = (
        "Import a settlement list (KATO, names kk/ru, population, children and age groups, optional lon/lat in "
        "EPSG:4326) from CSV, XLSX or GeoJSON. Rows are matched to the bundled places by KATO code or name; the "
        "unmatched rows are listed. Exit status 1 with every bad row printed when the file does not validate."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--source", required=True, help="where the figures come from")
        parser.add_argument("--date", help="date the figures refer to (dd.mm.yyyy or yyyy-mm-dd), unless a row says")
        parser.add_argument("--format", choices=settlements.FORMATS, help="default: from the file extension")

    def handle(self, *args, **options):
        path = Path(options["path"])
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        if path.stat().st_size > settlements.SETTLEMENT_IMPORT_MAX_BYTES:
            # Checked before reading, so a huge file is never loaded into memory.
            raise CommandError(f"{path}: the file is larger than {size_label(settlements.SETTLEMENT_IMPORT_MAX_BYTES)}")
        fmt = options["format"] or SUFFIX_FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise CommandError(f"{path}: say --format (csv, xlsx or geojson)")
        try:
            source_date = date_parse(options["date"]) if options["date"] else None
        except ValueError as exc:
            raise CommandError(f"--date: {options['date']!r} {exc}") from exc
        try:
            result = settlements_import(
                content=path.read_bytes(), fmt=fmt, source=options["source"], source_date=source_date
            )
        except SettlementImportError as exc:
            raise CommandError("\n".join(exc.errors)) from exc
        m = result.matched
        self.stdout.write(
            f"settlements: {result.created} created, {result.updated} updated (matched by id {m['own']}, "
            f"by KATO {m['kato']}, by name {m['name']}); {len(result.unmatched)} unmatched"
        )
        for row in result.unmatched:
            self.stdout.write(f"unmatched: {row['where']}: {row['name']} {row['kato']}: {row['reason']}")
        est = result.estimates
        self.stdout.write(f"estimates: {est.places} places, {est.persons} persons from {est.units} official totals")
