"""Loading road networks (roads.services.road_network_load, manage.py load_roads) on hand-built files.

Expected times are computed here from pyproj's geodesic lengths and the default speed table
(roads/data/default_speeds.yaml): primary 80, trunk 90, secondary 70 capped by maxspeed 50,
tertiary 60 capped by the unpaved surface at 40, residential 30 (gravel's cap 60 does not lower it).
"""

from __future__ import annotations

import io
import subprocess
from datetime import date

import numpy as np
import pytest
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from roads.models import RoadEdge, RoadNetwork, RoadSpeed, RoadVertex
from roads.selectors import road_graph_arrays, road_route_seconds
from roads.services import RoadLoadError, road_network_load, road_speeds_load_defaults
from tests.roads.conftest import (
    ISLAND,
    A,
    B,
    C,
    D,
    E,
    F,
    geojson_write,
    hand_features,
    length_m,
    line,
    seconds,
)

pytestmark = pytest.mark.django_db

L1A = seconds(length_m(A, B), 80)
L1B = seconds(length_m(B, C), 80)
L2 = seconds(length_m(B, D), 90)
L3 = seconds(length_m(D, C), 50)
L4 = seconds(length_m(E, F), 40)
L5 = seconds(length_m(F, D), 30)


def hand_features_trunk() -> list[dict]:
    """The hand network with L2 (B → D, one-way) a trunk road: faster than the way round through C."""
    features = hand_features()
    features[1]["properties"]["highway"] = "trunk"
    return features


def vertex_at(network: RoadNetwork, lonlat: tuple[float, float]) -> int:
    point = Point(*lonlat, srid=4326)
    vertex = RoadVertex.objects.filter(network=network).annotate(d=Distance("geom", point)).order_by("d").first()
    assert vertex.geom.distance(point) < 1e-6, (vertex.geom, lonlat)
    return vertex.pk


@pytest.fixture
def hand_network(tmp_path) -> RoadNetwork:
    path = geojson_write(tmp_path / "hand.geojson", hand_features_trunk())
    return road_network_load(
        path=path, name="hand", label="summer", source_description="drawn by the test", source_date=date(2026, 6, 1)
    )


def test_hand_network_topology_costs_and_report(hand_network):
    network = hand_network
    assert (network.edge_count, network.vertex_count) == (7, 8)
    assert RoadEdge.objects.filter(network=network).count() == 7
    assert network.label == "summer" and network.source_date == date(2026, 6, 1)
    assert network.source_file == "hand.geojson" and network.source_description == "drawn by the test"
    report = network.report
    assert report["dropped"] == {
        "empty": 1,
        "invalid": 1,
        "no_speed_for_class": 1,
        "not_a_line": 1,
        "zero_length": 1,
    }
    assert report["classes_without_speed"] == {"bridleway": 1}
    # The island: one piece apart from the main one, with its single edge.
    components = report["components"]
    assert (components["count"], components["islands"], components["island_edges"]) == (2, 1, 1)
    island = RoadEdge.objects.get(network=network, road_class="unclassified")
    assert island.component != network.main_component
    assert RoadEdge.objects.filter(network=network, component=network.main_component).count() == 6

    speeds = dict(RoadEdge.objects.filter(network=network).values_list("road_class", "speed_kmh"))
    assert speeds == {
        "primary": 80,
        "trunk": 90,
        "secondary": 50,
        "tertiary": 40,
        "residential": 30,
        "unclassified": 50,
    }
    trunk = RoadEdge.objects.get(network=network, road_class="trunk")
    assert trunk.oneway and trunk.reverse_cost_s is None
    assert trunk.length_m == pytest.approx(length_m(B, D), rel=1e-6)
    assert trunk.cost_s == pytest.approx(L2, rel=1e-6)
    secondary = RoadEdge.objects.get(network=network, road_class="secondary")
    assert secondary.maxspeed_kmh == 50 and secondary.reverse_cost_s == pytest.approx(L3, rel=1e-6)


def test_hand_network_routes_one_way_bridge_island(hand_network):
    network = hand_network
    a, b, c, d, e = (vertex_at(network, p) for p in (A, B, C, D, E))
    island = vertex_at(network, ISLAND[0])
    times = road_route_seconds(network=network, source_vertex=a, target_vertices=[a, b, c, d, e, island])
    # A → E: to D (B → D on the trunk, faster than round by C), then F, then back south over the bridge L4.
    assert min(L1A + L2, L1A + L1B + L3) == L1A + L2
    assert times[e] == pytest.approx(L1A + L2 + L5 + L4, abs=1e-6)
    assert times[b] == pytest.approx(L1A, abs=1e-6) and times[c] == pytest.approx(L1A + L1B, abs=1e-6)
    assert times[a] == 0.0
    # The island is not reachable from the main part.
    assert island not in times
    # One-way: D → B cannot take the trunk backwards; it goes round by C.
    back = road_route_seconds(network=network, source_vertex=d, target_vertices=[b])
    assert back[b] == pytest.approx(L3 + L1B, abs=1e-6)
    assert road_route_seconds(network=network, source_vertex=b, target_vertices=[d])[d] == pytest.approx(L2, abs=1e-6)


def test_graph_arrays(hand_network, django_assert_num_queries):
    with django_assert_num_queries(3):
        g = road_graph_arrays(network=hand_network)
    assert g["node_id"].dtype == np.int64 and g["node_id"].shape == (8,)
    assert np.all(np.diff(g["node_id"]) > 0)
    for key in ("node_lon", "node_lat", "edge_cost_s", "edge_reverse_cost_s", "edge_length_m"):
        assert g[key].dtype == np.float64, key
    assert g["edge_source"].dtype == np.int64 and g["edge_source"].shape == (7,)
    assert set(g["edge_source"]) | set(g["edge_target"]) <= set(g["node_id"])
    closed = np.isinf(g["edge_reverse_cost_s"])
    assert closed.sum() == 1  # the one-way trunk
    assert g["edge_cost_s"][closed][0] == pytest.approx(L2, rel=1e-6)
    assert g["off_network_kmh"] == RoadSpeed.objects.get(kind="off_network").speed_kmh == 5
    i = int(np.flatnonzero(g["node_id"] == vertex_at(hand_network, E))[0])
    assert (g["node_lon"][i], g["node_lat"][i]) == pytest.approx(E, abs=1e-7)


def test_bridge_would_connect_if_the_lines_shared_a_vertex(tmp_path):
    """Control for the bridge: with the crossing point written into both lines, A → E takes the short way."""
    x = (71.405, 51.10)
    features = hand_features_trunk()
    features[0]["geometry"]["coordinates"] = [A, x, B, C]
    features[3]["geometry"]["coordinates"] = [E, x, F]
    network = road_network_load(path=geojson_write(tmp_path / "noded.geojson", features), name="noded")
    a, e = vertex_at(network, A), vertex_at(network, E)
    short = seconds(length_m(A, x), 80) + seconds(length_m(x, E), 40)
    assert road_route_seconds(network=network, source_vertex=a, target_vertices=[e])[e] == pytest.approx(
        short, abs=1e-6
    )


def test_same_network_from_utm_geopackage(hand_network, tmp_path):
    out = tmp_path / "hand_utm.gpkg"
    src = geojson_write(tmp_path / "trunk.geojson", hand_features_trunk())
    subprocess.run(  # noqa: S603
        ["ogr2ogr", "-q", "-f", "GPKG", "-t_srs", "EPSG:32642", str(out), str(src), "-nln", "roads"],  # noqa: S607
        check=True,
    )
    utm = road_network_load(path=out, name="hand utm", label="summer")
    assert utm.report["srid"] == 32642
    assert (utm.edge_count, utm.vertex_count) == (7, 8)
    a, e = vertex_at(utm, A), vertex_at(utm, E)
    times = road_route_seconds(network=utm, source_vertex=a, target_vertices=[e])
    assert times[e] == pytest.approx(L1A + L2 + L5 + L4, abs=1e-3)  # coordinates round-tripped through UTM


def test_line_layer_fields_named_by_the_user(tmp_path):
    features = [
        line([A, B], kind="primary", lim=40, dir="yes", cover="asphalt"),
        line([B, C], kind="track", lim=None, dir="-1", cover="sand"),
    ]
    path = geojson_write(tmp_path / "custom.geojson", features)
    network = road_network_load(
        path=path, name="custom", class_field="kind", speed_field="lim", oneway_field="dir", surface_field="cover"
    )
    first = RoadEdge.objects.get(network=network, road_class="primary")
    assert (first.speed_kmh, first.oneway, first.surface) == (40, True, "asphalt")
    track = RoadEdge.objects.get(network=network, road_class="track")
    # -1: one-way against the drawing direction, stored reversed (C → B); sand caps the track at 15.
    assert track.oneway and track.speed_kmh == 15
    assert track.geom.coords[0] == pytest.approx(C, abs=1e-7)
    assert track.cost_s == pytest.approx(seconds(length_m(B, C), 15), rel=1e-6)


OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="gis_portal test">
 <node id="1" lat="51.10" lon="71.40"/>
 <node id="2" lat="51.10" lon="71.41"/>
 <node id="3" lat="51.10" lon="71.42"/>
 <node id="4" lat="51.11" lon="71.41"/>
 <node id="5" lat="51.095" lon="71.405"/>
 <node id="6" lat="51.105" lon="71.405"/>
 <node id="7" lat="51.11" lon="71.42"/>
 <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/><tag k="highway" v="primary"/></way>
 <way id="101"><nd ref="2"/><nd ref="4"/><tag k="highway" v="residential"/><tag k="oneway" v="yes"/>
  <tag k="maxspeed" v="20"/></way>
 <way id="102"><nd ref="5"/><nd ref="6"/><nd ref="4"/><tag k="highway" v="tertiary"/><tag k="bridge" v="yes"/>
  <tag k="layer" v="1"/></way>
 <way id="103"><nd ref="4"/><nd ref="7"/><tag k="highway" v="footway"/></way>
 <way id="104"><nd ref="3"/><nd ref="7"/><tag k="highway" v="motorway"/></way>
</osm>
"""


def test_osm_extract(tmp_path):
    path = tmp_path / "tiny.osm"
    path.write_text(OSM_XML)
    out = io.StringIO()
    call_command("load_roads", str(path), "--name", "osm", "--label", "winter", "--source", "test", stdout=out)
    network = RoadNetwork.objects.get(name="osm")
    assert "converting the OpenStreetMap lines" in out.getvalue() and "footway" in out.getvalue()
    assert network.report["not_roads"] == {"footway": 1}
    # Way 100 splits at node 2 (shared with 101); 102 (the bridge) shares no node with 100.
    assert network.edge_count == 5 and network.vertex_count == 6
    residential = RoadEdge.objects.get(network=network, road_class="residential")
    assert (residential.oneway, residential.maxspeed_kmh, residential.speed_kmh) == (True, 20, 20)
    assert residential.feature_id == "101"
    motorway = RoadEdge.objects.get(network=network, road_class="motorway")
    assert motorway.oneway and motorway.reverse_cost_s is None  # implied one-way
    assert network.component_count == 1  # the motorway joins node 7 to node 3; the footway is not loaded


def test_error_mid_load_leaves_nothing(tmp_path):
    path = geojson_write(tmp_path / "hand.geojson", hand_features_trunk())

    class Stop(RuntimeError):
        pass

    def progress(line: str) -> None:
        if line.startswith("finding connected pieces"):
            raise Stop(line)

    with pytest.raises(Stop):
        road_network_load(path=path, name="doomed", progress=progress)
    assert not RoadNetwork.objects.exists()
    assert not RoadVertex.objects.exists() and not RoadEdge.objects.exists()
    # The same load then works (no temporary table left behind in this transaction).
    assert road_network_load(path=path, name="doomed").edge_count == 7


def test_name_taken_and_replace(hand_network, tmp_path):
    path = geojson_write(tmp_path / "again.geojson", hand_features_trunk()[:1])
    with pytest.raises(RoadLoadError, match="replace"):
        road_network_load(path=path, name="hand")
    replaced = road_network_load(path=path, name="hand", replace=True)
    assert replaced.edge_count == 1 and RoadEdge.objects.count() == 1 and RoadVertex.objects.count() == 2


def test_refusals(tmp_path):
    path = geojson_write(tmp_path / "hand.geojson", hand_features_trunk())
    with pytest.raises(CommandError, match="no field nope"):
        call_command("load_roads", str(path), "--name", "x", "--class-field", "nope")
    nothing = geojson_write(tmp_path / "paths.geojson", [line([A, B], highway="bridleway")])
    with pytest.raises(RoadLoadError, match="No road could be loaded"):
        road_network_load(path=nothing, name="x")
    assert not RoadNetwork.objects.exists()
    shp_dir = tmp_path / "shp"
    simple = geojson_write(tmp_path / "simple.geojson", [line([A, B], highway="primary")])
    subprocess.run(  # noqa: S603
        ["ogr2ogr", "-q", "-f", "ESRI Shapefile", "-t_srs", "EPSG:3395", str(shp_dir), str(simple)],  # noqa: S607
        check=True,
    )
    with pytest.raises(RoadLoadError, match="EPSG:3395 is not accepted"):
        road_network_load(path=next(shp_dir.glob("*.shp")), name="x")
    utm_dir = tmp_path / "utm"
    subprocess.run(  # noqa: S603
        ["ogr2ogr", "-q", "-f", "ESRI Shapefile", "-t_srs", "EPSG:32642", str(utm_dir), str(simple)],  # noqa: S607
        check=True,
    )
    shapefile = road_network_load(path=next(utm_dir.glob("*.shp")), name="shapefile")
    assert shapefile.report["srid"] == 32642 and shapefile.edge_count == 1
    assert RoadEdge.objects.get(network=shapefile).length_m == pytest.approx(length_m(A, B), rel=1e-6)


def test_missing_pgrouting_is_named(tmp_path):
    path = geojson_write(tmp_path / "hand.geojson", hand_features_trunk())
    with connection.cursor() as cursor:
        cursor.execute("drop extension pgrouting")  # undone with the test's transaction
    with pytest.raises(RoadLoadError, match="postgresql-15-pgrouting"):
        road_network_load(path=path, name="x")


def test_speed_defaults_and_constraints():
    assert RoadSpeed.objects.filter(kind="off_network").count() == 1
    motorway = RoadSpeed.objects.get(road_class="motorway")
    assert motorway.speed_kmh == 100 and motorway.label_ru and motorway.label_kk and motorway.reasoning
    motorway.speed_kmh = 70
    motorway.save()
    assert road_speeds_load_defaults() == {"created": 0, "reset": 0}
    assert RoadSpeed.objects.get(road_class="motorway").speed_kmh == 70  # a planner's edit is kept
    road_speeds_load_defaults(reset=True)
    assert RoadSpeed.objects.get(road_class="motorway").speed_kmh == 100
    with transaction.atomic(), pytest.raises(IntegrityError, match="roadspeed_speed_range"):
        RoadSpeed.objects.filter(road_class="motorway").update(speed_kmh=0)
    with transaction.atomic(), pytest.raises(IntegrityError, match="roadspeed_unique"):
        RoadSpeed.objects.create(kind="off_network", speed_kmh=4, label_kk="-", label_ru="-", label_en="-")
