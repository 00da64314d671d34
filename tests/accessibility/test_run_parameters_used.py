"""A run's stored parameters are exactly what its kind and demand source read: no default shown that was not applied."""

import pytest

from accessibility.models import AnalysisRun
from accessibility.run_context import Context
from accessibility.selectors import purpose_kinds
from accessibility.services import (
    RunParameterError,
    analysis_run_create,
    analysis_run_execute,
    analysis_run_rerun,
    population_raster_register,
    run_parameters_normalise,
)
from roads.services import road_network_load
from tests.roads.conftest import geojson_write, line

COMMON = {"demand", "facilities", "radii", "region_ids"}
DEMAND = {
    "settlements": {"source", "year", "urban_min_population", "indicator", "default_child_share"},
    "raster": {"source", "year", "urban_min_population", "raster_id", "scale_to_official"},
}
FACILITIES = {"as_of", "scope", "purpose", "kinds"}
# kind -> (top-level keys beyond COMMON, facilities keys, keys of the kind's own block); the raster coverage
# run alone writes a distance raster (write_raster).
EXPECTED = {
    "coverage": (set(), FACILITIES, None),
    "fca": (set(), FACILITIES, None),
    "roadmap": ({"roadmap"}, {"purpose", "kinds"}, {"before_date"}),
    "sites": ({"sites"}, FACILITIES, {"k", "candidates", "kind", "method"}),
    "underserved": ({"underserved"}, FACILITIES, {"hex_size_m", "top"}),
}


def _raw(kind: str, source: str, raster_id: int | None) -> dict:
    """Everything a client (the run form) may send, whatever the kind: the run keeps what it reads."""
    return {
        "demand": {
            "source": source,
            "raster_id": raster_id,
            "indicator": "children_0_17",
            "scale_to_official": False,
            "default_child_share": 0.3,
            "urban_min_population": 10_000,
        },
        "facilities": {"as_of": "2025-01-01", "scope": "all"},
        "sites": {"k": 2, "candidates": "settlements", "kind": "art_school", "method": "greedy"},
        "underserved": {"hex_size_m": 2_000, "top": 5},
        "roadmap": {"before_date": "2023-12-31"},
        "write_raster": True,
    }


@pytest.fixture
def raster_id(db, utm_raster):
    return population_raster_register(path=utm_raster, name="Astana UTM", bands=[1], year=2024, source="test").pk


@pytest.mark.parametrize("source", ["settlements", "raster"])
@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_stored_parameters_hold_only_the_keys_the_kind_reads(db, kind, source, raster_id):
    params = run_parameters_normalise(kind=kind, raw=_raw(kind, source, raster_id if source == "raster" else None))
    extra, facilities, block = EXPECTED[kind]
    top = COMMON | extra | ({"write_raster"} if (kind, source) == ("coverage", "raster") else set())
    assert set(params) == top
    assert set(params["demand"]) == DEMAND[source]
    assert set(params["facilities"]) == facilities
    if block is not None:
        assert set(params[kind]) == block
    # Radii of the kinds counted (facilities.kinds empty: all of the run's purpose) and of the new sites' kind,
    # each with its two classes.
    counted = set(purpose_kinds(purpose=params["facilities"]["purpose"]))
    assert set(params["radii"]) == counted | ({params["sites"]["kind"]} if "sites" in params else set())
    assert all(set(r) == {"urban_m", "rural_m"} for r in params["radii"].values())


def test_optional_keys_appear_only_when_their_option_is_chosen(db):
    grid = run_parameters_normalise(
        kind="sites", raw={"sites": {"candidates": "grid", "method": "exact", "kind": "health_centre"}}
    )
    assert set(grid["sites"]) == {"k", "candidates", "kind", "method", "grid_spacing_m", "time_limit_s"}
    # Counting art schools only: their radii and the new sites' kind (of the same purpose), no other kind's.
    some = run_parameters_normalise(
        kind="sites", raw={"facilities": {"kinds": ["art_school"]}, "sites": {"kind": "innovative_creative_centre"}}
    )
    assert some["facilities"]["purpose"] == "education"
    assert set(some["radii"]) == {"art_school", "innovative_creative_centre"}
    roadmap = run_parameters_normalise(
        kind="roadmap", raw={"facilities": {"purpose": "education", "kinds": ["art_school"]}}
    )
    assert roadmap["facilities"] == {"purpose": "education", "kinds": ["art_school"]}
    assert set(roadmap["radii"]) == {"art_school"}
    # Without kinds, the radii of the purpose's kinds only.
    everything = run_parameters_normalise(kind="coverage", raw={"facilities": {"purpose": "recreation"}})
    assert set(everything["radii"]) == {"health_centre", "year_round_health_centre"}


def test_the_replaced_density_threshold_is_rejected_with_the_reason(db):
    with pytest.raises(RunParameterError) as exc:
        run_parameters_normalise(kind="coverage", raw={"demand": {"urban_children_per_km2": 100}})
    message = str(exc.value)
    assert message.startswith("demand.urban_children_per_km2: no longer a parameter")
    assert "demand.urban_min_population" in message


def test_the_api_rejects_the_replaced_threshold_with_a_400(planner, region_a):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(planner)
    response = client.post(
        "/api/v1/accessibility/runs/",
        {"kind": "coverage", "parameters": {"demand": {"urban_children_per_km2": 100}}},
        format="json",
    )
    assert response.status_code == 400
    assert "no longer a parameter" in response.content.decode()


def test_an_old_run_with_the_replaced_threshold_still_shows_and_repeats(client, planner, region_a, raster_id):
    params = run_parameters_normalise(
        kind="coverage", raw={"region_ids": [region_a.id], "demand": {"source": "raster", "raster_id": raster_id}}
    )
    params["demand"]["urban_children_per_km2"] = 100.0  # as raster runs stored before the one rule have it
    old = AnalysisRun.objects.create(kind="coverage", parameters=params, raster_id=raster_id)
    client.force_login(planner)
    html = client.get(f"/en/accessibility/runs/{old.pk}/").content.decode()
    assert "Urban means lying in a town of at least 10000 inhabitants" in html
    assert "its raster cells were urban at 100.0 children/km² or more" in html
    new = analysis_run_rerun(run=old, user=planner)
    assert "urban_children_per_km2" not in new.parameters["demand"]
    assert new.parameters["demand"]["urban_min_population"] == 10_000


class _Reading(dict):
    """A dict recording the paths of the keys read from it (and from the dicts inside it)."""

    def __init__(self, data: dict, path: str, seen: set):
        super().__init__({k: _Reading(v, f"{path}{k}.", seen) if isinstance(v, dict) else v for k, v in data.items()})
        self._path, self._seen = path, seen

    def __getitem__(self, key):
        self._seen.add(self._path + str(key))
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._seen.add(self._path + str(key))
        return super().get(key, default)

    def items(self):
        self._seen.update(self._path + str(k) for k in self)
        return super().items()


def _leaves(data: dict, path: str = "") -> set:
    out = set()
    for key, value in data.items():
        if isinstance(value, dict) and key != "radii":
            out |= _leaves(value, f"{path}{key}.")
        else:
            out.add(path + key)
    return out


@pytest.mark.parametrize("source", ["settlements", "raster"])
@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_every_stored_parameter_is_read_by_the_run(monkeypatch, astana_settlements, region_a, kind, source, raster_id):
    """Run each kind on each source with parameters that record what the analysis reads: nothing stored is unread."""
    seen: set = set()
    made = Context.__init__

    def recording_init(self, *, params, **kw):
        made(self, params=_Reading(params, "", seen), **kw)

    monkeypatch.setattr(Context, "__init__", recording_init)
    raw = _raw(kind, source, raster_id if source == "raster" else None)
    raw["region_ids"] = [region_a.id]
    run = analysis_run_create(kind=kind, parameters=raw, enqueue=False)
    # The creation reads raster_id to attach the raster (not the analysis): count it as read there.
    seen |= {"demand.raster_id"} if source == "raster" else set()
    run = analysis_run_execute(run_id=run.pk)
    assert run.status == AnalysisRun.Status.DONE, run.error
    stored = _leaves(run.parameters)
    assert stored - seen == set()


@pytest.mark.parametrize("source", ["settlements", "raster"])
@pytest.mark.parametrize("kind", ["coverage", "roadmap", "fca", "sites", "underserved"])
def test_every_stored_travel_parameter_is_read_by_the_run(
    monkeypatch, tmp_path, astana_settlements, region_a, kind, source, raster_id
):
    """A travel-time run stores travel (no radii) and reads every key of it (2SFCA and the roadmap also its decay),
    with either demand source."""
    lon, lat = region_a.centre.x, region_a.centre.y
    network = road_network_load(
        path=geojson_write(tmp_path / "r.geojson", [line([(lon, lat), (lon + 0.05, lat)], highway="primary")]),
        name="params",
    )
    seen: set = set()
    made = Context.__init__

    def recording_init(self, *, params, **kw):
        made(self, params=_Reading(params, "", seen), **kw)

    monkeypatch.setattr(Context, "__init__", recording_init)
    raw = _raw(kind, source, raster_id if source == "raster" else None)
    raw |= {"region_ids": [region_a.id], "travel": {"network": network.pk, "max_snap_m": 3_000}}
    run = analysis_run_execute(run_id=analysis_run_create(kind=kind, parameters=raw, enqueue=False).pk)
    seen |= {"demand.raster_id"} if source == "raster" else set()
    assert run.status == AnalysisRun.Status.DONE, run.error
    assert "radii" not in run.parameters and "write_raster" not in run.parameters
    # max_snap_m is stored for a raster run too (the API's run detail shows it), though its cells walk the grid.
    assert set(run.parameters["travel"]) == {"network", "thresholds_min", "max_snap_m"} | (
        {"decay"} if kind in ("fca", "roadmap") else set()
    )
    assert _leaves(run.parameters) - seen == set()
