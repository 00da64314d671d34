"""Writes of administrative units: reference rows and boundaries from OGR-readable files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.gis.gdal import CoordTransform, DataSource, SpatialReference
from django.contrib.gis.gdal.error import GDALException
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery

from layers.base_layer_checks import base_layer_problems
from layers.base_layer_selectors import base_layers_cache_clear
from layers.models import BaseLayer, District, Region, Settlement
from layers.settlement_selectors import GEONAMES_SOURCE

WGS84 = 4326


class BoundaryImportError(ValueError):
    """A boundary file that cannot be loaded; the message names the file, feature and field."""


@dataclass(frozen=True)
class BoundaryLoadResult:
    updated: int
    created: int
    skipped: list[str]


def region_kato_of(kato: str) -> str:
    """KATO of the region that contains a unit: its first two digits followed by zeros."""
    return kato[:2] + "0000000"


@transaction.atomic
def regions_sync(*, rows: list[dict]) -> int:
    """Create or update the regions from reference rows (kato, iso_3166_2, names, type)."""
    for row in rows:
        Region.objects.update_or_create(
            kato=row["kato"],
            defaults={
                "iso_3166_2": row["iso_3166_2"],
                "kind": row["type"],
                "name_kk": row["name_kk"],
                "name_ru": row["name_ru"],
                "name_en": row["name_en"],
                "name_in_order_kk": row["name_in_order_kk"],
            },
        )
    return len(rows)


def parse_field_map(text: str) -> dict[str, str]:
    """`kato=KATO,name_kk=ADM1_KK` → {"kato": "KATO", "name_kk": "ADM1_KK"}."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise BoundaryImportError(f"field map entry {part!r} is not of the form target=SOURCE")
        target, source = (s.strip() for s in part.split("=", 1))
        mapping[target] = source
    return mapping


def _open_layer(path: Path, layer: str | int | None):
    try:
        source = DataSource(str(path))
    except GDALException as exc:
        raise BoundaryImportError(f"{path}: not a readable vector file ({exc})") from exc
    try:
        return source, source[layer if layer is not None else 0]
    except (IndexError, GDALException) as exc:
        raise BoundaryImportError(f"{path}: no layer {layer!r}") from exc


def _to_wgs84(geom, *, layer_srs, source_srid: int | None, where: str) -> GEOSGeometry:
    """Transform an OGR geometry to EPSG:4326 (x = longitude) and return it as GEOS."""
    srs = layer_srs
    if srs is None:
        if source_srid is None:
            raise BoundaryImportError(f"{where}: the file has no CRS; pass --srid with an EPSG code")
        srs = SpatialReference(source_srid)
    # Django's SpatialReference uses the traditional GIS axis order (x = longitude).
    geom = geom.clone()
    geom.transform(CoordTransform(srs, SpatialReference(WGS84)))
    result = geom.geos
    result.srid = WGS84
    return result


def _as_multipolygon(geom: GEOSGeometry, *, where: str) -> MultiPolygon:
    if geom.geom_type == "Polygon":
        geom = MultiPolygon(geom, srid=WGS84)
    if geom.geom_type != "MultiPolygon":
        raise BoundaryImportError(f"{where}: expected a polygon, got {geom.geom_type}")
    if not geom.valid:
        geom = geom.make_valid()
        if geom.geom_type == "Polygon":
            geom = MultiPolygon(geom, srid=WGS84)
        if geom.geom_type != "MultiPolygon":
            raise BoundaryImportError(f"{where}: geometry could not be repaired into polygons")
    return geom


def _field(feature, name: str, *, where: str) -> str:
    try:
        value = feature.get(name)
    except (IndexError, GDALException) as exc:
        raise BoundaryImportError(f"{where}: field {name!r} not found") from exc
    return "" if value is None else str(value).strip()


@transaction.atomic
def boundaries_load(
    *,
    path: Path,
    level: str,
    field_map: dict[str, str],
    layer: str | int | None = None,
    source_srid: int | None = None,
    source_label: str,
) -> BoundaryLoadResult:
    """Load region or district polygons from any OGR-readable file, in any CRS.

    `field_map` maps our fields (kato, name_kk, name_ru, name_en) to the file's fields;
    `kato` is required. Regions must already exist (they come from the order's
    reference data); districts are created or updated and attached to the
    region given by the first two digits of their KATO code. All or nothing.
    """
    if level not in ("region", "district"):
        raise BoundaryImportError(f"level must be 'region' or 'district', not {level!r}")
    if "kato" not in field_map:
        raise BoundaryImportError("the field map must name the KATO field (kato=FIELD)")
    _source, lyr = _open_layer(path, layer)
    regions = {r.kato: r for r in Region.objects.all()}
    created = updated = 0
    skipped: list[str] = []
    for index, feature in enumerate(lyr, start=1):
        where = f"{path.name}, feature {index}"
        kato = _field(feature, field_map["kato"], where=where)
        if len(kato) != 9 or not kato.isdigit():
            raise BoundaryImportError(f"{where}: field {field_map['kato']!r}: {kato!r} is not a 9-digit KATO code")
        geom = _as_multipolygon(
            _to_wgs84(feature.geom, layer_srs=lyr.srs, source_srid=source_srid, where=where), where=where
        )
        names = {k: _field(feature, v, where=where) for k, v in field_map.items() if k.startswith("name_")}
        if level == "region":
            region = regions.get(kato)
            if region is None:
                skipped.append(kato)
                continue
            region.geom = geom
            region.boundary_source = source_label
            for key, value in names.items():
                if value:
                    setattr(region, key, value)
            region.save()
            updated += 1
        else:
            region = regions.get(region_kato_of(kato))
            if region is None:
                raise BoundaryImportError(f"{where}: no region with KATO {region_kato_of(kato)} for district {kato}")
            missing = [k for k in ("name_kk", "name_ru", "name_en") if not names.get(k)]
            if missing:
                raise BoundaryImportError(f"{where}: district {kato} has no {', '.join(missing)}")
            _obj, was_created = District.objects.update_or_create(
                kato=kato, defaults={"region": region, "geom": geom, "boundary_source": source_label, **names}
            )
            created += was_created
            updated += not was_created
    return BoundaryLoadResult(updated=updated, created=created, skipped=skipped)


@transaction.atomic
def admin_centres_load(*, path: Path, field_map: dict[str, str], source_label: str) -> int:
    """Attach administrative-centre points to regions by the region part of their KATO code.

    The file's points are transformed to EPSG:4326. A region keeps the first
    centre that names it (Astana's national-capital row and the region rows agree).
    """
    _source, lyr = _open_layer(path, None)
    regions = {r.kato: r for r in Region.objects.all()}
    seen: set[str] = set()
    for index, feature in enumerate(lyr, start=1):
        where = f"{path.name}, feature {index}"
        kato = _field(feature, field_map["kato"], where=where)
        region = regions.get(region_kato_of(kato))
        if region is None or region.kato in seen:
            continue
        point = _to_wgs84(feature.geom, layer_srs=lyr.srs, source_srid=None, where=where)
        if not isinstance(point, Point):
            raise BoundaryImportError(f"{where}: expected a point, got {point.geom_type}")
        region.centre = point
        for lang in ("kk", "ru", "en"):
            key = f"name_{lang}"
            if key in field_map:
                setattr(region, f"centre_name_{lang}", _field(feature, field_map[key], where=where))
        region.save()
        seen.add(region.kato)
    return len(seen)


@transaction.atomic
def settlements_load_geonames(*, path: Path) -> int:
    """Load GeoNames places (lon/lat in EPSG:4326) and assign each to the region containing it."""
    rows = json.loads(Path(path).read_text(encoding="utf-8"))
    for row in rows:
        cyrillic = next((n for n in row.get("alternatenames", []) if any("а" <= c <= "я" for c in n.lower())), "")
        Settlement.objects.update_or_create(
            source=GEONAMES_SOURCE,
            source_id=str(row["geonameid"]),
            defaults={
                "name": row["name"],
                "name_local": cyrillic,
                "population": int(row.get("population") or 0),
                # GeoNames compiles figures from many sources and years: not official statistics.
                "population_kind": Settlement.PopulationKind.GAZETTEER,
                "population_source": GEONAMES_SOURCE,
                "location": Point(float(row["longitude"]), float(row["latitude"]), srid=WGS84),
            },
        )
    # One spatial join in PostGIS rather than a containment test per row in Python.
    Settlement.objects.filter(source=GEONAMES_SOURCE).update(
        region=Subquery(Region.objects.filter(geom__contains=OuterRef("location")).values("id")[:1])
    )
    return len(rows)


# --- base layers (maps' backgrounds and overlays configured by an administrator) ---


class BaseLayerInvalid(ValidationError):
    """A base-layer definition that cannot be saved; `message_dict` names each problem's field."""


@transaction.atomic
def base_layer_save(*, layer: BaseLayer) -> BaseLayer:
    """Validate and save `layer` (new or changed), then refresh the maps' cached layers and CSP hosts.

    Raises BaseLayerInvalid (nothing saved) for a non-https URL (http only for localhost in DEBUG),
    a URL with a user name or password, an XYZ/WMTS template without its tile placeholders, a WMS
    URL that carries SERVICE/REQUEST/… parameters, missing WMS layers, an empty attribution or
    an impossible zoom range.
    """
    layer.url = layer.url.strip()
    layer.attribution = layer.attribution.strip()
    problems = base_layer_problems(
        kind=layer.kind,
        url=layer.url,
        wms_layers=layer.wms_layers,
        attribution=layer.attribution,
        min_zoom=layer.min_zoom,
        max_zoom=layer.max_zoom,
        allow_local_http=settings.DEBUG,
    )
    if problems:
        raise BaseLayerInvalid(problems)
    layer.save()
    _base_layers_changed()
    return layer


@transaction.atomic
def base_layer_delete(*, layer_ids: list[int]) -> int:
    """Delete the base layers `layer_ids`; the maps stop offering them (cache cleared). Returns the count."""
    deleted, _by_model = BaseLayer.objects.filter(pk__in=layer_ids).delete()
    _base_layers_changed()
    return deleted


def _base_layers_changed() -> None:
    # Now for this request, and again after commit: another worker may have cached the old rows
    # between the two moments.
    base_layers_cache_clear()
    transaction.on_commit(base_layers_cache_clear)
