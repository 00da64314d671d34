"""Execution of a queued analysis run (the worker's side): progress, results, failure.

Kept outside the accessibility.services package on purpose: the job (accessibility.tasks) imports this
module, and the services import the job to enqueue it, so this module must not import the services.
It is re-exported as accessibility.services.analysis_run_execute.

Results are stored in EPSG:4326 (site points, hexagons, isochrones); distances are metres.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import shapely
from django.conf import settings
from django.contrib.gis.db.models import PointField
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point
from django.db import transaction
from django.db.models import Func, OuterRef, Subquery
from django.utils import timezone
from rasterio.errors import RasterioIOError

from accessibility import analyses
from accessibility.models import (
    AnalysisRun,
    AreaResult,
    DistanceBin,
    Isochrone,
    PointResult,
    SiteResult,
    ZoneResult,
)
from accessibility.run_context import Context, Outcome
from layers.models import Region

# The name from before the split of accessibility/services.py, so log filters set up for it keep working.
logger = logging.getLogger("accessibility.services")


def run_output_dir(run: AnalysisRun) -> Path:
    """Folder (under MEDIA_ROOT) of the run's GeoTIFFs: distances in metres on the input raster's grid and CRS."""
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
            ctx = Context(params=run.parameters, raster=run.raster, output_dir=run_output_dir(run), progress=progress)
            outcome = analyses.run(ctx, kind=run.kind)
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
def _results_store(*, run: AnalysisRun, outcome: Outcome) -> None:
    for model in (ZoneResult, DistanceBin, SiteResult, AreaResult, PointResult, Isochrone):
        model.objects.filter(run=run).delete()
    ZoneResult.objects.bulk_create(
        ZoneResult(
            run=run,
            scenario=r.scenario,
            region_id=r.region_id,
            district_id=r.district_id,
            children=r.children,
            covered=r.covered,
            served=r.served,
            mean_distance_m=r.mean_distance_m,
            access_per_1000=r.access_per_1000,
            without_access=r.without_access,
            scale_factor=r.scale_factor,
            outside=r.outside,
            within_minutes=r.within_minutes,
            not_reachable=r.not_reachable,
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
                children=p["children"],
                distance_m=p.get("distance_m"),
                covered=p.get("covered"),
                served=p.get("served"),
                access_per_1000=p.get("access_per_1000"),
                urban=p.get("urban"),
                radius_m=p.get("radius_m"),
                travel_time_s=p.get("travel_time_s"),
                reachable=p.get("reachable"),
            )
            for p in merged.values()
        ),
        batch_size=5000,
    )
    Isochrone.objects.bulk_create(
        (
            Isochrone(run=run, facility_id=i["facility_id"], minutes=i["minutes"], geom=_multipolygon(i["geom"]))
            for i in outcome.isochrones
        ),
        batch_size=500,
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


def _multipolygon(geom) -> MultiPolygon:
    """A shapely (Multi)Polygon in EPSG:4326 as the MultiPolygon the isochrone column holds."""
    g = GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=4326)
    return g if isinstance(g, MultiPolygon) else MultiPolygon(g, srid=4326)


def _jsonable(value):
    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
