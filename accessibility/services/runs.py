"""Analysis runs: created (parameters checked and completed with defaults, so the run can be reproduced
from them) and queued as a django-tasks job in one transaction.

A worker (`manage.py db_worker`, accessibility.tasks) or the `run_accessibility` command executes the run
with accessibility.execution.analysis_run_execute, which does not import this module: the job module
imports the execution, this module imports the job, and nothing imports back.
"""

from __future__ import annotations

import copy

from django.db import transaction

from accessibility.models import AnalysisRun, PopulationRaster
from accessibility.services.parameters import run_parameters_normalise
from accessibility.tasks import run_analysis


@transaction.atomic
def analysis_run_create(
    *,
    kind: str,
    parameters: dict,
    user=None,
    is_demo: bool = False,
    enqueue: bool = True,
    repeat_of: AnalysisRun | None = None,
) -> AnalysisRun:
    """Check the parameters, store the run (queued) and enqueue its job in the same transaction;
    `repeat_of`: the run this one repeats with one input changed (accessibility.services.repeats)."""
    params = run_parameters_normalise(kind=kind, raw=parameters)
    raster_id = params["demand"].get("raster_id")
    raster = PopulationRaster.objects.get(pk=raster_id) if raster_id else None
    run = AnalysisRun.objects.create(
        kind=kind,
        parameters=params,
        raster=raster,
        is_demo=is_demo or bool(raster and raster.is_demo),
        repeat_of=repeat_of,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    if enqueue:
        result = run_analysis.enqueue(run_id=run.pk)
        run.task_id = str(result.id)
        run.save(update_fields=["task_id"])
    return run


@transaction.atomic
def analysis_run_rerun(*, run: AnalysisRun, user=None) -> AnalysisRun:
    """A new run with the stored parameters of `run` (reproducibility)."""
    params = copy.deepcopy(run.parameters)
    # A run stored before the one urban rule carries the raster-only density threshold the rule replaced:
    # the new run applies today's rule (demand.urban_min_population, which that run also stored).
    (params.get("demand") or {}).pop("urban_children_per_km2", None)
    return analysis_run_create(kind=run.kind, parameters=params, user=user, is_demo=run.is_demo)
