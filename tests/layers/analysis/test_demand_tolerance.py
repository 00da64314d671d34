"""Demand just outside every zone goes to the nearest zone within the tolerance (metres), unless a district that
is not a zone of the run is nearer; points farther out stay outside (hand-built boxes, no database)."""

import numpy as np
import shapely
from pyproj import Geod
from rasterio.transform import from_origin

from layers.analysis.demand import DISTRICT_TOLERANCE_M, NO_ZONE, RasterSpec, Zones, points_demand, raster_demand

GEOD = Geod(ellps="WGS84")
LAT = 50.05
# Zone A: 70.00–70.10° E; B (a district of another region, not a zone of the run): 70.12–70.22° E, a 1.43 km gap.
A = shapely.box(70.0, 50.0, 70.1, 50.1)
B = shapely.box(70.12, 50.0, 70.22, 50.1)


def _east_of(lon: float, metres: float) -> float:
    return float(GEOD.fwd(lon, LAT, 90 if metres > 0 else 270, abs(metres))[0])


def test_points_go_to_the_nearest_zone_within_the_tolerance():
    lon = np.array(
        [
            70.05,  # inside A
            _east_of(70.0, -2_000),  # 2 km west of A: assigned to A
            _east_of(70.0, -DISTRICT_TOLERANCE_M - 100),  # beyond the tolerance: outside
            _east_of(70.1, 400),  # in the gap, nearer to A (1.03 km to B): A
            _east_of(70.1, 1_000),  # in the gap, nearer to B (0.43 km): not the run's, outside
            _east_of(70.22, 2_000),  # 2 km east of B: B is the nearest, outside
        ]
    )
    lat = np.full(lon.size, LAT)
    (chunk,) = points_demand(lon=lon, lat=lat, children=np.arange(1.0, 7.0), zones=Zones(geoms=[A], others=[B]))
    assert chunk.zone.tolist() == [0, 0, NO_ZONE, 0, NO_ZONE, NO_ZONE]
    assert chunk.snapped.tolist() == [False, True, False, True, False, False]
    # Without the other district, the point 1 km east of A is within the tolerance of A.
    (alone,) = points_demand(lon=lon, lat=lat, children=np.ones(6), zones=Zones(geoms=[A]))
    assert alone.zone.tolist() == [0, 0, NO_ZONE, 0, 0, NO_ZONE]


def test_zero_tolerance_keeps_the_outlines():
    (chunk,) = points_demand(
        lon=np.array([_east_of(70.0, -10.0)]),
        lat=np.array([LAT]),
        children=np.ones(1),
        zones=Zones(geoms=[A], tolerance_m=0.0),
    )
    assert chunk.zone.tolist() == [NO_ZONE] and not chunk.snapped.any()


def test_raster_cells_go_to_the_nearest_zone_within_the_tolerance(write_raster):
    """Cells of 0.01° from 69.90° to 70.05° E, 50.00–50.10° N, one child each; zone A starts at 70.00° E. A cell
    west of A belongs to A when its centre is within the tolerance of A's west edge (geodesic, pyproj.Geod)."""
    path = write_raster(
        "edge.tif", np.ones((10, 15), dtype=np.float32), crs="EPSG:4326", transform=from_origin(69.9, 50.1, 0.01, 0.01)
    )
    chunks = list(raster_demand(RasterSpec(path=path), zones=Zones(geoms=[A])))
    zone = np.concatenate([c.zone for c in chunks])
    snapped = np.concatenate([c.snapped for c in chunks])
    lon = np.concatenate([c.lon for c in chunks])
    lat = np.concatenate([c.lat for c in chunks])
    west = lon < 70.0
    distance = GEOD.inv(lon[west], lat[west], np.full(west.sum(), 70.0), lat[west])[2]
    expected = np.zeros(lon.size, dtype=np.int32)
    expected[west] = np.where(distance <= DISTRICT_TOLERANCE_M, 0, NO_ZONE)
    assert (zone == expected).all()
    assert (snapped == (west & (expected == 0))).all()
    assert int(snapped.sum()) == 70 and int((zone == NO_ZONE).sum()) == 30  # 7 columns within 5 km, 3 beyond
