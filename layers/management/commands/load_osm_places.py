"""Load (or reload) the bundled OpenStreetMap places as settlements, then recompute the estimates.

Default file: SHARED_DATA_DIR/osm/kz_populated_places_hotosm.geojson (data/NOTICE.md). Idempotent.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from layers.settlement_services import OSM_PLACES_FILE, SettlementLoadError, settlements_load_osm


class Command(BaseCommand):
    help = "Load the OpenStreetMap places (© OpenStreetMap contributors, ODbL; not official) as settlements."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help=f"default: SHARED_DATA_DIR/{OSM_PLACES_FILE}")

    def handle(self, *args, **options):
        path = Path(options["path"]) if options["path"] else settings.SHARED_DATA_DIR / OSM_PLACES_FILE
        if not path.exists():
            raise CommandError(f"{path}: no such file")
        try:
            report = settlements_load_osm(path=path)
        except SettlementLoadError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(osm_report_text(report))


def osm_report_text(report) -> str:
    classes = ", ".join(f"{k} {v}" for k, v in sorted(report.by_class.items()))
    est = report.estimates
    return (
        f"OSM places: {report.created} created, {report.updated} updated ({classes}); "
        f"{report.with_population} with a population tag; {report.official_kept} keep their official figure; "
        f"{report.outside_districts} outside every district (no region or district). "
        f"Estimates: {est.places} places, {est.persons} persons from {est.units} official totals "
        f"({est.district_units} of districts); {est.without_unit} places left without a figure."
    )
