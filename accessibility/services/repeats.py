"""A run repeated with one input changed (the demand source, the catchment radii, the urban threshold), so that
the pages can show how much the answer depends on that input (accessibility.comparison).

Radii are metres; the urban threshold is inhabitants of a settlement (one rule for settlement points and raster
cells, layers.analysis.urban).
"""

from __future__ import annotations

import copy

from django.db import transaction

from accessibility.models import AnalysisRun, PopulationRaster
from accessibility.services.errors import RunParameterError
from accessibility.services.runs import analysis_run_create

# The changes a repeat accepts: exactly one of them (raster_id only goes with demand_source).
REPEAT_CHANGES = ("demand_source", "radii_factor", "radii", "urban_min_population")
# A factor beyond these would only produce radii the parameters refuse anyway (1 m – 500 km).
RADII_FACTOR_MIN, RADII_FACTOR_MAX = 0.1, 10.0


def _positive(value, name: str, *, low: float, high: float) -> float:
    if isinstance(value, bool):
        raise RunParameterError(f"{name}: {value!r} is not a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise RunParameterError(f"{name}: {value!r} is not a number") from None
    if not low <= number <= high:
        raise RunParameterError(f"{name}: {number:g} is outside {low:g}–{high:g}")
    return number


def _other_raster(*, indicator: str, raster_id) -> PopulationRaster:
    """The raster named by `raster_id`, else the latest registered raster counting `indicator`."""
    if raster_id is not None:
        rid = _positive(raster_id, "raster_id", low=1, high=2**62)
        raster = PopulationRaster.objects.filter(pk=int(rid)).first() if rid == int(rid) else None
        if raster is None:
            raise RunParameterError(f"raster_id: no population raster {raster_id}")
        return raster
    raster = PopulationRaster.objects.filter(indicator=indicator).order_by("-created_at", "-id").first()
    if raster is None:
        raise RunParameterError(
            f"demand_source: no population raster counting {indicator} is registered; register one first "
            "(Accessibility → Population rasters) or name one with raster_id"
        )
    return raster


def repeat_parameters(*, run: AnalysisRun, change: dict) -> dict:
    """The parameters of `run` with the one change applied (not yet normalised).

    change: {"demand_source": "raster", "raster_id": optional} (the other source; without raster_id the latest
    registered raster of the run's indicator), {"demand_source": "settlements"}, {"radii_factor": f} (every
    urban and rural radius × f), {"radii": {"urban_m": m, "rural_m": m}} (every kind set to these metres; one
    of the two may be left out) or {"urban_min_population": n}.
    """
    if not isinstance(change, dict):
        raise RunParameterError("change: must be a JSON object")
    unknown = sorted(set(change) - {*REPEAT_CHANGES, "raster_id"})
    if unknown:
        raise RunParameterError(f"change: unknown {', '.join(unknown)} (give one of {', '.join(REPEAT_CHANGES)})")
    given = [k for k in REPEAT_CHANGES if k in change]
    if len(given) != 1:
        raise RunParameterError(f"change: give exactly one of {', '.join(REPEAT_CHANGES)}")
    what = given[0]
    if "raster_id" in change and what != "demand_source":
        raise RunParameterError("raster_id: only with demand_source 'raster'")
    if what in ("radii_factor", "radii") and run.parameters.get("travel"):
        raise RunParameterError(f"{what}: a travel-time run has no radii (its reach is travel.thresholds_min)")
    params = copy.deepcopy(run.parameters)
    demand = params.setdefault("demand", {})
    if what == "demand_source":
        target = change["demand_source"]
        if target not in ("settlements", "raster"):
            raise RunParameterError("demand_source: must be 'settlements' or 'raster'")
        if target == "settlements":
            if "raster_id" in change:
                raise RunParameterError("raster_id: only with demand_source 'raster'")
            if demand.get("source") == "settlements":
                raise RunParameterError("demand_source: the run already counts the children of settlements")
            demand.update(source="settlements", raster_id=None)
        else:
            raster = _other_raster(indicator=demand.get("indicator", ""), raster_id=change.get("raster_id"))
            if demand.get("source") == "raster" and demand.get("raster_id") == raster.pk:
                raise RunParameterError(f"demand_source: the run already uses population raster {raster.pk}")
            demand.update(source="raster", raster_id=raster.pk)
    elif what == "radii_factor":
        factor = _positive(change["radii_factor"], "radii_factor", low=RADII_FACTOR_MIN, high=RADII_FACTOR_MAX)
        if factor == 1:
            raise RunParameterError("radii_factor: 1 changes nothing")
        params["radii"] = {
            code: {"urban_m": r["urban_m"] * factor, "rural_m": r["rural_m"] * factor}
            for code, r in params.get("radii", {}).items()
        }
    elif what == "radii":
        typed = change["radii"]
        if not isinstance(typed, dict) or not typed or set(typed) - {"urban_m", "rural_m"}:
            raise RunParameterError("radii: must be an object with urban_m and/or rural_m (metres)")
        metres = {k: _positive(v, f"radii.{k}", low=1, high=500_000) for k, v in typed.items()}
        params["radii"] = {code: {**r, **metres} for code, r in params.get("radii", {}).items()}
    else:
        if what not in demand:
            raise RunParameterError(f"{what}: this run's parameters have no such threshold")
        demand[what] = int(_positive(change[what], what, low=0, high=10_000_000))
    if params == run.parameters:
        raise RunParameterError(f"{what}: the run already uses this value")
    return params


@transaction.atomic
def analysis_run_repeat(*, run: AnalysisRun, change: dict, user=None, enqueue: bool = True) -> AnalysisRun:
    """A new run with the parameters of `run` and one change (see repeat_parameters), checked by
    run_parameters_normalise, linked to `run` by repeat_of and queued like any new run."""
    # analysis_run_create checks the parameters (run_parameters_normalise) before it stores anything.
    return analysis_run_create(
        kind=run.kind,
        parameters=repeat_parameters(run=run, change=change),
        user=user,
        is_demo=run.is_demo,
        enqueue=enqueue,
        repeat_of=run,
    )
