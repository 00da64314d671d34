"""Distance coverage with answers known exactly, and a brute-force cross-check."""

import numpy as np
import pytest
from pyproj import Geod, Transformer
from rasterio.transform import from_origin

from layers.analysis.coverage import Facilities, Radius, covered_mask, distance_coverage
from layers.analysis.demand import RasterSpec, Zones, points_demand, raster_demand
from layers.analysis.geodesy import lonlat_to_ecef
from layers.analysis.scaling import zone_factors

GEOD = Geod(ellps="WGS84")


def _facilities(lon, lat, kinds=None, radius=None, capacity=None):
    radius = radius or Radius(1000, 1000)
    kinds = kinds or ["centre"] * len(lon)
    radii = {k: radius for k in set(kinds)} if isinstance(radius, Radius) else radius
    return Facilities(lon=np.array(lon), lat=np.array(lat), kinds=kinds, radii=radii, capacity=capacity)


def test_points_on_the_radius_boundary_are_covered_and_one_centimetre_beyond_are_not():
    flon, flat = 71.43, 51.13
    az = np.array([0.0, 45.0, 90.0, 180.0, 270.0, 300.0])
    r = 5_000.0
    on_lon, on_lat, _ = GEOD.fwd(np.full(6, flon), np.full(6, flat), az, np.full(6, r))
    out_lon, out_lat, _ = GEOD.fwd(np.full(6, flon), np.full(6, flat), az, np.full(6, r + 0.01))
    in_lon, in_lat, _ = GEOD.fwd(np.full(6, flon), np.full(6, flat), az, np.full(6, r - 0.01))
    fac = _facilities([flon], [flat], radius=Radius(r, r))
    for lon, lat, expected in ((on_lon, on_lat, True), (out_lon, out_lat, False), (in_lon, in_lat, True)):
        mask = covered_mask(fac, lonlat_to_ecef(lon, lat), np.zeros(6, bool))
        assert mask.tolist() == [expected] * 6


def test_urban_and_rural_radii_per_kind():
    flon, flat = 69.6, 42.3
    # Two points 3 km east of a health centre: one urban, one rural.
    lon, lat, _ = GEOD.fwd([flon, flon], [flat, flat], [90, 90], [3_000, 3_000])
    radii = {"health": Radius(urban_m=2_000, rural_m=5_000), "art": Radius(urban_m=10_000, rural_m=1_000)}
    fac = Facilities(lon=np.array([flon]), lat=np.array([flat]), kinds=["health"], radii=radii)
    assert covered_mask(fac, lonlat_to_ecef(lon, lat), np.array([True, False])).tolist() == [False, True]
    fac = Facilities(lon=np.array([flon, flon]), lat=np.array([flat, flat]), kinds=["health", "art"], radii=radii)
    assert covered_mask(fac, lonlat_to_ecef(lon, lat), np.array([True, False])).tolist() == [True, True]


def test_utm_raster_known_answer(write_raster):
    """100 m cells in UTM 42N; facility on the centre cell; r = 250 m covers the 21 cells within 2.5 cells."""
    size = 11
    data = np.arange(1, size * size + 1, dtype=np.float32).reshape(size, size)
    x0, y0 = 500_000.0, 5_600_000.0
    path = write_raster("utm.tif", data, crs="EPSG:32642", transform=from_origin(x0, y0, 100, 100))
    cx, cy = x0 + 5.5 * 100, y0 - 5.5 * 100
    flon, flat = Transformer.from_crs(32642, 4326, always_xy=True).transform(cx, cy)
    fac = _facilities([flon], [flat], radius=Radius(250, 250))
    res = distance_coverage(raster_demand(RasterSpec(path=path)), fac, n_zones=0)
    rows, cols = np.mgrid[0:size, 0:size]
    inside = (rows - 5) ** 2 + (cols - 5) ** 2 <= 2.5**2
    assert inside.sum() == 21
    assert res.covered[-1] == pytest.approx(float(data[inside].sum()))
    assert res.children[-1] == pytest.approx(float(data.sum()))
    assert res.locations == size * size


def test_wgs84_raster_matches_independent_geodesic(write_raster):
    """A 0.001° raster at 50° N: cells are ~72 × 111 m; the answer is brute-forced with pyproj.Geod."""
    rng = np.random.default_rng(3)
    data = rng.integers(0, 20, size=(30, 40)).astype(np.float32)
    west, north, d = 70.0, 50.0, 0.001
    path = write_raster("wgs.tif", data, crs="EPSG:4326", transform=from_origin(west, north, d, d))
    flon, flat = 70.0203, 49.9851
    fac = _facilities([flon], [flat], radius=Radius(900, 900))
    res = distance_coverage(raster_demand(RasterSpec(path=path)), fac, n_zones=0)
    rows, cols = np.mgrid[0:30, 0:40]
    lon = west + (cols + 0.5) * d
    lat = north - (rows + 0.5) * d
    dist = GEOD.inv(np.full(lon.size, flon), np.full(lon.size, flat), lon.ravel(), lat.ravel())[2].reshape(lon.shape)
    assert res.covered[-1] == pytest.approx(float(data[dist <= 900].sum()))
    assert 0 < res.covered[-1] < res.children[-1]


def test_nodata_cells_are_skipped_and_bands_are_summed(write_raster):
    nodata = -99999.0
    band_girls = np.array([[1, 2], [nodata, 4]], dtype=np.float32)
    band_boys = np.array([[10, nodata], [nodata, 40]], dtype=np.float32)
    band_adults = np.full((2, 2), 1000, dtype=np.float32)
    path = write_raster(
        "bands.tif",
        np.stack([band_girls, band_boys, band_adults]),
        crs="EPSG:4326",
        transform=from_origin(70, 50, 0.01, 0.01),
        nodata=nodata,
    )
    stats = {}
    chunks = list(raster_demand(RasterSpec(path=path, bands=(1, 2)), stats=stats))
    values = np.concatenate([c.children for c in chunks])
    assert sorted(values.tolist()) == [2.0, 11.0, 44.0]
    assert stats["nodata_cells"] == 1 and stats["cells"] == 4


def test_missing_band_is_a_clear_error(write_raster):
    from layers.analysis.demand import DemandError

    path = write_raster("one.tif", np.ones((2, 2)), crs="EPSG:4326", transform=from_origin(70, 50, 0.01, 0.01))
    with pytest.raises(DemandError, match="bands \\[3\\] do not exist"):
        list(raster_demand(RasterSpec(path=path, bands=(1, 3))))


def test_zones_and_region_total_rescale(write_raster):
    """Two zones (west/east halves); scaling region 1 (= zone 0) to an official 300 children."""
    import shapely

    data = np.full((4, 4), 10.0, dtype=np.float32)  # 80 children per half
    path = write_raster("z.tif", data, crs="EPSG:4326", transform=from_origin(70, 50, 0.01, 0.01))
    zones = Zones(geoms=[shapely.box(70, 49.96, 70.02, 50), shapely.box(70.02, 49.96, 70.04, 50)])
    fac = _facilities([70.005], [49.995], radius=Radius(800, 800))
    res = distance_coverage(raster_demand(RasterSpec(path=path), zones=zones), fac, n_zones=2)
    assert res.children.tolist() == [80.0, 80.0, 0.0]
    factors, report = zone_factors(raw_by_slot=res.children, zone_region=np.array([1, 2]), official_by_region={1: 300})
    assert factors.tolist() == [3.75, 1.0, 1.0]
    assert report[1] == {"raster": 80.0, "official": 300.0, "factor": 3.75}
    assert (res.children * factors)[0] == 300.0
    assert (res.covered * factors)[0] == pytest.approx(res.covered[0] * 3.75)


def test_distance_coverage_matches_brute_force_on_random_data():
    rng = np.random.default_rng(20240101)
    n, m = 3000, 40
    lon = rng.uniform(68.0, 72.0, n)
    lat = rng.uniform(42.0, 45.0, n)
    children = rng.integers(1, 500, n).astype(float)
    population = np.where(rng.random(n) < 0.3, 50_000, 500)
    flon = rng.uniform(68.0, 72.0, m)
    flat = rng.uniform(42.0, 45.0, m)
    kinds = rng.choice(["health", "art"], m).tolist()
    radii = {"health": Radius(15_000, 30_000), "art": Radius(8_000, 20_000)}
    fac = Facilities(lon=flon, lat=flat, kinds=kinds, radii=radii)
    res = distance_coverage(points_demand(lon=lon, lat=lat, children=children, population=population), fac, n_zones=0)

    urban = population >= 10_000
    covered = np.zeros(n, bool)
    nearest = np.full(n, np.inf)
    for j in range(m):
        d = GEOD.inv(np.full(n, flon[j]), np.full(n, flat[j]), lon, lat)[2]
        r = np.where(urban, radii[kinds[j]].urban_m, radii[kinds[j]].rural_m)
        covered |= d <= r
        nearest = np.minimum(nearest, d)
    assert res.covered[-1] == pytest.approx(children[covered].sum())
    assert res.distance_sum[-1] == pytest.approx((children * nearest).sum(), rel=1e-7)
    assert 0 < covered.sum() < n
