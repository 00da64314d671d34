"""The columns of the parcel exports, and their conversion to GeoPackage and Shapefile by ogr2ogr.

Every export format (GeoJSON, GeoPackage, zipped Shapefile, CSV) carries exactly these
columns, in this order; CSV adds `wkt`, the boundary as WKT. Names are at most 10
characters, so a Shapefile (dBASE) keeps them as they are, and are the API's property
names where those fit (parcels/collections.py). Geometry: EPSG:4326, 7 decimals (≈ 1 cm).
The import reads them back (parcels.import_columns): an export, edited and uploaded again,
updates its parcels.

| column | content |
|---|---|
| parcel_id | the parcel's id in the portal |
| facility | id of the facility the parcel is for |
| fac_ref | the facility's reference number in the plan (empty when it has none) |
| region | KATO code (9 digits) of the region |
| district | KATO code of the district |
| cadastral | cadastral number |
| status | status code: candidate, allocated, act_issued, revoked |
| area_decl | declared area, ha |
| area_calc | area computed from the boundary, ha |
| area_srid | EPSG code of the UTM zone the area was computed in |
| land_cat | land category code |
| right_type | right granted (code) |
| act_number | number of the land-use act |
| act_date | date of the act (YYYY-MM-DD) |
| akimat | issuing akimat |
| term_years | term of the right, years |
| notes | notes |
| version | version of the record (rises with each change) |
| is_demo | demo data (true/false) |
| updated_at | time of the last change (UTC) |
"""

from __future__ import annotations

import io
import subprocess
import tempfile
import zipfile
from pathlib import Path

SHAPEFILE_NAME_MAX = 10  # dBASE field names

# Column name → lookup of the Parcel model.
EXPORT_COLUMNS: dict[str, str] = {
    "parcel_id": "pk",
    "facility": "facility_id",
    "fac_ref": "facility__reference",
    "region": "region__kato",
    "district": "district__kato",
    "cadastral": "cadastral_number",
    "status": "status",
    "area_decl": "declared_area_ha",
    "area_calc": "computed_area_ha",
    "area_srid": "area_srid",
    "land_cat": "land_category",
    "right_type": "right_type",
    "act_number": "act_number",
    "act_date": "act_date",
    "akimat": "issuing_akimat",
    "term_years": "term_years",
    "notes": "notes",
    "version": "version",
    "is_demo": "is_demo",
    "updated_at": "updated_at",
}
CSV_GEOMETRY_COLUMN = "wkt"


def geojson_convert(*, geojson_text: str, driver: str) -> bytes:
    """Convert our own GeoJSON (EPSG:4326) with ogr2ogr to a GeoPackage (bytes) or a zipped Shapefile (bytes).

    Property names and order are kept (every EXPORT_COLUMNS name fits a Shapefile); the
    Shapefile's text is UTF-8 (declared in its .cpg).
    """
    if driver not in ("GPKG", "ESRI Shapefile"):
        raise ValueError(driver)
    with tempfile.TemporaryDirectory(prefix="parcel-export-") as tmp:
        src = Path(tmp) / "parcels.geojson"
        src.write_text(geojson_text, encoding="utf-8")
        if driver == "GPKG":
            out = Path(tmp) / "parcels.gpkg"
            args = ["-f", "GPKG", str(out), str(src), "-nln", "parcels", "-a_srs", "EPSG:4326"]
        else:
            out = Path(tmp) / "shp"
            out.mkdir()
            args = ["-f", "ESRI Shapefile", str(out / "parcels.shp"), str(src), "-a_srs", "EPSG:4326",
                    "-nlt", "MULTIPOLYGON", "-lco", "ENCODING=UTF-8"]  # fmt: skip
        subprocess.run(["ogr2ogr", *args], check=True, capture_output=True, timeout=120)  # noqa: S603, S607
        if driver == "GPKG":
            return out.read_bytes()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(out.iterdir()):
                archive.write(part, arcname=part.name)
        return buffer.getvalue()
