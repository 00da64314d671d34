import numpy as np
from pyproj import Geod

from layers.analysis.geodesy import chord_to_metres, lonlat_to_ecef, metres_to_chord

GEOD = Geod(ellps="WGS84")


def _ecef_distance(lon1, lat1, lon2, lat2):
    a = lonlat_to_ecef(np.atleast_1d(lon1), np.atleast_1d(lat1))
    b = lonlat_to_ecef(np.atleast_1d(lon2), np.atleast_1d(lat2))
    return chord_to_metres(np.linalg.norm(a - b, axis=1))


def test_chord_matches_ellipsoidal_geodesic_over_kazakhstan():
    rng = np.random.default_rng(7)
    lon1 = rng.uniform(46, 87, 2000)
    lat1 = rng.uniform(40.5, 55.5, 2000)
    az = rng.uniform(0, 360, 2000)
    for dist, tol in ((10_000.0, 1e-3), (100_000.0, 0.05)):
        lon2, lat2, _ = GEOD.fwd(lon1, lat1, az, np.full(2000, dist))
        got = _ecef_distance(lon1, lat1, lon2, lat2)
        assert np.max(np.abs(got - dist)) < tol


def test_chord_and_metres_are_inverse():
    m = np.array([0.0, 1.0, 5_000.0, 250_000.0])
    assert np.allclose(chord_to_metres(metres_to_chord(m)), m, atol=1e-6)
    assert chord_to_metres(np.inf) == np.inf


def test_degrees_are_not_metres():
    """One degree of longitude at 50° N is ~71.7 km, not 111 km: the code measures metres."""
    got = float(_ecef_distance(70.0, 50.0, 71.0, 50.0)[0])
    expected = GEOD.inv(70.0, 50.0, 71.0, 50.0)[2]
    assert abs(got - expected) < 0.5
    assert 71_000 < got < 72_000


def test_grid_ecef_equals_point_ecef():
    from layers.analysis.geodesy import grid_ecef

    lon_of_col = np.linspace(46.5, 87.3, 50)
    lat_of_row = np.linspace(55.4, 40.6, 30)
    rng = np.random.default_rng(1)
    rows, cols = rng.integers(0, 30, 500), rng.integers(0, 50, 500)
    got = grid_ecef(lon_of_col=lon_of_col, lat_of_row=lat_of_row, rows=rows, cols=cols)
    assert np.allclose(got, lonlat_to_ecef(lon_of_col[cols], lat_of_row[rows]), rtol=0, atol=1e-6)
