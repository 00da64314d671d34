"""Loading road barriers (roads.services.road_barriers_load, manage.py load_barriers) and reading them back
(roads.selectors.road_barriers_in) on hand-built files: tests/roads/conftest.py draws them."""

from __future__ import annotations

import io
import subprocess
from datetime import date

import pytest
import shapely
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from roads.models import RoadBarrier, RoadNetwork
from roads.selectors import road_barriers_in
from roads.services import (
    RoadLoadError,
    road_barriers_delete,
    road_barriers_load,
    road_network_delete,
    road_network_load,
)
from tests.roads.conftest import (
    BOWTIE,
    ISLETS,
    LAKE,
    RIVER,
    A,
    barrier_features,
    feature,
    geojson_write,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def network(hand_geojson) -> RoadNetwork:
    return road_network_load(path=hand_geojson, name="hand", label="summer")


def test_polygons_and_lines_from_a_utm_geopackage(network, barriers_utm_gpkg):
    report = road_barriers_load(
        path=barriers_utm_gpkg,
        network="hand",
        kind="water",
        source_description="drawn by the test",
        source_date=date(2026, 5, 1),
    )
    assert report["srid"] == 32642 and report["features_read"] == 7
    assert (report["areas"], report["lines"], report["repaired"]) == (3, 1, 1)
    assert report["dropped"] == {"empty": 2, "not_area_or_line": 1}
    rows = list(RoadBarrier.objects.filter(network=network).order_by("id"))
    assert len(rows) == 4 and {r.kind for r in rows} == {"water"}
    assert {(r.area is None, r.line is None) for r in rows} == {(False, True), (True, False)}
    assert all(r.source_file == "barriers_utm.gpkg" and r.source_date == date(2026, 5, 1) for r in rows)
    assert all(r.source_description == "drawn by the test" for r in rows)
    areas = [r for r in rows if r.area is not None]
    assert {r.area.geom_type for r in areas} == {"MultiPolygon"} and all(r.area.srid == 4326 for r in areas)
    (river,) = (r for r in rows if r.line is not None)
    assert river.line.geom_type == "MultiLineString" and river.line.srid == 4326
    # Coordinates round-tripped through UTM 42N.
    assert shapely.from_wkb(bytes(river.line.wkb)).equals_exact(shapely.MultiLineString([RIVER]), tolerance=1e-7)
    lake, islets, bowtie = (shapely.from_wkb(bytes(r.area.wkb)) for r in areas)
    assert lake.equals_exact(shapely.MultiPolygon([shapely.Polygon(LAKE)]), tolerance=1e-7)
    assert len(islets.geoms) == 2
    assert islets.area == pytest.approx(sum(shapely.Polygon(r).area for r in ISLETS), rel=1e-6)
    # The bow tie, repaired: two triangles, half of its box.
    assert bowtie.is_valid and len(bowtie.geoms) == 2
    assert bowtie.area == pytest.approx(shapely.Polygon(BOWTIE).envelope.area / 2, rel=1e-6)
    # The network keeps the file's report under the kind.
    network.refresh_from_db()
    assert network.report["barriers"]["water"] == report
    assert report["source_date"] == "2026-05-01" and report["source_file"] == "barriers_utm.gpkg"
    assert network.report["components"]  # the road load's report is kept


def test_geojson_through_the_command_and_the_selector(network, tmp_path):
    path = geojson_write(tmp_path / "border.geojson", barrier_features())
    out = io.StringIO()
    call_command(
        "load_barriers", str(path), "--network", "hand", "--kind", "closed area", "--source", "test", stdout=out
    )
    text = out.getvalue()
    assert "closed area barriers of hand: 3 areas, 1 lines from 7 features (EPSG:4326)" in text, text
    assert "1 invalid areas repaired (ST_MakeValid)" in text and "'not_area_or_line': 1" in text
    # Everything meets the box of the hand network and the lake; the box west of 71.405 clips the lake in half.
    got = road_barriers_in(network=network, bounds=(71.39, 51.09, 71.405, 51.14))
    assert [kind_name for _g, kind_name in got] == ["closed area", "closed area"]  # the lake and the river
    lake = next(g for g, _k in got if g.geom_type in ("Polygon", "MultiPolygon"))
    assert lake.area == pytest.approx(shapely.Polygon(LAKE).area / 2, rel=1e-9)
    assert len(road_barriers_in(network=network, bounds=(71.39, 51.09, 71.48, 51.14))) == 4
    assert road_barriers_in(network=network, bounds=(72.0, 52.0, 72.1, 52.1)) == []


def test_kinds_side_by_side_and_replace(network, tmp_path):
    water = geojson_write(tmp_path / "water.geojson", barrier_features())
    border = geojson_write(tmp_path / "border.geojson", [feature({"type": "LineString", "coordinates": RIVER})])
    road_barriers_load(path=water, network="hand", kind="water")
    road_barriers_load(path=border, network="hand", kind="border")
    with pytest.raises(RoadLoadError, match="has barriers of the kind water: replace them"):
        road_barriers_load(path=water, network="hand", kind="water")
    lake_only = geojson_write(tmp_path / "lake.geojson", barrier_features()[:1])
    road_barriers_load(path=lake_only, network="hand", kind="water", replace=True)
    assert dict((k, RoadBarrier.objects.filter(network=network, kind=k).count()) for k in ("water", "border")) == {
        "water": 1,
        "border": 1,
    }
    network.refresh_from_db()
    assert set(network.report["barriers"]) == {"water", "border"}
    assert network.report["barriers"]["water"]["source_file"] == "lake.geojson"
    # Deleting (or replacing) the road network takes its barriers with it.
    road_network_delete(network=network)
    assert not RoadBarrier.objects.exists()


def test_one_kind_deleted_by_the_command_the_others_stay(network, tmp_path):
    water = geojson_write(tmp_path / "water.geojson", barrier_features())
    border = geojson_write(tmp_path / "border.geojson", [feature({"type": "LineString", "coordinates": RIVER})])
    road_barriers_load(path=water, network="hand", kind="water")
    road_barriers_load(path=border, network="hand", kind="border")
    waters = RoadBarrier.objects.filter(network=network, kind="water").count()
    assert waters > 1
    out = io.StringIO()
    call_command("delete_barriers", "--network", "hand", "--kind", "water", stdout=out)
    assert out.getvalue().strip() == f"deleted {waters} water barriers of hand"
    assert list(RoadBarrier.objects.values_list("kind", flat=True)) == ["border"]
    network.refresh_from_db()
    assert set(network.report["barriers"]) == {"border"} and network.report["components"]
    assert [k for _g, k in road_barriers_in(network=network, bounds=(71.39, 51.09, 71.48, 51.14))] == ["border"]
    with pytest.raises(CommandError, match=r"has no barriers of the kind water \(its kinds: border\)"):
        call_command("delete_barriers", "--network", "hand", "--kind", "water")
    with pytest.raises(CommandError, match="No road network is named nowhere"):
        call_command("delete_barriers", "--network", "nowhere", "--kind", "border")
    road_barriers_delete(network="hand", kind="border")
    assert not RoadBarrier.objects.exists()
    with pytest.raises(RoadLoadError, match=r"\(its kinds: —\)"):
        road_barriers_delete(network="hand", kind="border")
    # A kind is loaded again without --replace once it is gone.
    road_barriers_load(path=water, network="hand", kind="water")
    assert RoadBarrier.objects.filter(kind="water").count() == waters


def test_an_error_mid_load_leaves_nothing(network, tmp_path):
    path = geojson_write(tmp_path / "water.geojson", barrier_features())

    class Stop(RuntimeError):
        pass

    def progress(message: str) -> None:
        if message.startswith("loaded "):  # the last step: rows saved, the network's report saved
            raise Stop(message)

    with pytest.raises(Stop):
        road_barriers_load(path=path, network="hand", progress=progress)
    assert not RoadBarrier.objects.exists()
    network.refresh_from_db()
    assert "barriers" not in network.report
    # The same load then works (no temporary table left behind in this transaction).
    assert road_barriers_load(path=path, network="hand")["areas"] == 3


def test_refusals(network, tmp_path):
    path = geojson_write(tmp_path / "water.geojson", barrier_features())
    with pytest.raises(RoadLoadError, match=r"No road network is named nope \(networks: hand\)"):
        road_barriers_load(path=path, network="nope")
    with pytest.raises(CommandError, match="No road network is named nope"):
        call_command("load_barriers", str(path), "--network", "nope")
    points = geojson_write(tmp_path / "wells.geojson", [barrier_features()[4], barrier_features()[5]])
    with pytest.raises(RoadLoadError, match="No polygon or line could be loaded from wells.geojson"):
        road_barriers_load(path=points, network="hand")
    with pytest.raises(RoadLoadError, match="no such file"):
        road_barriers_load(path=tmp_path / "missing.geojson", network="hand")
    (tmp_path / "water.csv").write_text("x")
    with pytest.raises(RoadLoadError, match="Unsupported file water.csv"):
        road_barriers_load(path=tmp_path / "water.csv", network="hand")
    with pytest.raises(RoadLoadError, match="kind"):
        road_barriers_load(path=path, network="hand", kind="  ")
    shp_dir = tmp_path / "shp"
    lake = geojson_write(tmp_path / "lake.geojson", barrier_features()[:1])
    subprocess.run(  # noqa: S603
        ["ogr2ogr", "-q", "-f", "ESRI Shapefile", "-t_srs", "EPSG:3395", str(shp_dir), str(lake)],  # noqa: S607
        check=True,
    )
    with pytest.raises(RoadLoadError, match="EPSG:3395 is not accepted"):
        road_barriers_load(path=next(shp_dir.glob("*.shp")), network="hand")
    assert not RoadBarrier.objects.exists()


def test_a_barrier_is_an_area_or_a_line():
    net = RoadNetwork.objects.create(name="n", source_file="x")
    with transaction.atomic(), pytest.raises(IntegrityError, match="roadbarrier_area_or_line"):
        RoadBarrier.objects.create(network=net, kind="water", source_file="x")
    with transaction.atomic(), pytest.raises(IntegrityError, match="roadbarrier_kind_given"):
        RoadBarrier.objects.create(
            network=net, kind="", source_file="x", line=shapely.MultiLineString([[A, RIVER[0]]]).wkt
        )


OSM_WATER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="gis_portal test">
 <node id="1" lat="51.12" lon="71.40"/>
 <node id="2" lat="51.12" lon="71.41"/>
 <node id="3" lat="51.13" lon="71.41"/>
 <node id="4" lat="51.13" lon="71.40"/>
 <node id="5" lat="51.09" lon="71.39"/>
 <node id="6" lat="51.115" lon="71.425"/>
 <node id="7" lat="51.14" lon="71.43"/>
 <node id="8" lat="51.10" lon="71.45"/>
 <node id="9" lat="51.11" lon="71.46"/>
 <node id="10" lat="51.12" lon="71.46"/>
 <way id="200"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/><nd ref="1"/><tag k="natural" v="water"/>
  <tag k="water" v="lake"/></way>
 <way id="201"><nd ref="5"/><nd ref="6"/><nd ref="7"/><tag k="waterway" v="river"/></way>
 <way id="202"><nd ref="8"/><nd ref="9"/><tag k="waterway" v="stream"/></way>
 <way id="203"><nd ref="8"/><nd ref="9"/><nd ref="10"/><nd ref="8"/><tag k="landuse" v="meadow"/></way>
 <way id="204"><nd ref="5"/><nd ref="8"/><tag k="highway" v="primary"/></way>
</osm>
"""


def test_osm_water(network, tmp_path):
    path = tmp_path / "water.osm"
    path.write_text(OSM_WATER_XML)
    out = io.StringIO()
    call_command("load_barriers", str(path), "--network", "hand", "--source", "OSM test", stdout=out)
    assert "converting the OpenStreetMap water of water.osm" in out.getvalue()
    rows = {r.feature_id: r for r in RoadBarrier.objects.filter(network=network, kind="water")}
    assert set(rows) == {"way 200", "way 201"}  # the lake and the river; not the stream, meadow or road
    lake = shapely.from_wkb(bytes(rows["way 200"].area.wkb))
    assert lake.normalize().equals_exact(shapely.MultiPolygon([shapely.Polygon(LAKE)]).normalize(), tolerance=1e-7)
    assert rows["way 201"].line.coords == (tuple(RIVER),)
    network.refresh_from_db()
    report = network.report["barriers"]["water"]
    assert (report["format"], report["srid"], report["areas"], report["lines"]) == ("osm", 4326, 1, 1)
    with pytest.raises(RoadLoadError, match="give no --layer"):
        road_barriers_load(path=path, network="hand", kind="river", layer="lines")


def test_admin_lists_barriers_per_network_read_only(network, tmp_path, client, planner):
    road_barriers_load(path=geojson_write(tmp_path / "water.geojson", barrier_features()), network="hand")
    client.force_login(planner)
    page = client.get("/en/admin/roads/roadbarrier/", {"network__id__exact": network.pk})
    assert page.status_code == 200
    assert "water.geojson" in page.content.decode() and "4 road barriers" in page.content.decode()
    barrier = RoadBarrier.objects.filter(network=network).first()
    change = client.get(f"/en/admin/roads/roadbarrier/{barrier.pk}/change/")
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    assert client.get("/en/admin/roads/roadbarrier/add/").status_code == 403


def test_a_shapefile_in_utm_loads_like_the_geojson(network, tmp_path):
    """A Shapefile (the format most akimat GIS desks export) in UTM 42N (EPSG:32642): its areas come back in
    EPSG:4326 where the GeoJSON put them, within the round trip's rounding."""
    lake = geojson_write(tmp_path / "lake.geojson", barrier_features()[:1])
    shp_dir = tmp_path / "shp"
    subprocess.run(  # noqa: S603
        ["ogr2ogr", "-q", "-f", "ESRI Shapefile", "-t_srs", "EPSG:32642", str(shp_dir), str(lake)],  # noqa: S607
        check=True,
    )
    report = road_barriers_load(path=next(shp_dir.glob("*.shp")), network="hand", kind="water")
    assert report["srid"] == 32642 and (report["areas"], report["lines"]) == (1, 0)
    (row,) = RoadBarrier.objects.filter(network=network)
    got = shapely.from_wkb(bytes(row.area.wkb))
    assert row.area.srid == 4326
    # A Shapefile's outer rings run clockwise: compared in a normal form.
    assert got.normalize().equals_exact(shapely.MultiPolygon([shapely.Polygon(LAKE)]).normalize(), tolerance=1e-6)
