"""2SFCA and best sites by travel time (issue 18 point 3) on the hand-built network of test_travel_runs.

The world (see test_travel_runs): the road O — A — B — C east of Astana's centre (6 km, 1.5 km, 2 km at 30 km/h),
an island R1 — R2 3 km north of O joined to nothing (across a river), S 8 km south (no road within 5 km);
settlements A 300, B 100, C 40, R1 50, S 20 children; the health centre H (25 places) at O. Here a second centre
F (10 places) stands at C for 2SFCA. The catchment T is the first threshold, B's time from O (900 s).

2SFCA without decay: H reaches A (720 s) and B (900 s, exactly T: inside); F reaches A (420 s), B (240 s), C (0).
R_H = 25 / 400, R_F = 10 / 440; per 1 000 children A and B get 1000 (25/400 + 10/440) = 85.227, C 22.727,
R1 and S nothing (70 children without access). Places are conserved: Σ children × access = 1000 × 35.

Gaussian decay (Dai 2010) G(t) = (exp(−½ (t/T)²) − e^−½) / (1 − e^−½): H weighs A by G(0.8) = 0.3040 and B by
G(1) = 0; F weighs A by G(0.467) = 0.7378, B by G(0.267) = 0.9113, C by 1. R_H = 25 / (0.3040 × 300),
R_F = 10 / 352.46; C gets 1000 × R_F = 28.37, B 0.9113 × 28.37 = 25.85, A 1000 × 25/300 + 0.7378 × 28.37 = 104.27.

Best sites (H only, T = 900 s): not covered C 40, R1 50, S 20 (110). Candidate parcels: on the island at R2
(R1 reaches it by its road in 2 min: 50), at C (40), and on the river's mainland bank 1.5 km south of R1 — the
nearest candidate to R1 by distance, but across the river: walking 1.5 km at 5 km/h takes 18 min > 15, so it
covers nobody. k = 2 chooses the island, then C: 90 children added, 20 left (S).
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from rest_framework.test import APIClient

from accessibility.forms import RunForm
from accessibility.models import AnalysisRun, PointResult, SiteResult, ZoneResult
from accessibility.notes import note_text
from accessibility.services import RunParameterError, run_parameters_normalise
from layers.analysis.travel import RoadGraph
from layers.analysis.travel_fca import decay_weight, travel_fca
from parcels.models import Parcel
from tests.accessibility.run_form import RUN_FORM
from tests.accessibility.travel_world import (
    GEOD,
    TRAVEL_CHILDREN,
    execute_run,
    point_at,
    stored_seconds,
    travel_params,
)

E_HALF = math.exp(-0.5)


def _gauss(t: float, limit: float) -> float:
    """Dai (2010), written out here independently of the module under test."""
    return (math.exp(-0.5 * (t / limit) ** 2) - E_HALF) / (1 - E_HALF)


# --- pure code ----------------------------------------------------------------------------------------------------


def test_decay_weight_is_one_at_the_door_zero_at_the_edge_and_beyond():
    w = decay_weight(np.array([0.0, 450.0, 900.0, 900.0 + 1e-9, 901.0]), limit_s=900.0, decay="gaussian")
    assert w.tolist() == pytest.approx([1.0, _gauss(450, 900), 0.0, 0.0, 0.0], abs=1e-12)
    assert _gauss(450, 900) == pytest.approx(0.7014, abs=1e-4)
    flat = decay_weight(np.array([0.0, 900.0, 900.0 + 1e-9, 901.0]), limit_s=900.0, decay="none")
    assert flat.tolist() == [1.0, 1.0, 1.0, 0.0]  # exactly at T (within the tolerance) is inside
    with pytest.raises(ValueError, match="decay must be one of"):
        decay_weight(np.array([1.0]), limit_s=900.0, decay="linear")


def test_travel_fca_two_facilities_by_hand_with_and_without_decay():
    # Points 0, 1, 2 (children 300, 100, 40); facility 0 (25 places) reaches 0 in 720 s, 1 in 900 s; facility 1
    # (10 places) reaches 0 in 420 s, 1 in 240 s, 2 in 0 s; a pair beyond T (point 2 → facility 0) is ignored.
    pairs = {
        "point_idx": np.array([0, 1, 0, 1, 2, 2]),
        "fac_idx": np.array([0, 0, 1, 1, 1, 0]),
        "seconds": np.array([720.0, 900.0, 420.0, 240.0, 0.0, 1140.0]),
    }
    children, places = np.array([300.0, 100.0, 40.0, 7.0]), np.array([25.0, 10.0])
    flat = travel_fca(**pairs, children=children, places=places, limit_s=900.0)
    assert flat.facility_ratio.tolist() == pytest.approx([25 / 400, 10 / 440])
    assert flat.access.tolist() == pytest.approx([85.22727, 85.22727, 22.72727, 0.0], abs=1e-4)
    assert flat.reached.tolist() == [True, True, True, False]
    g = decay_weight(pairs["seconds"], limit_s=900.0, decay="gaussian")
    gauss = travel_fca(**pairs, children=children, places=places, limit_s=900.0, decay="gaussian")
    r_f = 10 / (_gauss(420, 900) * 300 + _gauss(240, 900) * 100 + 40)
    assert g[1] == 0.0 and gauss.facility_ratio.tolist() == pytest.approx([25 / (_gauss(720, 900) * 300), r_f])
    assert gauss.access.tolist() == pytest.approx(
        [1000 * (25 / 300 + _gauss(420, 900) * r_f), 1000 * _gauss(240, 900) * r_f, 1000 * r_f, 0.0]
    )
    assert gauss.access[:3].tolist() == pytest.approx([104.266, 25.854, 28.372], abs=1e-3)
    # Places conserved with either weight.
    for res in (flat, gauss):
        assert float(children @ res.access) == pytest.approx(1000 * 35)


# --- runs on the hand-built network -------------------------------------------------------------------------------


def _fca_access(run) -> dict[str, PointResult]:
    return {r.settlement.name: r for r in PointResult.objects.filter(run=run).select_related("settlement")}


def test_fca_by_travel_time_without_decay(world, second_centre, region_a, network, places, t_b):
    run = execute_run("fca", travel_params(region_a, network, t_b))
    assert run.parameters["travel"]["decay"] == "none" and "radii" not in run.parameters
    rows = _fca_access(run)
    both = 1000 * (25 / 400 + 10 / 440)
    assert rows["A"].access_per_1000 == pytest.approx(both)
    assert rows["B"].access_per_1000 == pytest.approx(both)  # reached from O in exactly T: inside
    assert rows["C"].access_per_1000 == pytest.approx(1000 * 10 / 440)
    assert rows["R1"].access_per_1000 == 0.0 and rows["S"].access_per_1000 == 0.0
    assert (rows["R1"].reachable, rows["S"].reachable) == (True, False)
    assert rows["A"].travel_time_s == pytest.approx(stored_seconds(network, places, "A", "B", "C"), abs=1e-6)
    assert rows["R1"].travel_time_s is None
    s = run.summary
    assert s["access_per_1000"] == pytest.approx(1000 * 35 / 510)
    assert s["children_without_access"] == pytest.approx(70.0)
    assert (s["places"], s["facilities"], s["headline_minutes"]) == (35.0, 2, pytest.approx(t_b / 60))
    nat = ZoneResult.objects.get(run=run, region__isnull=True, district__isnull=True, outside=False)
    assert nat.children == pytest.approx(510.0)
    assert nat.access_per_1000 == pytest.approx(1000 * 35 / 510)
    assert nat.without_access == pytest.approx(70.0)
    reg = ZoneResult.objects.get(run=run, region=region_a, district__isnull=True)
    outside = ZoneResult.objects.get(run=run, outside=True)
    assert reg.without_access + outside.without_access == pytest.approx(70.0)
    notes = [note_text(n) for n in run.notes]
    minutes = f"{t_b / 60:g}"
    assert f"2SFCA catchments are {minutes} min of travel, every facility within them counted in full" in notes
    assert any(f"the catchment is the first threshold, {minutes} min;" in n for n in notes), notes
    assert any(n.startswith("1 settlement with 20 children lies farther than 5000 m") for n in notes)
    assert not any("coverage radii" in n for n in notes)


def test_fca_by_travel_time_with_gaussian_decay(world, second_centre, region_a, network, places, t_b):
    params = travel_params(region_a, network, t_b)
    params["travel"]["decay"] = "gaussian"
    run = execute_run("fca", params)
    assert run.parameters["travel"]["decay"] == "gaussian"
    t = {
        ("A", "H"): stored_seconds(network, places, "O", "A"),
        ("A", "F"): stored_seconds(network, places, "A", "B", "C"),
        ("B", "F"): stored_seconds(network, places, "B", "C"),
    }
    r_h = 25 / (_gauss(t[("A", "H")], t_b) * 300)  # B at exactly T weighs 0 for H
    r_f = 10 / (_gauss(t[("A", "F")], t_b) * 300 + _gauss(t[("B", "F")], t_b) * 100 + 40)
    rows = _fca_access(run)
    assert rows["A"].access_per_1000 == pytest.approx(
        1000 * (_gauss(t[("A", "H")], t_b) * r_h + _gauss(t[("A", "F")], t_b) * r_f)
    )
    assert rows["B"].access_per_1000 == pytest.approx(1000 * _gauss(t[("B", "F")], t_b) * r_f)
    assert rows["C"].access_per_1000 == pytest.approx(1000 * r_f)
    assert [rows[n].access_per_1000 for n in ("A", "B", "C")] == [
        pytest.approx(104.27, abs=0.05),
        pytest.approx(25.85, abs=0.05),
        pytest.approx(28.37, abs=0.05),
    ]
    # B has a facility within T (H at exactly T, F at 4 min): not "without access".
    assert run.summary["children_without_access"] == pytest.approx(70.0)
    assert run.summary["access_per_1000"] == pytest.approx(1000 * 35 / 510)  # places conserved
    assert any("Gaussian distance decay of Dai (2010)" in note_text(n) for n in run.notes)


def _parcel(region, lon: float, lat: float) -> Parcel:
    d = 0.0001
    square = Polygon.from_bbox((lon - d, lat - d, lon + d, lat + d))
    square.srid = 4326
    return Parcel.objects.create(
        region=region,
        geom=MultiPolygon(square, srid=4326),
        declared_area_ha=Decimal("0.1"),
        computed_area_ha=Decimal("0.1"),
        area_srid=32642,
        land_category="settlement",
        right_type="temporary_free",
        status="candidate",
    )


def test_best_sites_by_travel_time_skip_the_candidate_across_the_river(world, region_a, network, places, t_b):
    island = _parcel(region_a, *places["R2"])
    east = _parcel(region_a, *places["C"])
    bank = point_at(places["R1"], 180, 1_500)  # mainland side of the river, 1.5 km from R1's 50 children
    river = _parcel(region_a, *bank)
    assert GEOD.inv(*bank, *places["R1"])[2] == pytest.approx(1_500, abs=1)
    run = execute_run(
        "sites",
        travel_params(region_a, network, t_b)
        | {"sites": {"k": 2, "candidates": "parcels", "kind": "health_centre", "method": "greedy"}},
    )
    assert "radii" not in run.parameters and "decay" not in run.parameters["travel"]
    sites = {r.candidate_ref: r for r in SiteResult.objects.filter(run=run)}
    assert sites[str(island.pk)].selected_order == 1
    assert sites[str(island.pk)].marginal_gain == pytest.approx(50.0)
    assert sites[str(east.pk)].selected_order == 2
    assert sites[str(east.pk)].marginal_gain == pytest.approx(40.0)
    assert sites[str(river.pk)].selected_order is None
    assert sites[str(river.pk)].solo_gain == 0.0
    s = run.summary
    assert s["uncovered_before"] == pytest.approx(110.0)
    assert s["added"] == pytest.approx(90.0)
    assert s["uncovered_after"] == pytest.approx(20.0)
    assert s["certified_ratio"] == pytest.approx(1.0) and s["method"] == "greedy"
    # The same three-number headline as a travel-time coverage run, before the new sites.
    assert (s["children_served"], s["children_over_capacity"], s["children_not_covered"]) == (
        pytest.approx(100.0, abs=1e-6),
        pytest.approx(300.0, abs=1e-6),
        pytest.approx(110.0),
    )
    assert run.inputs["candidates"]["count"] == 3 and run.inputs["candidates"]["not_reachable"] == 0
    notes = [note_text(n) for n in run.notes]
    assert any(
        f"a new site (kind health_centre) covers the settlements whose children reach it within {t_b / 60:g} min" in n
        for n in notes
    ), notes


def test_best_sites_by_travel_time_exact_method_agrees(world, region_a, network, places, t_b):
    for name in ("R2", "C"):
        _parcel(region_a, *places[name])
    _parcel(region_a, *point_at(places["R1"], 180, 1_500))
    run = execute_run(
        "sites",
        travel_params(region_a, network, t_b)
        | {"sites": {"k": 1, "candidates": "parcels", "kind": "health_centre", "method": "exact"}},
    )
    assert run.summary["added"] == pytest.approx(50.0) and run.summary["optimal"] is True


def test_travel_fca_and_sites_pages_and_api(world, second_centre, region_a, network, places, t_b, client, planner):
    fca = execute_run("fca", travel_params(region_a, network, t_b))
    params = travel_params(region_a, network, t_b) | {
        "sites": {"k": 1, "candidates": "parcels", "kind": "health_centre"}
    }
    useless = _parcel(region_a, *world[1].location.coords)  # at H: adds nobody, so no site is chosen
    nothing = execute_run("sites", params)
    assert nothing.summary["selected"] == 0 and nothing.summary["added"] == 0.0
    useless.delete()
    _parcel(region_a, *places["R2"])  # on the island: R1's 50 children (C is F's)
    sites = execute_run("sites", params)
    assert sites.summary["added"] == pytest.approx(50.0)
    client.force_login(planner)
    for run in (fca, nothing, sites):
        response = client.get(f"/en/accessibility/runs/{run.pk}/")
        assert response.status_code == 200
        html = response.content.decode()
        assert 'id="travel-network"' in html and "hand travel" in html
    api = APIClient()
    api.force_authenticate(planner)
    body = api.get(f"/api/v1/accessibility/runs/{fca.pk}/").json()
    assert body["travel"]["decay"] == "none"
    assert body["summary"]["access_per_1000"] == pytest.approx(1000 * 35 / 510)
    assert "decay" not in api.get(f"/api/v1/accessibility/runs/{sites.pk}/").json()["travel"]


# --- parameters and form ------------------------------------------------------------------------------------------


def test_decay_is_stored_for_the_runs_that_compute_2sfca_only(network):
    for kind in ("fca", "roadmap"):
        fca = run_parameters_normalise(kind=kind, raw={"travel": {"network": network.pk, "decay": "gaussian"}})
        assert fca["travel"]["decay"] == "gaussian" and "radii" not in fca
        default = run_parameters_normalise(kind=kind, raw={"travel": {"network": network.pk}})
        assert default["travel"]["decay"] == "none"
    for kind in ("coverage", "sites", "underserved"):
        params = run_parameters_normalise(kind=kind, raw={"travel": {"network": network.pk, "decay": "gaussian"}})
        assert "decay" not in params["travel"] and "radii" not in params
    with pytest.raises(RunParameterError, match=r"^travel\.decay: must be one of none, gaussian"):
        run_parameters_normalise(kind="fca", raw={"travel": {"network": network.pk, "decay": 1}})


@pytest.mark.parametrize(("kind", "decay"), [("fca", "gaussian"), ("sites", "none")])
def test_form_queues_travel_fca_and_sites(network, client, planner, region_a, kind, decay):
    client.force_login(planner)
    data = RUN_FORM | {
        "kind": kind,
        "region": region_a.pk,
        "reach": f"network:{network.pk}",
        "thresholds_min": "20",
        "max_snap_m": 3000,
        "decay": decay,
    }
    assert RunForm(data=data).is_valid()
    resp = client.post("/en/accessibility/", data)
    assert resp.status_code == 302, resp.content.decode()[:2000]
    run = AnalysisRun.objects.get()
    expected = {"network": network.pk, "thresholds_min": [20], "max_snap_m": 3000}
    assert run.parameters["travel"] == expected | ({"decay": decay} if kind == "fca" else {})


@pytest.mark.parametrize("run_kind", ["roadmap", "sites"])
def test_a_run_snaps_its_settlements_to_the_network_once(world, region_a, network, places, t_b, monkeypatch, run_kind):
    """A roadmap run reads the settlements in four passes (coverage and 2SFCA, before and after), a best-sites run
    in its coverage pass and its candidate matrix: the nearest-node search of the five settlements runs once."""
    sizes = []
    snap = RoadGraph.snap

    def counting(self, lon, lat, **kw):
        sizes.append(len(lon))
        return snap(self, lon, lat, **kw)

    monkeypatch.setattr(RoadGraph, "snap", counting)
    _parcel(region_a, *places["R2"])
    params = travel_params(region_a, network, t_b)
    if run_kind == "sites":
        params |= {"sites": {"k": 1, "candidates": "parcels", "kind": "health_centre", "method": "greedy"}}
    else:
        params["facilities"] = {"purpose": "recreation"}
    run = execute_run(run_kind, params)
    assert sizes.count(len(TRAVEL_CHILDREN)) == 1, sizes
    if run_kind == "sites":  # and still the right answer from the pass's snap: the island's 50 children
        assert run.summary["added"] == pytest.approx(50.0)
    else:
        assert run.summary["after"]["access_per_1000"] == pytest.approx(400 * 62.5 / 510)
