"""2SFCA, best-sites selection and hexagon binning on hand-built point sets."""

import itertools

import numpy as np
import pytest
from pyproj import Geod

from layers.analysis.coverage import Facilities, Radius, two_step_fca
from layers.analysis.demand import Zones, points_demand
from layers.analysis.hexbin import HexAccumulator, hex_area_km2, hex_keys, key_polygon
from layers.analysis.siting import GREEDY_BOUND, coverage_matrix, exact_max_cover, greedy_max_cover

GEOD = Geod(ellps="WGS84")


def test_two_step_fca_known_answer():
    """Facility A (100 places) reaches P1 (300) and P2 (100); B (50 places) reaches P2 and P3 (400).

    R_A = 100/400 = 0.25, R_B = 50/500 = 0.1 places per child, so per 1 000 children:
    A1 = 250, A2 = 350, A3 = 100, and P4 (far away) has no access.
    """
    lon0, lat0 = 76.9, 43.25
    # On one east-west line: P1 at 0 km, A at 1 km, P2 at 2 km, B at 3 km, P3 at 4 km, P4 at 40 km.
    east = [0, 1_000, 2_000, 3_000, 4_000, 40_000]
    lon, lat, _ = GEOD.fwd([lon0] * 6, [lat0] * 6, [90] * 6, east)
    fac = Facilities(
        lon=np.array([lon[1], lon[3]]),
        lat=np.array([lat[1], lat[3]]),
        kinds=["c", "c"],
        radii={"c": Radius(1_200, 1_200)},
        capacity=np.array([100.0, 50.0]),
    )
    pts_lon = np.array([lon[0], lon[2], lon[4], lon[5]])
    pts_lat = np.array([lat[0], lat[2], lat[4], lat[5]])
    children = np.array([300.0, 100.0, 400.0, 70.0])

    def chunks():
        return points_demand(lon=pts_lon, lat=pts_lat, children=children, ids=np.array([1, 2, 3, 4]))

    res = two_step_fca(chunks, fac, n_zones=0)
    assert res.facility_demand.tolist() == [400.0, 500.0]
    assert res.point_access == pytest.approx({1: 250.0, 2: 350.0, 3: 100.0, 4: 0.0})
    assert res.without_access[-1] == 70.0
    assert res.weighted_access[-1] == pytest.approx(300 * 250 + 100 * 350 + 400 * 100)


def test_two_step_fca_zone_factor_rescales_demand_exactly():
    import shapely

    lon0, lat0 = 76.9, 43.25
    lon, lat, _ = GEOD.fwd([lon0] * 3, [lat0] * 3, [90] * 3, [0, 500, 1_000])
    fac = Facilities(
        lon=np.array([lon[1]]),
        lat=np.array([lat[1]]),
        kinds=["c"],
        radii={"c": Radius(800, 800)},
        capacity=np.array([60.0]),
    )
    zones = Zones(
        geoms=[shapely.box(lon0 - 1, lat0 - 1, lon[1], lat0 + 1), shapely.box(lon[1], lat0 - 1, lon0 + 1, lat0 + 1)]
    )

    def chunks():
        return points_demand(
            lon=np.array([lon[0], lon[2]]),
            lat=np.array([lat[0], lat[2]]),
            children=np.array([100.0, 100.0]),
            zones=zones,
        )

    res = two_step_fca(chunks, fac, n_zones=2, zone_factor=lambda raw: np.array([2.0, 1.0, 1.0]))
    assert res.facility_demand.tolist() == [300.0]  # 2 × 100 + 1 × 100
    assert res.children.tolist() == [200.0, 100.0, 0.0]
    assert res.weighted_access / np.maximum(res.children, 1) == pytest.approx([200.0, 200.0, 0.0])


def _random_instance(seed, n_c=12, n_d=300):
    rng = np.random.default_rng(seed)
    cand_lon, cand_lat = rng.uniform(70, 71, n_c), rng.uniform(50, 50.6, n_c)
    dem_lon, dem_lat = rng.uniform(70, 71, n_d), rng.uniform(50, 50.6, n_d)
    w = rng.integers(1, 100, n_d).astype(float)
    urban = rng.random(n_d) < 0.2
    m = coverage_matrix(
        cand_lon=cand_lon,
        cand_lat=cand_lat,
        cand_radius_urban=np.full(n_c, 8_000.0),
        cand_radius_rural=np.full(n_c, 12_000.0),
        dem_lon=dem_lon,
        dem_lat=dem_lat,
        dem_urban=urban,
    )
    return m, w, (cand_lon, cand_lat, dem_lon, dem_lat, urban)


def test_coverage_matrix_matches_geodesic_brute_force():
    m, _w, (cl, ca, dl, da, urban) = _random_instance(5)
    dense = m.toarray() > 0
    for j in range(len(cl)):
        d = GEOD.inv(np.full(len(dl), cl[j]), np.full(len(dl), ca[j]), dl, da)[2]
        assert (dense[j] == (d <= np.where(urban, 8_000, 12_000))).all()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_greedy_reaches_its_bound_and_exact_is_optimal(seed):
    m, w, _ = _random_instance(seed)
    k = 3
    best = max(float(w[(m[list(c)].sum(axis=0).A1 > 0)].sum()) for c in itertools.combinations(range(m.shape[0]), k))
    greedy = greedy_max_cover(m, w, k=k)
    assert greedy.objective >= GREEDY_BOUND * best - 1e-9
    assert greedy.upper_bound >= best - 1e-9
    assert greedy.objective == pytest.approx(float(w[(m[greedy.selected].sum(axis=0).A1 > 0)].sum()))
    exact = exact_max_cover(m, w, k=k)
    assert exact.optimal and exact.objective == pytest.approx(best)
    assert sorted(exact.marginal_gain, reverse=True) == exact.marginal_gain


def test_greedy_picks_the_complementary_site():
    """Sites: A covers {1,2,3}, B covers {1,2}, C covers {4}. With k=2 greedy takes A then C."""
    from scipy import sparse

    m = sparse.csr_matrix(np.array([[1, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 1]], dtype=float))
    w = np.array([10.0, 10.0, 1.0, 5.0])
    res = greedy_max_cover(m, w, k=2)
    assert res.selected == [0, 2] and res.marginal_gain == [21.0, 5.0] and res.objective == 26.0
    assert res.solo_gain.tolist() == [21.0, 20.0, 5.0]


def test_hexagons_sum_weights_and_contain_their_points():
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(70, 72, 5000), rng.uniform(50, 51, 5000)
    acc = HexAccumulator(size_m=10_000, names=("children",))
    acc.add(lon[:2500], lat[:2500], children=np.ones(2500))
    acc.add(lon[2500:], lat[2500:], children=np.ones(2500))
    keys, sums = acc.totals()
    assert sums.sum() == 5000 and len(np.unique(keys)) == len(keys)
    import shapely

    own = hex_keys(lon[:50], lat[:50], size_m=10_000)
    for x, y, key in zip(lon[:50], lat[:50], own, strict=True):
        assert key_polygon(int(key), size_m=10_000).contains(shapely.Point(x, y))
    assert hex_area_km2(10_000) == pytest.approx(259.8, rel=1e-3)
