"""What the parcel file readers share: the formats, the errors, the feature and result types."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.gis.geos import GEOSGeometry
from django.utils.translation import gettext_lazy

from parcels.crs import LocalCrs

PRJ_MIN_CONFIDENCE = 70
MAX_ABS_COORDINATE = 1e8  # Gauss–Krüger eastings with the zone prefix reach ~3e7 m (3° zone 29)

FORMATS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".zip": "shapefile",
    ".kml": "kml",
    ".kmz": "kmz",
    ".gpkg": "gpkg",
    ".csv": "csv",
}
FORMAT_LABELS = {
    "geojson": gettext_lazy("GeoJSON"),
    "shapefile": gettext_lazy("zipped ESRI Shapefile"),
    "kml": "KML",
    "kmz": "KMZ",
    "gpkg": "GeoPackage",
    "csv": gettext_lazy("CSV with WKT"),
}


class FileRejected(ValueError):
    """The whole file is refused (unsafe archive, unreadable format, CRS not allowed)."""


UNREADABLE_GEOMETRY = gettext_lazy("unreadable geometry: the coordinates do not form a polygon")


@dataclass
class FeatureProblem:
    field: str
    message: str


@dataclass
class RawFeature:
    number: int  # 1-based, in file order
    geom: GEOSGeometry | None  # MultiPolygon in EPSG:4326 when readable
    properties: dict
    problems: list[FeatureProblem] = field(default_factory=list)


@dataclass
class ReadResult:
    format: str
    source_srid: int | None  # None when the source is a registered local system (local_crs)
    crs_from_file: bool
    features: list[RawFeature]
    local_crs: LocalCrs | None = None
    encoding: str = ""  # the text encoding found, when the format leaves it open (CSV)

    @property
    def crs_label(self) -> str:
        return self.local_crs.name if self.local_crs is not None else f"EPSG:{self.source_srid}"


def _plain(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
