"""DEMO data of the accessibility app: a synthetic children raster and one run of each analysis.

Every row written here is flagged `is_demo`. Seeders only (management command `accessibility_demo`,
scripts/run); the pages and the API never call this module.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rasterio
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rasterio.transform import from_origin

from accessibility import selectors
from accessibility.execution import analysis_run_execute, run_output_dir
from accessibility.models import AnalysisRun, PopulationRaster
from accessibility.services.parameters import DEFAULT_CHILD_SHARE
from accessibility.services.rasters import population_raster_register
from accessibility.services.runs import analysis_run_create
from gis_portal.demo import register
from layers.models import PopulationFigure
from roads.models import RoadNetwork

# Fast runs on the demo data (settlements and DEMO facilities); every run is flagged is_demo.
# A child is served only by a place of the kind in question: recreation and additional education each get
# their own distance-coverage run.
DEMO_RUNS = [
    ("coverage", {"facilities": {"scope": "all", "purpose": "recreation"}}),
    ("coverage", {"facilities": {"scope": "all", "purpose": "education"}}),
    ("fca", {"facilities": {"scope": "all"}}),
    ("roadmap", {}),
    ("sites", {"facilities": {"scope": "all"}, "sites": {"k": 10, "candidates": "settlements"}}),
    ("underserved", {"facilities": {"scope": "all"}, "underserved": {"hex_size_m": 10_000, "top": 100}}),
]
DEMO_RASTER_SOURCE = (
    "DEMO: synthetic raster spread from GeoNames settlements (children = population × assumed share); "
    "not a population estimate"
)


@transaction.atomic
def demo_raster_build(*, cell_deg: float = 0.02, seed: int = 191) -> PopulationRaster:
    """Write and register a small synthetic children raster over Kazakhstan (EPSG:4326), flagged demo.

    Each counted settlement's children (as a settlement run counts them) are spread over a Gaussian disc of
    cells around it. It only exercises the raster path of the analyses.
    """
    rng = np.random.default_rng(seed)
    west, north, east, south = 46.0, 56.0, 88.0, 40.0
    width, height = int(round((east - west) / cell_deg)), int(round((north - south) / cell_deg))
    grid = np.zeros((height, width), dtype=np.float32)
    # The same children as a settlement run counts (accessibility.selectors.settlements_demand), so that
    # repeating a run with the other demand source compares the two methods, not two populations.
    counted = selectors.settlements_demand(
        indicator=PopulationFigure.Indicator.CHILDREN_0_17,
        year=timezone.localdate().year,
        default_child_share=DEFAULT_CHILD_SHARE,
    )
    for lon, lat, pop, children in zip(
        counted.lon.tolist(), counted.lat.tolist(), counted.population.tolist(), counted.children.tolist(), strict=True
    ):
        sigma = max(1.0, (pop / 50_000) ** 0.5)  # in cells
        n = max(50, int(children // 20))
        rows = ((north - lat) / cell_deg + rng.normal(0, sigma, n)).astype(int)
        cols = ((lon - west) / cell_deg + rng.normal(0, sigma, n)).astype(int)
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


def demo_runs_create(
    *, replace: bool = False, with_raster: bool = False, echo: Callable[[str], None] | None = None
) -> list[AnalysisRun]:
    """Run each of the five analyses once on the demo data, in this process, flagged demo.

    `replace` deletes the earlier demo runs first; `with_raster` also builds the demo raster
    (demo_raster_build) and runs coverage on it. `echo` gets one line per step.
    Not one transaction: each run is executed as the worker executes it (its progress is
    written outside a transaction, its results in their own).
    """
    say = echo or (lambda line: None)
    if replace:
        AnalysisRun.objects.filter(is_demo=True).delete()
    runs = list(DEMO_RUNS)
    if with_raster:
        raster = demo_raster_build()
        say(f"demo raster {raster.pk}: {raster.width} × {raster.height} cells")
        runs.append(
            ("coverage", {"facilities": {"scope": "all"}, "demand": {"source": "raster", "raster_id": raster.pk}})
        )
    # No road data ships with the repository: travel-time runs only when someone has loaded a network.
    network = RoadNetwork.objects.order_by("-loaded_at", "-pk").first()
    if network is None:
        say("no road network loaded: travel-time runs skipped (load one with manage.py load_roads, see the README)")
    else:
        say(
            f"travel-time runs on the road network {network.name} ({network.source_description or network.source_file})"
        )
        runs += [
            ("coverage", {"facilities": {"scope": "all", "purpose": purpose}, "travel": {"network": network.pk}})
            for purpose in ("recreation", "education")
        ]
    done = []
    for kind, params in runs:
        t0 = time.perf_counter()
        run = analysis_run_create(kind=kind, parameters=params, is_demo=True, enqueue=False)
        run = analysis_run_execute(run_id=run.pk)
        say(
            f"{kind:12} run {run.pk}: {run.status} in {time.perf_counter() - t0:.1f} s "
            f"{json.dumps(run.summary, ensure_ascii=False)[:160]}"
        )
        done.append(run)
    return done


def _run_files_remove(runs) -> None:
    for run in runs:
        shutil.rmtree(run_output_dir(run), ignore_errors=True)


def _raster_files_remove(rasters) -> None:
    for raster in rasters:
        Path(raster.path).unlink(missing_ok=True)


# --- removal (manage.py demo_data --remove): runs (their results go with them), then their rasters ----
register(
    label="accessibility.AnalysisRun",
    order=10,
    rows=lambda: AnalysisRun.objects.filter(is_demo=True),
    before_delete=_run_files_remove,
)
register(
    label="accessibility.PopulationRaster",
    order=11,
    rows=lambda: PopulationRaster.objects.filter(is_demo=True),
    before_delete=_raster_files_remove,
)
