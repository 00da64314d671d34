"""Writes of the accessibility app: settlement import, raster registration, analysis runs.

A run is created (parameters checked and completed with defaults, so it can be
reproduced from them) and queued as a django-tasks job in one transaction; a
worker (`manage.py db_worker`) or the `run_accessibility` command executes it,
updating `progress` as it reads the demand, and stores the results atomically.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import shutil
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import rasterio
from django.conf import settings
from django.contrib.gis.db.models import PointField
from django.contrib.gis.geos import GEOSGeometry, Point, Polygon
from django.db import transaction
from django.db.models import Func, OuterRef, Subquery
from django.utils import timezone
from pyproj import CRS, Transformer
from rasterio.errors import RasterioIOError

from accessibility import analyses
from accessibility.models import (
    AnalysisRun,
    AreaResult,
    DistanceBin,
    PointResult,
    PopulationRaster,
    SiteResult,
    ZoneResult,
)
from facilities.models import FacilityKind
from layers.models import PopulationFigure, Region, Settlement

logger = logging.getLogger(__name__)

# Default catchment radii (metres), a stated planning assumption editable per run: a health
# centre serves a wider area than a creative centre or an art school; rural children travel further.
DEFAULT_RADII = {
    "year_round_health_centre": {"urban_m": 5_000, "rural_m": 30_000},
    "health_centre": {"urban_m": 5_000, "rural_m": 30_000},
    "innovative_creative_centre": {"urban_m": 3_000, "rural_m": 15_000},
    "art_school": {"urban_m": 3_000, "rural_m": 15_000},
}
FALLBACK_RADIUS = {"urban_m": 5_000, "rural_m": 20_000}
# Share of children aged 0–17 in Kazakhstan's population is about one third (BNS, 2023); used only
# for settlements without a child count when the region has no official figures, and flagged.
DEFAULT_CHILD_SHARE = 0.32
SCOPES = ("open", "open_or_planned", "all")
CANDIDATE_SOURCES = ("settlements", "grid", "points", "parcels")
MAX_CANDIDATES = 20_000


class RunParameterError(ValueError):
    """Bad analysis parameters; the message names the parameter."""


class SettlementImportError(ValueError):
    """A settlement file that cannot be imported; the message names the row and the field."""


class RasterRegistrationError(ValueError):
    """A raster that cannot be registered; the message names the file and the problem."""


# --- parameters ----------------------------------------------------------------------------------------------


def _number(value, name: str, *, low: float, high: float, integer: bool = False):
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        raise RunParameterError(f"{name}: {value!r} is not a number") from None
    if integer and float(value) != number:
        raise RunParameterError(f"{name}: {value!r} is not a whole number")
    if not low <= number <= high:
        raise RunParameterError(f"{name}: {number} is outside {low}–{high}")
    return number


def _date(value, name: str) -> str:
    try:
        return (value if isinstance(value, date) else date.fromisoformat(str(value))).isoformat()
    except ValueError:
        raise RunParameterError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


def run_parameters_normalise(*, kind: str, raw: dict) -> dict:
    """Complete `raw` with defaults and check every value; the result fully describes the run."""
    if kind not in AnalysisRun.Kind.values:
        raise RunParameterError(f"kind: {kind!r} is not one of {', '.join(AnalysisRun.Kind.values)}")
    if not isinstance(raw, dict):
        raise RunParameterError("parameters must be a JSON object")
    known = {"demand", "facilities", "radii", "region_ids", "sites", "underserved", "roadmap", "write_raster"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise RunParameterError(f"unknown parameters: {', '.join(unknown)}")
    today = timezone.localdate()
    d = dict(raw.get("demand") or {})
    source = d.get("source", "settlements")
    if source not in ("settlements", "raster"):
        raise RunParameterError("demand.source: must be 'settlements' or 'raster'")
    demand = {
        "source": source,
        "raster_id": None,
        "indicator": d.get("indicator", PopulationFigure.Indicator.CHILDREN_0_17),
        "year": _number(d.get("year", today.year), "demand.year", low=1990, high=2100, integer=True),
        "scale_to_official": bool(d.get("scale_to_official", False)),
        "default_child_share": _number(
            d.get("default_child_share", DEFAULT_CHILD_SHARE), "demand.default_child_share", low=0.01, high=1.0
        ),
        "urban_min_population": _number(
            d.get("urban_min_population", 10_000), "demand.urban_min_population", low=0, high=10_000_000, integer=True
        ),
        "urban_children_per_km2": _number(
            d.get("urban_children_per_km2", 100), "demand.urban_children_per_km2", low=0, high=1e6
        ),
    }
    if demand["indicator"] not in PopulationFigure.Indicator.values:
        raise RunParameterError(f"demand.indicator: {demand['indicator']!r} is not a population indicator")
    if source == "raster":
        rid = d.get("raster_id")
        if rid is None:
            raise RunParameterError("demand.raster_id: required when demand.source is 'raster'")
        rid = _number(rid, "demand.raster_id", low=1, high=2**62, integer=True)
        if not PopulationRaster.objects.filter(pk=rid).exists():
            raise RunParameterError(f"demand.raster_id: no population raster {rid}")
        demand["raster_id"] = rid
    f = dict(raw.get("facilities") or {})
    scope = f.get("scope", "open_or_planned")
    if scope not in SCOPES:
        raise RunParameterError(f"facilities.scope: must be one of {', '.join(SCOPES)}")
    kinds_all = set(FacilityKind.objects.values_list("code", flat=True))
    kinds = list(f.get("kinds") or [])
    bad = sorted(set(kinds) - kinds_all)
    if bad:
        raise RunParameterError(f"facilities.kinds: unknown kinds {', '.join(bad)}")
    facilities = {"as_of": _date(f.get("as_of", today), "facilities.as_of"), "scope": scope, "kinds": sorted(kinds)}
    radii_raw = raw.get("radii") or {}
    if not isinstance(radii_raw, dict):
        raise RunParameterError("radii: must be an object {kind: {urban_m, rural_m}}")
    bad = sorted(set(radii_raw) - kinds_all)
    if bad:
        raise RunParameterError(f"radii: unknown kinds {', '.join(bad)}")
    radii = {}
    for code in sorted(kinds_all):
        r = {**DEFAULT_RADII.get(code, FALLBACK_RADIUS), **(radii_raw.get(code) or {})}
        radii[code] = {
            "urban_m": _number(r["urban_m"], f"radii.{code}.urban_m", low=1, high=500_000),
            "rural_m": _number(r["rural_m"], f"radii.{code}.rural_m", low=1, high=500_000),
        }
    region_ids = sorted(
        {_number(x, "region_ids", low=1, high=2**62, integer=True) for x in raw.get("region_ids") or []}
    )
    if region_ids and Region.objects.filter(id__in=region_ids).count() != len(region_ids):
        raise RunParameterError("region_ids: some regions do not exist")
    params = {
        "demand": demand,
        "facilities": facilities,
        "radii": radii,
        "region_ids": region_ids,
        "write_raster": bool(raw.get("write_raster", True)),
    }
    if kind == "sites":
        s = dict(raw.get("sites") or {})
        cand = s.get("candidates", "settlements")
        if cand not in CANDIDATE_SOURCES:
            raise RunParameterError(f"sites.candidates: must be one of {', '.join(CANDIDATE_SOURCES)}")
        site_kind = s.get("kind", "innovative_creative_centre")
        if site_kind not in radii:
            raise RunParameterError(f"sites.kind: unknown facility kind {site_kind!r}")
        method = s.get("method", "greedy")
        if method not in ("greedy", "exact"):
            raise RunParameterError("sites.method: must be 'greedy' or 'exact'")
        sites = {
            "k": _number(s.get("k", 5), "sites.k", low=1, high=1000, integer=True),
            "candidates": cand,
            "kind": site_kind,
            "method": method,
            "grid_spacing_m": _number(s.get("grid_spacing_m", 10_000), "sites.grid_spacing_m", low=500, high=200_000),
            "time_limit_s": _number(s.get("time_limit_s", 60), "sites.time_limit_s", low=1, high=3600),
        }
        if cand == "points":
            pts = s.get("points")
            if not isinstance(pts, list) or not pts:
                raise RunParameterError("sites.points: a non-empty list of [longitude, latitude] is required")
            if len(pts) > MAX_CANDIDATES:
                raise RunParameterError(f"sites.points: at most {MAX_CANDIDATES} candidates")
            clean = []
            for i, pt in enumerate(pts):
                if not isinstance(pt, list | tuple) or len(pt) != 2:
                    raise RunParameterError(f"sites.points[{i}]: expected [longitude, latitude]")
                clean.append(
                    [
                        _number(pt[0], f"sites.points[{i}] longitude", low=-180, high=180),
                        _number(pt[1], f"sites.points[{i}] latitude", low=-90, high=90),
                    ]
                )
            sites["points"] = clean
        params["sites"] = sites
    if kind == "underserved":
        u = dict(raw.get("underserved") or {})
        params["underserved"] = {
            "hex_size_m": _number(u.get("hex_size_m", 5_000), "underserved.hex_size_m", low=100, high=100_000),
            "top": _number(u.get("top", 200), "underserved.top", low=1, high=10_000, integer=True),
        }
    if kind == "roadmap":
        r = dict(raw.get("roadmap") or {})
        params["roadmap"] = {"before_date": _date(r.get("before_date", "2023-12-31"), "roadmap.before_date")}
    return params


# --- runs ------------------------------------------------------------------------------------------------


@transaction.atomic
def analysis_run_create(
    *, kind: str, parameters: dict, user=None, is_demo: bool = False, enqueue: bool = True
) -> AnalysisRun:
    """Check the parameters, store the run (queued) and enqueue its job in the same transaction."""
    params = run_parameters_normalise(kind=kind, raw=parameters)
    raster_id = params["demand"]["raster_id"]
    raster = PopulationRaster.objects.get(pk=raster_id) if raster_id else None
    run = AnalysisRun.objects.create(
        kind=kind,
        parameters=params,
        raster=raster,
        is_demo=is_demo or bool(raster and raster.is_demo),
        created_by=user if user is not None and user.is_authenticated else None,
    )
    if enqueue:
        from accessibility.tasks import run_analysis

        result = run_analysis.enqueue(run_id=run.pk)
        run.task_id = str(result.id)
        run.save(update_fields=["task_id"])
    return run


def run_output_dir(run: AnalysisRun) -> Path:
    return Path(settings.MEDIA_ROOT) / "accessibility" / "runs" / str(run.pk)


class _ProgressWriter:
    """Writes progress to the run row at most once a second (the UI polls it) and tells `echo`."""

    def __init__(self, run_id: int, echo: Callable[[float, str], None] | None):
        self.run_id = run_id
        self.echo = echo
        self.last = 0.0

    def __call__(self, fraction: float, note: str) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        if self.echo is not None:
            self.echo(fraction, note)
        now = time.monotonic()
        if now - self.last >= 1.0 or fraction >= 1.0:
            self.last = now
            AnalysisRun.objects.filter(pk=self.run_id).update(progress=fraction, progress_note=note[:200])


def analysis_run_execute(*, run_id: int, echo: Callable[[float, str], None] | None = None) -> AnalysisRun:
    """Run a queued analysis and store its results; a failure is recorded on the run, not raised.

    Progress is written outside any transaction so that pages polling it see it move;
    the results are stored in one transaction (all or nothing).
    """
    run = AnalysisRun.objects.get(pk=run_id)
    if run.status not in (AnalysisRun.Status.QUEUED, AnalysisRun.Status.FAILED):
        return run
    AnalysisRun.objects.filter(pk=run_id).update(
        status=AnalysisRun.Status.RUNNING, started_at=timezone.now(), finished_at=None, progress=0.0, error=""
    )
    progress = _ProgressWriter(run_id, echo)
    settled = False
    try:
        try:
            ctx = analyses.Context(
                params=run.parameters, raster=run.raster, output_dir=run_output_dir(run), progress=progress
            )
            outcome = analyses.RUNNERS[run.kind](ctx)
        except (ValueError, RasterioIOError, OSError, KeyError, MemoryError) as exc:
            logger.exception("analysis run %s failed", run_id)
            AnalysisRun.objects.filter(pk=run_id).update(
                status=AnalysisRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
            )
            settled = True
            run.refresh_from_db()
            return run
        progress(0.97, "storing results")
        _results_store(run=run, outcome=outcome)
        settled = True
    finally:
        if not settled:
            # Anything else (a bug, the worker being stopped) propagates, but the run must not stay "running".
            AnalysisRun.objects.filter(pk=run_id).update(
                status=AnalysisRun.Status.FAILED,
                error="the run stopped unexpectedly; see the worker's log",
                finished_at=timezone.now(),
            )
    if echo is not None:
        echo(1.0, "done")
    run.refresh_from_db()
    return run


def _region_containing(point) -> Subquery:
    """The region whose boundary contains `point` (an EPSG:4326 point expression), in PostGIS.

    The lowest id wins on a shared boundary, as in migration accessibility 0002.
    """
    return Subquery(Region.objects.filter(geom__intersects=point).order_by("pk").values("id")[:1])


@transaction.atomic
def _results_store(*, run: AnalysisRun, outcome: analyses.Outcome) -> None:
    for model in (ZoneResult, DistanceBin, SiteResult, AreaResult, PointResult):
        model.objects.filter(run=run).delete()
    ZoneResult.objects.bulk_create(
        ZoneResult(
            run=run,
            scenario=r.scenario,
            region_id=r.region_id,
            district_id=r.district_id,
            children=r.children,
            covered=r.covered,
            mean_distance_m=r.mean_distance_m,
            access_per_1000=r.access_per_1000,
            without_access=r.without_access,
            scale_factor=r.scale_factor,
        )
        for r in outcome.zone_rows
    )
    DistanceBin.objects.bulk_create(
        DistanceBin(run=run, scenario=sc, lower_m=lo, upper_m=up, children=n) for sc, lo, up, n in outcome.bins
    )
    SiteResult.objects.bulk_create(
        (
            SiteResult(
                run=run,
                rank=s["rank"],
                location=Point(s["lon"], s["lat"], srid=4326),
                label=s["label"][:300],
                candidate_ref=s["candidate_ref"][:100],
                solo_gain=s["solo_gain"],
                selected_order=s["selected_order"],
                marginal_gain=s["marginal_gain"],
            )
            for s in outcome.sites
        ),
        batch_size=2000,
    )
    if outcome.sites:
        SiteResult.objects.filter(run=run).update(region_id=_region_containing(OuterRef("location")))
    AreaResult.objects.bulk_create(
        AreaResult(
            run=run,
            rank=a["rank"],
            geom=GEOSGeometry(a["wkt"], srid=4326),
            children=a["children"],
            uncovered=a["uncovered"],
        )
        for a in outcome.areas
    )
    if outcome.areas:
        # A hexagon may straddle a boundary: it belongs to the region of its centroid.
        centroid = Func(OuterRef("geom"), function="ST_Centroid", output_field=PointField(srid=4326))
        AreaResult.objects.filter(run=run).update(region_id=_region_containing(centroid))
    merged: dict[tuple, dict] = {}
    for p in outcome.points:
        merged.setdefault((p["scenario"], p["settlement_id"]), {}).update(p)
    PointResult.objects.bulk_create(
        (
            PointResult(
                run=run,
                scenario=p["scenario"],
                settlement_id=p["settlement_id"],
                children=p.get("children", 0.0),
                distance_m=p.get("distance_m"),
                covered=p.get("covered"),
                access_per_1000=p.get("access_per_1000"),
            )
            for p in merged.values()
        ),
        batch_size=5000,
    )
    # A run that counted demo facilities (or used a demo raster) is itself demo: pages label it so.
    uses_demo = any(
        isinstance(v, dict) and v.get("demo") for k, v in outcome.inputs.items() if k.startswith("facilities")
    )
    AnalysisRun.objects.filter(pk=run.pk).update(
        is_demo=run.is_demo or uses_demo,
        status=AnalysisRun.Status.DONE,
        progress=1.0,
        progress_note="",
        finished_at=timezone.now(),
        inputs=outcome.inputs,
        notes=outcome.notes,
        summary=_jsonable(outcome.summary),
    )


def _jsonable(value):
    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


@transaction.atomic
def analysis_run_rerun(*, run: AnalysisRun, user=None) -> AnalysisRun:
    """A new run with the stored parameters of `run` (reproducibility)."""
    return analysis_run_create(kind=run.kind, parameters=run.parameters, user=user, is_demo=run.is_demo)


# --- population rasters -------------------------------------------------------------------------------------


@transaction.atomic
def population_raster_register(
    *,
    path: Path | str,
    name: str,
    bands: list[int],
    year: int,
    source: str,
    indicator: str = PopulationFigure.Indicator.CHILDREN_0_17,
    is_demo: bool = False,
    user=None,
    copy_to_media: bool = False,
) -> PopulationRaster:
    """Register a GeoTIFF (any CRS and resolution): check it opens, has a CRS and the bands exist.

    Only metadata is read (never the cells). `bands` are 1-based and are summed into
    children (e.g. WorldPop's f_0, f_1, f_5, m_0, … age/sex bands, one file per band
    merged beforehand into one multi-band file).
    """
    path = Path(path)
    if not source.strip():
        raise RasterRegistrationError("source: say where the raster comes from (e.g. WorldPop 2020, 100 m)")
    if indicator not in PopulationFigure.Indicator.values:
        raise RasterRegistrationError(f"indicator: {indicator!r} is not a population indicator")
    if not bands:
        raise RasterRegistrationError("bands: name at least one band that counts children")
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise RasterRegistrationError(f"{path.name}: not a readable raster ({exc})") from exc
    with src:
        if src.crs is None:
            raise RasterRegistrationError(f"{path.name}: the raster has no CRS")
        bad = [b for b in bands if not 1 <= b <= src.count]
        if bad:
            raise RasterRegistrationError(f"{path.name}: bands {bad} do not exist (the raster has {src.count})")
        crs = CRS.from_user_input(src.crs)
        left, bottom, right, top = src.bounds
        xs = np.array([left, right, right, left, (left + right) / 2, (left + right) / 2, left, right])
        ys = np.array([bottom, bottom, top, top, bottom, top, (bottom + top) / 2, (bottom + top) / 2])
        lon, lat = Transformer.from_crs(crs, 4326, always_xy=True).transform(xs, ys)
        lon, lat = np.asarray(lon), np.asarray(lat)
        if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
            raise RasterRegistrationError(f"{path.name}: its extent cannot be placed on the earth")
        extent = Polygon.from_bbox((lon.min(), lat.min(), lon.max(), lat.max()))
        extent.srid = 4326
        meta = {
            "crs_wkt": crs.to_wkt(),
            "crs_name": f"{crs.name}" + (f" (EPSG:{crs.to_epsg()})" if crs.to_epsg() else ""),
            "width": src.width,
            "height": src.height,
            "band_count": src.count,
            "pixel_size_x": abs(src.transform.a),
            "pixel_size_y": abs(src.transform.e),
            "band_descriptions": [d or "" for d in src.descriptions],
        }
    raster = PopulationRaster.objects.create(
        name=name,
        path=str(path),
        children_bands=sorted(set(bands)),
        year=year,
        source=source,
        indicator=indicator,
        extent=extent,
        is_demo=is_demo,
        created_by=user if user is not None and user.is_authenticated else None,
        **meta,
    )
    if copy_to_media:
        target = Path(settings.MEDIA_ROOT) / "accessibility" / "rasters" / f"{raster.pk}_{path.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        raster.path = str(target)
        raster.save(update_fields=["path"])
    return raster


# --- settlements ------------------------------------------------------------------------------------------------

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
        raise SettlementImportError(f"the file is larger than {SETTLEMENT_IMPORT_MAX_BYTES // 1_000_000} MB")
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
    from django.db.models import OuterRef, Subquery

    Settlement.objects.filter(source=source[:300], region__isnull=True).update(
        region_id=Subquery(Region.objects.filter(geom__intersects=OuterRef("location")).values("id")[:1])
    )
    return {"created": created, "updated": updated}


# --- demo -----------------------------------------------------------------------------------------------------

DEMO_RASTER_SOURCE = (
    "DEMO: synthetic raster spread from GeoNames settlements (children = population × assumed share); "
    "not a population estimate"
)


@transaction.atomic
def demo_raster_build(*, cell_deg: float = 0.02, seed: int = 191) -> PopulationRaster:
    """Write and register a small synthetic children raster over Kazakhstan (EPSG:4326), flagged demo.

    Each settlement's children (its own count, else population × DEFAULT_CHILD_SHARE) are spread over a
    Gaussian disc of cells around it. It only exercises the raster path of the analyses.
    """
    from rasterio.transform import from_origin

    rng = np.random.default_rng(seed)
    west, north, east, south = 46.0, 56.0, 88.0, 40.0
    width, height = int(round((east - west) / cell_deg)), int(round((north - south) / cell_deg))
    grid = np.zeros((height, width), dtype=np.float32)
    for loc, pop, child in Settlement.objects.filter(population__gt=0).values_list(
        "location", "population", "child_population"
    ):
        children = float(child if child is not None else pop * DEFAULT_CHILD_SHARE)
        sigma = max(1.0, (pop / 50_000) ** 0.5)  # in cells
        n = max(50, int(children // 20))
        rows = ((north - loc.y) / cell_deg + rng.normal(0, sigma, n)).astype(int)
        cols = ((loc.x - west) / cell_deg + rng.normal(0, sigma, n)).astype(int)
        ok = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
        np.add.at(grid, (rows[ok], cols[ok]), children / n)
    target = Path(settings.MEDIA_ROOT) / "accessibility" / "rasters" / "demo_children.tif"
    target.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        target,
        "w",
        driver="GTiff",
        width=width,
        height=height,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=from_origin(west, north, cell_deg, cell_deg),
        nodata=-1.0,
        compress="deflate",
        tiled=True,
        blockxsize=256,
        blockysize=256,
    ) as dst:
        dst.write(grid, 1)
        dst.set_band_description(1, "DEMO children 0-17")
    PopulationRaster.objects.filter(is_demo=True, path=str(target)).delete()
    return population_raster_register(
        path=target,
        name="DEMO children raster",
        bands=[1],
        year=timezone.localdate().year,
        source=DEMO_RASTER_SOURCE,
        is_demo=True,
    )
