"""Isochrone polygons (layers.analysis.isochrones) on hand-built roads with known speeds: extents in metres
by pyproj.Geod, one-way roads, nesting, the exact threshold. No database needed."""

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point

from layers.analysis.isochrones import _hulls, isochrone_polygons, utm_crs
from layers.analysis.travel import RoadGraph

GEOD = Geod(ellps="WGS84")
ROAD_KMH, OFF_KMH = 60.0, 5.0
TOL_M = 5.0
# A straight road along 45° N: 41 nodes 0.02° (~1.57 km) apart, the facility on the middle node.
LON = 70.0 + np.arange(41) * 0.02
LAT = np.full(41, 45.0)
MID = 20
FAC = np.array([[LON[MID], LAT[MID]]])


def _road(*, one_way: bool = False, max_snap_m: float = 10_000.0) -> RoadGraph:
    metres = GEOD.inv(LON[:-1], LAT[:-1], LON[1:], LAT[1:])[2]
    cost = metres / (ROAD_KMH / 3.6)
    ids = np.arange(41) * 2 + 1
    return RoadGraph.from_arrays(
        node_id=ids,
        node_lon=LON,
        node_lat=LAT,
        edge_source=ids[:-1],
        edge_target=ids[1:],
        edge_cost_s=cost,
        edge_reverse_cost_s=np.full(cost.size, np.inf) if one_way else cost,
        off_network_kmh=OFF_KMH,
        max_snap_m=max_snap_m,
    )


def _along(metres_east: float, metres_north: float = 0.0) -> Point:
    """The point `metres_east` along the road (east of the facility; negative: west), then `metres_north` north."""
    lon, lat, _az = GEOD.fwd(LON[MID], LAT[MID], 90.0 if metres_east >= 0 else 270.0, abs(metres_east))
    if metres_north:
        lon, lat, _az = GEOD.fwd(lon, lat, 0.0, metres_north)
    return Point(lon, lat)


def _extent_m(poly) -> tuple[float, float, float]:
    """Metres from the facility to the polygon's east, west and north bounds (along 45° N / the meridian)."""
    west, _south, east, north = poly.bounds
    return (
        GEOD.inv(LON[MID], LAT[MID], east, LAT[MID])[2],
        GEOD.inv(LON[MID], LAT[MID], west, LAT[MID])[2],
        GEOD.inv(LON[MID], LAT[MID], LON[MID], north)[2],
    )


def _slack(radius_m: float) -> float:
    """What the polygon may overstate: the padding, the simplification and the arcs' vertices (2.5 × tolerance),
    UTM's scale near the central meridian and the 64-vertex arcs (0.13 % of a radius), a centimetre of rounding."""
    return 2.5 * TOL_M + 0.0013 * radius_m + 0.01


def test_extent_along_a_straight_road_is_speed_times_time_plus_the_walk():
    t = 600.0
    (poly,) = isochrone_polygons(_road(), FAC, [t], tolerance_m=TOL_M)[0]
    assert poly.geom_type == "Polygon" and poly.is_valid
    road_m = ROAD_KMH / 3.6 * t  # 10 km: the end of the reach falls inside an edge (interpolated)
    walk_m = OFF_KMH / 3.6 * t  # 833 m: at the facility itself all the time is left for the walk
    east, west, north = _extent_m(poly)
    for reach in (east, west):
        assert road_m <= reach <= road_m + _slack(TOL_M)
    assert walk_m <= north <= walk_m + _slack(walk_m)
    # Inside and outside the reach, on the road and beside it: 5 km out, 300 s are left: 417 m of walking.
    assert poly.contains(_along(9_900)) and poly.contains(_along(-9_900))
    assert not poly.intersects(_along(10_100)) and not poly.intersects(_along(-10_100))
    assert poly.contains(_along(5_000, 400)) and not poly.intersects(_along(5_000, 440))


def test_the_walk_is_capped_by_the_maximum_snap_distance():
    t = 1200.0  # 1 667 m of walking at the facility, capped at 500 m
    (poly,) = isochrone_polygons(_road(max_snap_m=500.0), FAC, [t], tolerance_m=TOL_M)[0]
    east, _west, north = _extent_m(poly)
    assert 500.0 <= north <= 500.0 + _slack(500.0)
    assert ROAD_KMH / 3.6 * t <= east <= ROAD_KMH / 3.6 * t + _slack(TOL_M)


def test_one_way_road_reaches_the_facility_from_one_side_only():
    # The road drives west → east only: homes west of the facility drive to it; homes east of it can only walk.
    t = 600.0
    (poly,) = isochrone_polygons(_road(one_way=True), FAC, [t], tolerance_m=TOL_M)[0]
    east, west, _north = _extent_m(poly)
    road_m, walk_m = ROAD_KMH / 3.6 * t, OFF_KMH / 3.6 * t
    assert road_m <= west <= road_m + _slack(TOL_M)
    assert walk_m <= east <= walk_m + _slack(walk_m)
    assert poly.contains(_along(-9_000)) and not poly.intersects(_along(1_000))


def _grid_graph(rng) -> tuple[RoadGraph, np.ndarray, np.ndarray]:
    side = 8
    lon = 70.0 + np.tile(np.arange(side), side) * 0.01 + rng.uniform(0, 0.003, side * side)
    lat = 45.0 + np.repeat(np.arange(side), side) * 0.01 + rng.uniform(0, 0.003, side * side)
    ids = np.arange(side * side).reshape(side, side)
    src = np.concatenate([ids[:, :-1].ravel(), ids[:-1, :].ravel()])
    tgt = np.concatenate([ids[:, 1:].ravel(), ids[1:, :].ravel()])
    cost = rng.uniform(30, 120, src.size)
    rcost = np.where(rng.random(src.size) < 0.2, np.inf, cost)
    g = RoadGraph.from_arrays(
        node_id=ids.ravel(),
        node_lon=lon,
        node_lat=lat,
        edge_source=src,
        edge_target=tgt,
        edge_cost_s=cost,
        edge_reverse_cost_s=rcost,
        off_network_kmh=OFF_KMH,
        max_snap_m=2_000.0,
    )
    return g, lon, lat


def test_nested_thresholds_give_nested_polygons_in_the_order_asked():
    g, lon, lat = _grid_graph(np.random.default_rng(4))
    fac = np.array([[lon[27], lat[27]], [lon[0] + 0.001, lat[0]]])
    thresholds = [600.0, 150.0, 1200.0, 300.0]
    polys = isochrone_polygons(g, fac, thresholds, tolerance_m=TOL_M)
    assert polys.shape == (2, 4)
    for row in polys:
        by_time = [row[i] for i in np.argsort(thresholds)]
        for small, big in zip(by_time, by_time[1:], strict=False):
            assert small.difference(big).area <= 1e-15  # degrees²: nothing of the smaller outside the larger
            assert big.area > small.area
        assert all(p.is_valid and p.geom_type in ("Polygon", "MultiPolygon") for p in row)


def test_node_reached_in_exactly_the_threshold_is_included():
    # Three stretches of exactly 300 s: node 2 is reached in exactly 600 s, node 3 in 900 s.
    lon = np.array([70.00, 70.01, 70.02, 70.03])
    lat = np.full(4, 45.0)
    g = RoadGraph.from_arrays(
        node_id=np.arange(4),
        node_lon=lon,
        node_lat=lat,
        edge_source=np.array([0, 1, 2]),
        edge_target=np.array([1, 2, 3]),
        edge_cost_s=np.full(3, 300.0),
        edge_reverse_cost_s=np.full(3, 300.0),
        off_network_kmh=OFF_KMH,
        max_snap_m=1_000.0,
    )
    (poly,) = isochrone_polygons(g, np.array([[lon[0], lat[0]]]), [600.0], tolerance_m=1.0)[0]
    assert poly.covers(Point(lon[2], lat[2]))
    # 30 m beyond node 2 (6 % of a second further by road; no time left to walk): outside.
    beyond = GEOD.fwd(lon[2], lat[2], 90.0, 30.0)[:2]
    assert not poly.intersects(Point(*beyond))
    assert not poly.intersects(Point(lon[3], lat[3]))


def test_facility_off_the_network_gets_its_walking_disc():
    # 0.2° north of the road (~22 km), beyond max_snap_m: only the straight walk, capped at max_snap_m.
    far = np.array([[LON[MID], 45.2]])
    (poly,) = isochrone_polygons(_road(max_snap_m=10_000.0), far, [1800.0], tolerance_m=TOL_M)[0]
    radius = OFF_KMH / 3.6 * 1800.0  # 2.5 km
    _w, south, _e, north = poly.bounds
    height = GEOD.inv(LON[MID], south, LON[MID], north)[2]
    assert 2 * radius <= height <= 2 * (radius + _slack(radius))


def test_utm_zone_and_bad_input():
    assert utm_crs(70.5, 45.0) == "EPSG:32642" and utm_crs(-0.5, -10.0) == "EPSG:32730"
    g = _road()
    with pytest.raises(ValueError, match="thresholds_s"):
        isochrone_polygons(g, FAC, [])
    with pytest.raises(ValueError, match="thresholds_s"):
        isochrone_polygons(g, FAC, [-1.0])
    with pytest.raises(ValueError, match="tolerance_m"):
        isochrone_polygons(g, FAC, [60.0], tolerance_m=0)
    assert isochrone_polygons(g, np.empty((0, 2)), [60.0]).shape == (0, 1)
    # Another metric CRS gives the same polygon up to the tolerance.
    (utm,) = isochrone_polygons(g, FAC, [600.0], tolerance_m=TOL_M)[0]
    lcc = "+proj=lcc +lat_1=43 +lat_2=53 +lat_0=48 +lon_0=67 +ellps=WGS84 +units=m"
    (other,) = isochrone_polygons(g, FAC, [600.0], tolerance_m=TOL_M, crs=lcc)[0]
    assert shapely.symmetric_difference(utm, other).area <= 0.02 * utm.area


def test_disc_hulls_contain_the_true_hull_and_overstate_it_by_at_most_half_the_tolerance():
    rng = np.random.default_rng(11)
    m = 300
    c1, c2 = rng.uniform(0, 5_000, (m, 2)), rng.uniform(0, 5_000, (m, 2))
    r1, r2 = rng.uniform(1, 3_000, m), rng.uniform(1, 3_000, m)
    c2[:20] = c1[:20]  # concentric pairs, and pairs with one disc inside the other
    c2[20:40] = c1[20:40] + 1.0
    tol = 10.0
    got = _hulls(c1, r1, c2, r2, tol)
    # Reference: the hull of finely drawn discs (4 096-gons, inside the true discs by < 0.3 mm per km).
    fine = shapely.convex_hull(
        shapely.union(
            shapely.buffer(shapely.points(c1), r1, quad_segs=1024),
            shapely.buffer(shapely.points(c2), r2, quad_segs=1024),
        )
    )
    assert shapely.is_valid(got).all()
    # Contains it (the fine polygons' vertices may touch ours where our edges are tangent: compare areas).
    assert (shapely.area(shapely.difference(fine, got)) <= 1e-6).all()
    assert (shapely.hausdorff_distance(got, fine) <= tol / 2 + 0.01).all()  # radii ≤ 3 km: within 64 vertices
