"""Reading parcel files (GeoJSON, zipped Shapefile, KML/KMZ, GeoPackage, CSV with WKT); exports are parcels.export.

No ORM here: readers turn a file into numbered features (GEOS geometries in
EPSG:4326 plus raw attributes) and per-feature problems; parcels.services
turns them into parcels.

Modules: common (formats, errors, feature and result types), archives (zip safety), spatial
(coordinate systems and geometries), readers (one per format, and read_parcel_file). The names
below are the package's interface: `from parcels.io import read_parcel_file`.

Safety rules (issue 3 and 8):
- A spatial reference is never built from user-supplied WKT/PROJ text (GDAL
  < 3.9 cannot block file/network access from it). A Shapefile's .prj is
  matched to an EPSG code with pyproj (CRS.from_wkt(...).to_epsg with a
  confidence threshold) and then deleted before OGR opens the Shapefile; a
  GeoPackage's CRS is taken from its gpkg_spatial_ref_sys organisation code;
  GeoJSON's legacy "crs" member is reduced to its EPSG number. Only codes in
  ALLOWED_SRIDS are accepted, and transformations use SpatialReference(int).
- A local coordinate system (МСК, issue 15) is one an administrator registered (parcels.crs); the
  reader receives its stored definition (LocalCrsOptions) from the caller and transforms with pyproj.
  A .prj or GeoPackage CRS without an EPSG code is compared with the registered definitions
  (parcels.crs.same_projection) only to name which one it is; its own text never defines anything.
- Zip archives are checked (file count, total declared size, path traversal,
  symlinks) before anything is written, and extraction stops if a member
  inflates beyond its declared size.
- KML is parsed with defusedxml with DTDs forbidden: no external entities, no
  entity expansion.
- GeoJSON rejects NaN/Infinity; coordinates must be finite and of sane size;
  vertex and feature counts are bounded.
"""

from parcels.crs import ALLOWED_SRIDS, SRID_GROUPS
from parcels.io.archives import zip_extract_safe, zip_members_check
from parcels.io.common import (
    FORMAT_LABELS,
    FORMATS,
    MAX_ABS_COORDINATE,
    PRJ_MIN_CONFIDENCE,
    FeatureProblem,
    FileRejected,
    RawFeature,
    ReadResult,
)
from parcels.io.readers import (
    _check_count,
    read_csv,
    read_geojson,
    read_geopackage,
    read_kml,
    read_kmz,
    read_parcel_file,
    read_shapefile_zip,
)
from parcels.io.spatial import srid_allowed, srid_from_prj, to_multipolygon

__all__ = [
    "ALLOWED_SRIDS",
    "FORMATS",
    "FORMAT_LABELS",
    "MAX_ABS_COORDINATE",
    "PRJ_MIN_CONFIDENCE",
    "SRID_GROUPS",
    "FeatureProblem",
    "FileRejected",
    "RawFeature",
    "ReadResult",
    "_check_count",
    "read_csv",
    "read_geojson",
    "read_geopackage",
    "read_kml",
    "read_kmz",
    "read_parcel_file",
    "read_shapefile_zip",
    "srid_allowed",
    "srid_from_prj",
    "to_multipolygon",
    "zip_extract_safe",
    "zip_members_check",
]
