"""Reads of road networks: the graph as numpy arrays (for the in-memory travel-time engine) and pgRouting costs.

Vertex ids are RoadVertex ids (= pgRouting's vertex ids); coordinates EPSG:4326 degrees; times seconds;
lengths metres on the WGS 84 spheroid; speeds km/h.
"""

from __future__ import annotations

import numpy as np
import shapely
from django.db import connection
from django.db.models import Max
from psycopg import sql

from roads.models import RoadBarrier, RoadEdge, RoadNetwork, RoadSpeed, RoadVertex
from roads.services import edges_sql, pgrouting_check


def road_graph_arrays(*, network: RoadNetwork) -> dict:
    """The network as plain arrays, in three queries (vertices, edges, off-network speed).

    Keys:
    - node_id (int64, ascending), node_lon, node_lat (float64, EPSG:4326);
    - edge_source, edge_target (int64 vertex ids, in node_id), edge_cost_s, edge_reverse_cost_s (float64
      seconds; np.inf where that direction is closed: reverse of a one-way road), edge_length_m (float64),
      ordered by edge id;
    - off_network_kmh (float): the speed table's off-network speed (nan when the table has none).
    Every piece of the network is included (islands too: RoadEdge.component says which).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("select id, st_x(geom), st_y(geom) from {t} where network_id = %s order by id").format(
                t=sql.Identifier(RoadVertex._meta.db_table)
            ),
            [network.pk],
        )
        nodes = cursor.fetchall()
        cursor.execute(
            sql.SQL(
                "select source, target, cost_s, coalesce(reverse_cost_s, 'infinity'::float8), length_m "
                "from {t} where network_id = %s order by id"
            ).format(t=sql.Identifier(RoadEdge._meta.db_table)),
            [network.pk],
        )
        edges = cursor.fetchall()
    off = off_network_speed_kmh()
    node_ids = np.array([row[0] for row in nodes], dtype=np.int64)
    node_xy = np.array([row[1:] for row in nodes], dtype=np.float64).reshape(-1, 2)
    edge_ids = np.array([row[:2] for row in edges], dtype=np.int64).reshape(-1, 2)
    edge_values = np.array([row[2:] for row in edges], dtype=np.float64).reshape(-1, 3)
    return {
        "node_id": node_ids,
        "node_lon": np.ascontiguousarray(node_xy[:, 0]),
        "node_lat": np.ascontiguousarray(node_xy[:, 1]),
        "edge_source": np.ascontiguousarray(edge_ids[:, 0]),
        "edge_target": np.ascontiguousarray(edge_ids[:, 1]),
        "edge_cost_s": np.ascontiguousarray(edge_values[:, 0]),
        "edge_reverse_cost_s": np.ascontiguousarray(edge_values[:, 1]),
        "edge_length_m": np.ascontiguousarray(edge_values[:, 2]),
        "off_network_kmh": off,
    }


def off_network_speed_kmh() -> float:
    """The speed table's off-network speed, km/h (nan when the table has none)."""
    off = RoadSpeed.objects.filter(kind=RoadSpeed.Kind.OFF_NETWORK).values_list("speed_kmh", flat=True).first()
    return float(off) if off is not None else float("nan")


def road_fastest_kmh(*, network: RoadNetwork) -> float | None:
    """The highest speed used on any edge of the network, km/h (None for a network without edges)."""
    return RoadEdge.objects.filter(network=network).aggregate(v=Max("speed_kmh"))["v"]


def road_edge_speeds(*, network: RoadNetwork, bounds: tuple[float, float, float, float]) -> list[tuple[object, float]]:
    """(line geometry, speed km/h) of the network's edges whose box meets lon/lat `bounds` (west, south, east,
    north; EPSG:4326): what a friction raster burns in (layers.analysis.friction). Geometries are shapely,
    EPSG:4326; speeds are those the loader used for the edge's cost (class, surface, speed limit)."""
    west, south, east, north = (float(v) for v in bounds)
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "select st_asbinary(geom), speed_kmh from {t} "
                "where network_id = %s and geom && st_makeenvelope(%s, %s, %s, %s, 4326) order by id"
            ).format(t=sql.Identifier(RoadEdge._meta.db_table)),
            [network.pk, west, south, east, north],
        )
        return [(shapely.from_wkb(bytes(wkb)), float(speed)) for wkb, speed in cursor.fetchall()]


def road_barriers_in(*, network: RoadNetwork, bounds: tuple[float, float, float, float]) -> list[tuple[object, str]]:
    """(geometry, kind) of the network's barriers whose box meets lon/lat `bounds` (west, south, east, north;
    EPSG:4326): what a friction raster makes impassable (layers.analysis.friction). Geometries are shapely
    MultiPolygons or MultiLineStrings in EPSG:4326, clipped to the bounds' box (ST_ClipByBox2D: a national lake
    or border is cut to the grid rather than projected whole; the clip may be invalid, which rasterizing does
    not mind); empty clips are left out."""
    west, south, east, north = (float(v) for v in bounds)
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "select * from (select st_asbinary(st_clipbybox2d(coalesce(area, line), b.box)) as wkb, kind, id "
                "from {t}, (select st_makeenvelope(%s, %s, %s, %s, 4326) as box) b "
                "where network_id = %s and (area && b.box or line && b.box)) c "
                "where not st_isempty(st_geomfromwkb(wkb)) order by id"
            ).format(t=sql.Identifier(RoadBarrier._meta.db_table)),
            [west, south, east, north, network.pk],
        )
        return [(shapely.from_wkb(bytes(wkb)), kind) for wkb, kind, _id in cursor.fetchall()]


def road_route_seconds(*, network: RoadNetwork, source_vertex: int, target_vertices: list[int]) -> dict[int, float]:
    """{target vertex: least travel time in seconds from `source_vertex`} by pgRouting's pgr_dijkstraCost
    (directed: one-way roads respected). Unreachable targets are absent; the source itself maps to 0."""
    pgrouting_check()
    targets = [int(t) for t in target_vertices]
    if not targets:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "select end_vid, agg_cost from pgr_dijkstraCost(%s, %s::bigint, %s::bigint[], directed => true)",
            [edges_sql(network.pk), int(source_vertex), targets],
        )
        found = {int(end): float(cost) for end, cost in cursor.fetchall()}
    if int(source_vertex) in targets:
        found[int(source_vertex)] = 0.0
    return found
