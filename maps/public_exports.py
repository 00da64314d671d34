"""The public table as files: CSV, XLSX and GeoJSON, each with the licence and "data as of".

Public fields only (maps.public_table.PublicRow): never parcels, acts, executors or notes; the budget
(whole tenge, KZT), funding source and contractor only where the editor published them.
Coordinates are EPSG:4326 longitude / latitude in degrees. Where each file carries its notice:
- CSV: the columns licence, attribution, data_as_of and generated_at on every row, so Excel and
  QGIS open the file with its header on the first line (UTF-8 with a byte order mark for Excel);
- XLSX: a second sheet "About";
- GeoJSON: top-level members "licence", "attribution", "data_as_of" and "generated_at" (RFC 7946
  lets a FeatureCollection carry foreign members).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from openpyxl import Workbook

from maps.public_table import PublicRow

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
}
# Column names are the API's property names (stable across languages); *_label columns are in the page's language.
COLUMNS = [
    "id",
    "name",
    "kind",
    "kind_label",
    "region",
    "region_label",
    "measure",
    "places",
    "planned_year",
    "status",
    "status_label",
    "stage",
    "stage_label",
    "opened_on",
    "is_demo",
    "budget_kzt",
    "funding_source",
    "contractor_name",
    "lon",
    "lat",
]
NOTICE_COLUMNS = ["licence", "attribution", "data_as_of", "generated_at"]


@dataclass(frozen=True)
class Notice:
    """What every download says about itself; datetimes are timezone-aware."""

    licence: str
    attribution: str
    data_as_of: datetime | None  # the data's last change
    generated_at: datetime
    source_url: str

    def as_dict(self) -> dict[str, str]:
        return {
            "licence": self.licence,
            "attribution": self.attribution,
            "data_as_of": self.data_as_of.isoformat() if self.data_as_of else "",
            "generated_at": self.generated_at.isoformat(),
        }


def notice_build(*, data_as_of: datetime | None, generated_at: datetime, source_url: str) -> Notice:
    """The licence of the portal's public data and the attribution of the base data it is drawn on."""
    basemap = strip_tags(settings.BASEMAP_ATTRIBUTION).replace("&copy;", "©")
    return Notice(
        licence=settings.PUBLIC_DATA_LICENCE,
        attribution=f"{settings.BOUNDARIES_ATTRIBUTION}; {basemap}",
        data_as_of=data_as_of,
        generated_at=generated_at,
        source_url=source_url,
    )


def _values(row: PublicRow) -> list:
    return [
        row.pk,
        row.name,
        row.kind,
        row.kind_label,
        row.region,
        row.region_label,
        row.measure,
        row.places,
        row.planned_year,
        row.status,
        row.status_label,
        row.stage,
        row.stage_label,
        row.opened_on.isoformat() if row.opened_on else "",
        row.is_demo,
        row.budget_kzt,
        row.funding_source,
        row.contractor_name,
        round(row.lon, 7),
        round(row.lat, 7),
    ]


def rows_csv(rows: list[PublicRow], *, notice: Notice) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS + NOTICE_COLUMNS)
    tail = list(notice.as_dict().values())
    for row in rows:
        values = _values(row)
        values[COLUMNS.index("is_demo")] = "true" if row.is_demo else "false"
        writer.writerow(values + tail)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def rows_xlsx(rows: list[PublicRow], *, notice: Notice) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = _("Facilities")[:31]
    sheet.append(COLUMNS)
    for row in rows:
        sheet.append(_values(row))
        for cell in sheet[sheet.max_row]:
            # openpyxl takes text starting with "=" for a formula: a name stays the text it is.
            if cell.data_type == "f":
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    about = book.create_sheet(_("About")[:31])
    as_of = notice.as_dict()
    for label, value in (
        (_("Title"), _("Facilities of the approved consolidated plans (public fields)")),
        (_("Licence"), notice.licence),
        (_("Attribution"), notice.attribution),
        (_("Data as of (last change)"), as_of["data_as_of"]),
        (_("Generated at"), as_of["generated_at"]),
        (_("Source"), notice.source_url),
        (_("Facilities"), len(rows)),
        (_("Demo data"), _("Rows with is_demo = TRUE are invented demonstration data, not official records.")),
        (_("Coordinates"), _("lon, lat: WGS 84 (EPSG:4326), degrees")),
    ):
        about.append([label, value])
    about.column_dimensions["A"].width = 28
    about.column_dimensions["B"].width = 90
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rows_geojson(rows: list[PublicRow], *, notice: Notice) -> bytes:
    features = []
    for row in rows:
        properties = dict(zip(COLUMNS, _values(row), strict=True))
        lon, lat = properties.pop("lon"), properties.pop("lat")
        pk = properties.pop("id")
        features.append(
            {
                "type": "Feature",
                "id": pk,
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": properties,
            }
        )
    collection = {
        "type": "FeatureCollection",
        "name": "facilities",
        **notice.as_dict(),
        "source": notice.source_url,
        "features": features,
    }
    return json.dumps(collection, ensure_ascii=False).encode("utf-8")


WRITERS = {"csv": rows_csv, "xlsx": rows_xlsx, "geojson": rows_geojson}
