"""Writes of the settlement layers: the bundled OpenStreetMap places and the population estimates.

Points are lon/lat in EPSG:4326; regions and districts are assigned by point-in-polygon in PostGIS.
Which layers are counted, and why a town is never counted twice: layers.settlement_selectors.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection, transaction

from layers.analysis.settlement_estimates import apportion, class_medians, class_weights, unit_remainder
from layers.models import District, Settlement
from layers.settlement_selectors import (
    FIGURED_KINDS,
    OSM_SOURCE,
    UNFIGURED_KINDS,
    official_totals,
    settlements_counted,
)

OSM_PLACES_FILE = "osm/kz_populated_places_hotosm.geojson"
OSM_CLASSES = frozenset(Settlement.PlaceClass.values)
BATCH = 2_000


class SettlementLoadError(ValueError):
    """A places file that cannot be loaded; the message names the file and the feature."""


@dataclass
class OsmLoadReport:
    created: int = 0
    updated: int = 0
    official_kept: int = 0  # places whose official figure (from a list) the reload did not touch
    by_class: dict[str, int] = field(default_factory=dict)
    with_population: int = 0
    outside_districts: int = 0
    estimates: EstimateReport | None = None


# Every place of one source against the district boundaries in one join (GiST index on the boundaries); a point
# on a shared border takes the district with the lower KATO code. About 3× faster than a correlated subquery.
_LOCATE = """
UPDATE {settlement} AS s SET district_id = m.district_id, region_id = m.region_id
FROM (
    SELECT DISTINCT ON (p.id) p.id, d.id AS district_id, d.region_id
    FROM {settlement} AS p LEFT JOIN {district} AS d ON ST_Contains(d.geom, p.location)
    WHERE p.source = %(source)s
    ORDER BY p.id, d.kato
) AS m
WHERE s.id = m.id
"""


def settlements_locate(*, source: str) -> int:
    """Set the district and region of the settlements of `source` from their points (PostGIS, EPSG:4326);
    returns how many lie outside every district (their region and district are left empty)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            _LOCATE.format(settlement=quote(Settlement._meta.db_table), district=quote(District._meta.db_table)),
            {"source": source},
        )
    return Settlement.objects.filter(source=source, district__isnull=True).count()


def _osm_rows(path: Path) -> list[list]:
    """[[source id, name, name kk, name ru, name en, class, population tag or None, lon, lat], …] of the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettlementLoadError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise SettlementLoadError(f"{path}: expected a GeoJSON FeatureCollection")
    rows = []
    for n, feature in enumerate(data.get("features") or [], start=1):
        props, geom = (feature or {}).get("properties") or {}, (feature or {}).get("geometry") or {}
        where = f"{Path(path).name}, feature {n}"
        coords = geom.get("coordinates") or []
        if geom.get("type") != "Point" or len(coords) < 2:
            raise SettlementLoadError(f"{where}: expected a Point, got {geom.get('type')}")
        lon, lat = float(coords[0]), float(coords[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise SettlementLoadError(f"{where}: ({lon}, {lat}) is not a longitude/latitude")
        place_class = props.get("place") or ""
        if place_class not in OSM_CLASSES:
            raise SettlementLoadError(f"{where}: place={place_class!r} is not one of {', '.join(sorted(OSM_CLASSES))}")
        if props.get("osm_id") is None:
            raise SettlementLoadError(f"{where}: no osm_id")
        tag = str(props.get("population") or "").strip()
        rows.append(
            [
                f"{(props.get('osm_type') or 'nodes').rstrip('s')}/{props['osm_id']}",
                (props.get("name") or props.get("name:ru") or props.get("name:kk") or "")[:200],
                (props.get("name:kk") or "")[:200],
                (props.get("name:ru") or "")[:200],
                (props.get("name:en") or "")[:200],
                place_class,
                # A tag is the mappers' figure (digits only in the bundled file); anything else counts as none.
                int(tag) if tag.isdigit() else None,
                lon,
                lat,
            ]
        )
    if len({r[0] for r in rows}) != len(rows):
        raise SettlementLoadError(f"{path}: an OSM element appears twice")
    return rows


# One INSERT … ON CONFLICT for the whole file (rows passed as one JSON array): a reload updates names, point
# and class, and the figure unless the place has an official one. The ORM's bulk upsert spent ~10 s here.
_OSM_UPSERT = """
INSERT INTO {table} (source, source_id, name, name_kk, name_ru, name_local, place_class, population,
                     child_population, population_by_age, population_kind, population_source, location, kato)
SELECT %(source)s, r->>0, r->>1, r->>2, r->>3, r->>4, r->>5, COALESCE((r->>6)::integer, 0),
       NULL, '{{}}'::jsonb,
       CASE WHEN r->>6 IS NULL THEN %(unknown)s ELSE %(tag)s END,
       CASE WHEN r->>6 IS NULL THEN '' ELSE %(tag_source)s END,
       ST_SetSRID(ST_MakePoint((r->>7)::float8, (r->>8)::float8), 4326), ''
FROM jsonb_array_elements(%(rows)s::jsonb) AS r
ON CONFLICT (source, source_id) DO UPDATE SET
    name = EXCLUDED.name, name_kk = EXCLUDED.name_kk, name_ru = EXCLUDED.name_ru,
    name_local = EXCLUDED.name_local, place_class = EXCLUDED.place_class, location = EXCLUDED.location,
    population = CASE WHEN {table}.population_kind = %(official)s THEN {table}.population
                      ELSE EXCLUDED.population END,
    child_population = CASE WHEN {table}.population_kind = %(official)s THEN {table}.child_population END,
    population_source = CASE WHEN {table}.population_kind = %(official)s THEN {table}.population_source
                             ELSE EXCLUDED.population_source END,
    population_date = CASE WHEN {table}.population_kind = %(official)s THEN {table}.population_date END,
    population_kind = CASE WHEN {table}.population_kind = %(official)s THEN {table}.population_kind
                           ELSE EXCLUDED.population_kind END
RETURNING (xmax = 0) AS inserted, population_kind = %(official)s AS official
"""


@transaction.atomic
def settlements_load_osm(*, path: Path) -> OsmLoadReport:
    """Load (or reload) the OpenStreetMap places of `path` (GeoJSON points, EPSG:4326) as settlements.

    Each place is keyed by its OSM element ("node/123"); a reload updates names, point and class in place
    and keeps an official figure that a settlement list gave the place. Places with a `population` tag get
    it as an `osm_tag` figure, the others none until the estimates (run at the end) spread their district's
    or region's official total over them. Region and district come from the point (PostGIS).
    """
    rows = _osm_rows(path)
    report = OsmLoadReport(by_class=dict(Counter(r[5] for r in rows)))
    report.with_population = sum(1 for r in rows if r[6] is not None)
    kinds = Settlement.PopulationKind
    with connection.cursor() as cursor:
        cursor.execute(
            _OSM_UPSERT.format(table=connection.ops.quote_name(Settlement._meta.db_table)),
            {
                "source": OSM_SOURCE,
                "rows": json.dumps(rows),
                "unknown": kinds.UNKNOWN,
                "tag": kinds.OSM_TAG,
                "tag_source": f"OpenStreetMap population tag ({OSM_SOURCE}); not official",
                "official": kinds.OFFICIAL,
            },
        )
        results = cursor.fetchall()
    report.created = sum(1 for inserted, _official in results if inserted)
    report.updated = len(results) - report.created
    report.official_kept = sum(1 for _inserted, official in results if official)
    report.outside_districts = settlements_locate(source=OSM_SOURCE)
    report.estimates = settlement_estimates_refresh()
    return report


@dataclass
class EstimateReport:
    places: int = 0  # places given an estimate
    persons: int = 0  # persons spread over them
    units: int = 0  # districts and regions whose totals were spread
    district_units: int = 0
    without_unit: int = 0  # places left without a figure: outside every district, or no official total
    weights: dict[int, dict[str, tuple[float, str]]] = field(default_factory=dict)  # region → class → weight


def _unit_of(place: dict, *, district_totals: dict, region_totals: dict) -> tuple[str, int] | None:
    if place["district_id"] in district_totals:
        return ("district", place["district_id"])
    if place["region_id"] in region_totals:
        return ("region", place["region_id"])
    return None


@transaction.atomic
def settlement_estimates_refresh(*, year: int | None = None) -> EstimateReport:
    """Recompute every estimated population (method: layers.analysis.settlement_estimates).

    Reads the counted settlements (layers.settlement_selectors.settlements_counted) and the latest official
    total population of each district (when it has one) and region (year ≤ `year` when given). Places that
    have a figure (official list, OSM tag, GeoNames) are never changed; the places without one get
    `population_kind = estimate` with the unit and figure named in `population_source`, and no child count.
    Run after anything that changes figures: the OSM load, a settlement list import, new population figures
    (`manage.py estimate_settlement_population`).
    """
    region_totals, district_totals = official_totals(year=year)
    qs = settlements_counted()
    places = list(qs.values("pk", "place_class", "population", "population_kind", "region_id", "district_id", "source"))
    figured = [p for p in places if p["population_kind"] in FIGURED_KINDS]
    unfigured = [p for p in places if p["population_kind"] in UNFIGURED_KINDS]
    tagged = [p for p in figured if p["population_kind"] == Settlement.PopulationKind.OSM_TAG]
    national = class_medians((p["place_class"], p["population"]) for p in tagged)
    regional_samples: dict[int, list[tuple[str, int]]] = {}
    for p in tagged:
        regional_samples.setdefault(p["region_id"], []).append((p["place_class"], p["population"]))
    report = EstimateReport()
    # The region's total less its districts that have their own total: what the region-level unit holds.
    region_rest_value = {r: t.value for r, t in region_totals.items()}
    district_region = dict(District.objects.filter(pk__in=district_totals).values_list("pk", "region_id"))
    for d, total in district_totals.items():
        r = district_region[d]
        if r in region_rest_value:
            region_rest_value[r] = max(region_rest_value[r] - total.value, 0)
    units: dict[tuple[str, int], dict] = {}
    for p in figured:
        unit = _unit_of(p, district_totals=district_totals, region_totals=region_totals)
        if unit:
            units.setdefault(unit, {"figured": [], "open": []})["figured"].append(p["population"])
    for p in unfigured:
        unit = _unit_of(p, district_totals=district_totals, region_totals=region_totals)
        if unit is None:
            report.without_unit += 1
            continue
        units.setdefault(unit, {"figured": [], "open": []})["open"].append(p)
    changes: list[Settlement] = []
    for (level, unit_id), unit in sorted(units.items()):
        if not unit["open"]:
            continue
        if level == "district":
            official, total = district_totals[unit_id], district_totals[unit_id].value
        else:
            official, total = region_totals[unit_id], region_rest_value[unit_id]
        region_id = district_region[unit_id] if level == "district" else unit_id
        weights = report.weights.setdefault(
            region_id,
            class_weights(regional=class_medians(regional_samples.get(region_id, [])), national=national),
        )
        open_places = sorted(unit["open"], key=lambda p: p["pk"])
        shares = apportion(
            total=unit_remainder(total=total, figured=unit["figured"]),
            weights=[weights.get(p["place_class"], weights[""])[0] for p in open_places],
        )
        label = f"estimate: {level} total {official.year} ({official.source}) less places with figures, by class"
        for p, share in zip(open_places, shares, strict=True):
            changes.append(
                Settlement(
                    pk=p["pk"],
                    population=share,
                    population_kind=Settlement.PopulationKind.ESTIMATE,
                    population_source=label[:300],
                    population_date=official.source_date,
                    child_population=None,
                )
            )
        report.units += 1
        report.district_units += level == "district"
        report.places += len(open_places)
        report.persons += sum(shares)
    estimated_pks = {s.pk for s in changes}
    # Places that had an estimate and now have no unit (figures withdrawn) go back to "no figure".
    qs.filter(population_kind=Settlement.PopulationKind.ESTIMATE).exclude(pk__in=estimated_pks).update(
        population=0, population_kind=Settlement.PopulationKind.UNKNOWN, population_source="", population_date=None
    )
    Settlement.objects.bulk_update(
        changes,
        ("population", "population_kind", "population_source", "population_date", "child_population"),
        batch_size=BATCH,
    )
    return report
