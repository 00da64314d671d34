"""Import of settlements with population and child population from CSV or GeoJSON (EPSG:4326)."""

from __future__ import annotations

import csv
import io
import json

from django.contrib.gis.geos import Point
from django.db import transaction
from django.db.models import OuterRef, Subquery

from accessibility.services.errors import SettlementImportError
from gis_portal.units import size_label
from layers.models import Region, Settlement

SETTLEMENT_FIELDS = ("name", "population", "child_population", "kato", "id")
# Largest settlement file accepted (web form and management command alike).
SETTLEMENT_IMPORT_MAX_BYTES = 20 * 1024 * 1024


def _int_or_none(value, *, where: str, field: str, required: bool) -> int | None:
    if value is None or str(value).strip() == "":
        if required:
            raise SettlementImportError(f"{where}: field {field!r} is required")
        return None
    try:
        number = float(str(value).replace(" ", "").replace(",", "."))
    except ValueError:
        raise SettlementImportError(f"{where}: field {field!r}: {value!r} is not a number") from None
    if number < 0 or number != int(number):
        raise SettlementImportError(f"{where}: field {field!r}: {value!r} is not a whole number ≥ 0")
    return int(number)


def _settlement_rows_csv(text: str) -> list[dict]:
    reader = csv.DictReader(io.StringIO(text))
    fields = set(reader.fieldnames or [])
    missing = {"name", "lon", "lat", "population"} - fields
    if missing:
        raise SettlementImportError(
            f"CSV: missing column(s) {', '.join(sorted(missing))} "
            "(expected name, lon, lat, population, child_population, kato, id)"
        )
    rows = []
    for n, row in enumerate(reader, start=2):
        where = f"CSV line {n}"
        try:
            lon, lat = float(row["lon"]), float(row["lat"])
        except (TypeError, ValueError):
            raise SettlementImportError(
                f"{where}: lon/lat {row.get('lon')!r}, {row.get('lat')!r} are not numbers"
            ) from None
        rows.append({**row, "lon": lon, "lat": lat, "_where": where})
    return rows


def _settlement_rows_geojson(text: str) -> list[dict]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettlementImportError(f"GeoJSON: not valid JSON ({exc})") from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise SettlementImportError("GeoJSON: expected a FeatureCollection")
    rows = []
    for n, feat in enumerate(data.get("features") or [], start=1):
        where = f"feature {n}"
        geom = (feat or {}).get("geometry") or {}
        if geom.get("type") != "Point" or len(geom.get("coordinates") or []) < 2:
            raise SettlementImportError(f"{where}: geometry must be a Point (RFC 7946, longitude first)")
        props = feat.get("properties") or {}
        rows.append(
            {
                **{k: props.get(k) for k in SETTLEMENT_FIELDS},
                "id": props.get("id", feat.get("id")),
                "lon": float(geom["coordinates"][0]),
                "lat": float(geom["coordinates"][1]),
                "_where": where,
            }
        )
    return rows


@transaction.atomic
def settlements_import(*, content: bytes | str, fmt: str, source: str) -> dict[str, int]:
    """Import settlements with population and child population from CSV or GeoJSON (EPSG:4326).

    CSV columns: name, lon, lat, population, child_population (optional), kato (optional, 9 digits),
    id (optional; defaults to the row number). Rows are matched on (source, id) and updated in
    place; the region comes from the KATO code or, failing that, from the point (PostGIS).
    All or nothing: the first bad row aborts the import with a message naming it.
    """
    if not source.strip():
        raise SettlementImportError("source: say where the figures come from")
    if len(content) > SETTLEMENT_IMPORT_MAX_BYTES:
        raise SettlementImportError(f"the file is larger than {size_label(SETTLEMENT_IMPORT_MAX_BYTES)}")
    try:
        text = content.decode("utf-8-sig") if isinstance(content, bytes) else content
    except UnicodeDecodeError as exc:
        raise SettlementImportError(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if fmt == "csv":
        rows = _settlement_rows_csv(text)
    elif fmt == "geojson":
        rows = _settlement_rows_geojson(text)
    else:
        raise SettlementImportError(f"format: {fmt!r} must be 'csv' or 'geojson'")
    if not rows:
        raise SettlementImportError("the file has no settlements")
    regions = dict(Region.objects.values_list("kato", "id"))
    created = updated = 0
    seen = set()
    for n, row in enumerate(rows, start=1):
        where = row["_where"]
        name = str(row.get("name") or "").strip()
        if not name:
            raise SettlementImportError(f"{where}: field 'name' is required")
        if not (-180 <= row["lon"] <= 180 and -90 <= row["lat"] <= 90):
            raise SettlementImportError(f"{where}: ({row['lon']}, {row['lat']}) is not a longitude/latitude")
        population = _int_or_none(row.get("population"), where=where, field="population", required=True)
        children = _int_or_none(row.get("child_population"), where=where, field="child_population", required=False)
        if children is not None and children > population:
            raise SettlementImportError(f"{where}: child_population {children} exceeds population {population}")
        kato = str(row.get("kato") or "").strip()
        if kato and (len(kato) != 9 or not kato.isdigit()):
            raise SettlementImportError(f"{where}: field 'kato': {kato!r} is not a 9-digit KATO code")
        source_id = str(row.get("id") or n).strip()[:40]
        if source_id in seen:
            raise SettlementImportError(f"{where}: id {source_id!r} appears twice")
        seen.add(source_id)
        _obj, was_created = Settlement.objects.update_or_create(
            source=source[:300],
            source_id=source_id,
            defaults={
                "name": name[:200],
                "population": population,
                "child_population": children,
                "kato": kato,
                "location": Point(row["lon"], row["lat"], srid=4326),
                "region_id": regions.get(kato[:2] + "0000000") if kato else None,
            },
        )
        created += was_created
        updated += not was_created
    Settlement.objects.filter(source=source[:300], region__isnull=True).update(
        region_id=Subquery(Region.objects.filter(geom__intersects=OuterRef("location")).values("id")[:1])
    )
    return {"created": created, "updated": updated}
