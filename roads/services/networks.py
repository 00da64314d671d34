"""Loading road networks into PostGIS and building their pgRouting topology; the speed table's defaults.

Units and systems: geometry EPSG:4326; lengths in metres on the WGS 84 spheroid (PostGIS geography);
speeds km/h; costs seconds.

How a file becomes a network (road_network_load), all in one transaction:
1. Read. An OpenStreetMap extract (.osm.pbf / .osm) goes through GDAL's OSM driver: its `lines` layer,
   ways with a `highway` tag, copied by `ogr2ogr` into a temporary GeoPackage (the OSM driver can only be
   read sequentially) and then read like any line layer; `oneway`, `surface`, `maxspeed` and `junction`
   come from the driver's `other_tags`. Only the classes of roads.speeds.OSM_ROAD_CLASSES are roads;
   other highway ways (footways, paths, ...) are counted in the report, not loaded. Any other line layer
   (GeoPackage, Shapefile, GeoJSON) is read with its class, speed, one-way and surface fields as named.
   The file's coordinate system must be one of the portal's accepted EPSG codes (parcels.crs), matched
   by pyproj; PostGIS transforms from that code (never from the file's own text) to EPSG:4326.
2. Drop what cannot be routed, each with its reason counted: no geometry or an empty one, not a line,
   invalid (PostGIS ST_IsValid, or coordinates outside longitude/latitude range), zero length once
   coordinates are rounded to 1e-7° (about 1 cm: OSM's own precision), and classes without a speed in
   the speed table (listed by class, so the planner can add a row and load again).
3. Node. Lines are split where they share a vertex with another line (or with themselves): OSM ways meet
   at their shared nodes, exactly. Lines that cross WITHOUT a shared vertex stay apart: that is a bridge
   or a tunnel. Vertices count as shared when equal after rounding to 1e-7° — the tolerance is about 1 cm
   (1.1 cm north–south, less east–west); no snapping of nearby ends beyond that (a gap in the data stays
   a gap, and shows up as a disconnected piece in the report).
4. Vertices: pgRouting's pgr_extractVertices; each gets a RoadVertex id, unique across networks.
5. Costs: speed = the (class, surface) row when the table has one, else the class speed capped by the
   surface group's speed (gravel, unpaved, soft); a speed limit given in the file caps it further, never
   raises it (a limit is a ceiling, not how fast traffic goes). cost = length / speed. One-way roads have
   no reverse cost (NULL; -1 given to pgRouting); `oneway=-1` lines are reversed first.
6. Components: pgr_connectedComponents (undirected). Every piece is kept, each edge with its piece; the
   largest piece (by length) is the network's main component, the others are reported (count, edges,
   length, where the largest ones are). A settlement on an island is unreachable from the mainland
   honestly, rather than silently moved to a far road.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.contrib.gis.gdal import DataSource, GDALException
from django.db import connection, transaction
from django.utils.translation import gettext as _
from psycopg import sql

from roads.models import RoadBarrier, RoadEdge, RoadNetwork, RoadSpeed, RoadVertex
from roads.services.files import (
    PROGRESS_EVERY,
    VECTOR_SUFFIXES,
    Progress,
    RoadLoadError,
    execute,
    feature_geom,
    fetch,
    is_osm,
    layer_srid,
    line_ok,
    open_layer,
    text_of,
)
from roads.speeds import (
    OSM_ROAD_CLASSES,
    default_speed_rows,
    maxspeed_kmh,
    oneway_direction,
    other_tags,
    surface_group,
)

logger = logging.getLogger(__name__)

GRID_DEGREES = 1e-7  # vertices equal after rounding to this are one vertex (≈ 1 cm)
ISLANDS_LISTED = 10
PGROUTING_PACKAGE = "postgresql-15-pgrouting"

# Temporary tables of one load; dropped at its start and end too (ON COMMIT DROP alone would leave them
# to a second load inside the same outer transaction).
TEMP_TABLES = (
    "roads_stage",
    "roads_lines",
    "roads_points",
    "roads_cuts",
    "roads_segments",
    "roads_vertices",
    "roads_speed",
    "roads_components",
)


@dataclass(frozen=True)
class _Fields:
    road_class: str
    speed: str | None
    oneway: str | None
    surface: str | None


def pgrouting_check() -> None:
    """RoadLoadError naming the missing package when the database has no pgRouting extension."""
    with connection.cursor() as cursor:
        cursor.execute("select 1 from pg_extension where extname = 'pgrouting'")
        if cursor.fetchone() is None:
            raise RoadLoadError(
                _(
                    "pgRouting is not installed in the database. Install the server package %(package)s, then "
                    "run scripts/dbsetup.py (or CREATE EXTENSION pgrouting as a database superuser)."
                )
                % {"package": PGROUTING_PACKAGE}
            )


def _osm_to_gpkg(path: Path, workdir: Path) -> Path:
    """The OSM driver's `lines` layer (ways with a highway tag) as a GeoPackage, by ogr2ogr."""
    ogr2ogr = shutil.which("ogr2ogr")
    if ogr2ogr is None:
        raise RoadLoadError(_("ogr2ogr (Debian package gdal-bin) is needed to read OpenStreetMap files."))
    out = workdir / "lines.gpkg"
    # Arguments are a fixed list (no shell); the path is the operator's own file.
    result = subprocess.run(  # noqa: S603
        [ogr2ogr, "-q", "-f", "GPKG", str(out), str(path), "lines", "-where", "highway IS NOT NULL", "-nln", "lines"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RoadLoadError(
            _("The OpenStreetMap file could not be read: %(error)s") % {"error": result.stderr.strip()[:500]}
        )
    return out


def _fields_resolve(layer, fields: _Fields) -> _Fields:
    """The fields to read: those named must exist; the optional ones not named are read under their usual
    names (maxspeed, oneway, surface) when the layer has such a field, else not at all."""
    present = set(layer.fields)
    for option, name in (
        ("--class-field", fields.road_class),
        ("--speed-field", fields.speed),
        ("--oneway-field", fields.oneway),
        ("--surface-field", fields.surface),
    ):
        if name is not None and name not in present:
            raise RoadLoadError(
                _("The layer has no field %(field)s (%(option)s); its fields: %(fields)s.")
                % {"field": name, "option": option, "fields": ", ".join(layer.fields)}
            )

    def usual(given: str | None, name: str) -> str | None:
        return given if given is not None else (name if name in present else None)

    return _Fields(
        road_class=fields.road_class,
        speed=usual(fields.speed, "maxspeed"),
        oneway=usual(fields.oneway, "oneway"),
        surface=usual(fields.surface, "surface"),
    )


def _temp_tables_drop() -> None:
    execute(sql.SQL("drop table if exists {}").format(sql.SQL(", ").join(sql.Identifier(t) for t in TEMP_TABLES)))


def _stage(layer, *, osm: bool, fields: _Fields, drops: Counter, not_roads: Counter, progress: Progress) -> int:
    """COPY the layer's road features into the temporary table roads_stage; returns the features read."""
    read = 0
    with connection.cursor() as cursor:
        cursor.execute(
            "create temp table roads_stage (fid bigint, feature_id text, road_class text, surface text, "
            "maxspeed double precision, oneway smallint, wkb bytea) on commit drop"
        )
        with cursor.cursor.copy(
            "copy roads_stage (fid, feature_id, road_class, surface, maxspeed, oneway, wkb) from stdin"
        ) as copy:
            for feature in layer:
                read += 1
                if read % PROGRESS_EVERY == 0:
                    progress(f"read {read} features")
                road_class = text_of(feature.get(fields.road_class))
                if osm and road_class not in OSM_ROAD_CLASSES:
                    not_roads[road_class] += 1
                    continue
                if not road_class:
                    drops["no_class"] += 1
                    continue
                geom = feature_geom(feature)
                if geom is None or geom.empty:
                    drops["empty"] += 1
                    continue
                if not geom.geom_type.name.startswith(("LineString", "MultiLineString")):  # 2D, 25D, Z, M
                    drops["not_a_line"] += 1
                    continue
                if not line_ok(geom):
                    drops["invalid"] += 1
                    continue
                if osm:
                    tags = other_tags(feature.get("other_tags"))
                    surface, speed = tags.get("surface", ""), maxspeed_kmh(tags.get("maxspeed"))
                    oneway = oneway_direction(tags.get("oneway"), road_class=road_class, junction=tags.get("junction"))
                    feature_id = text_of(feature.get("osm_id"))
                else:
                    surface = text_of(feature.get(fields.surface)) if fields.surface else ""
                    speed = maxspeed_kmh(feature.get(fields.speed)) if fields.speed else None
                    oneway = oneway_direction(text_of(feature.get(fields.oneway))) if fields.oneway else 0
                    feature_id = str(feature.fid)
                copy.write_row((feature.fid, feature_id, road_class, surface, speed, oneway, bytes(geom.wkb)))
    progress(f"read {read} features")
    return read


def _speeds() -> dict:
    """The speed table as {"class": {c: kmh}, "surface": {s: kmh}, "pair": {"c|s": kmh}, "off_network": kmh}."""
    table: dict = {"class": {}, "surface": {}, "pair": {}, "off_network": None}
    for row in RoadSpeed.objects.all():
        if row.kind == RoadSpeed.Kind.OFF_NETWORK:
            table["off_network"] = row.speed_kmh
        elif row.road_class and row.surface:
            table["pair"][f"{row.road_class}|{row.surface}"] = row.speed_kmh
        elif row.road_class:
            table["class"][row.road_class] = row.speed_kmh
        else:
            table["surface"][row.surface] = row.speed_kmh
    return table


def _lines(*, srid: int, speeds: dict, drops: Counter, unknown: Counter) -> None:
    """roads_stage → roads_lines: single lines in EPSG:4326 on the 1e-7° grid, bad ones dropped and counted."""
    execute(
        """
        create temp table roads_lines on commit drop as
        select row_number() over () as lid, s.feature_id, s.road_class, s.surface, s.maxspeed,
               s.oneway <> 0 as oneway, s.oneway = -1 as backwards, d.geom as raw
        from roads_stage s
        cross join lateral st_dump(st_force2d(st_transform(st_setsrid(st_geomfromwkb(s.wkb), %s), 4326))) d
        """,
        [srid],
    )
    execute("alter table roads_lines add column reason text, add column geom geometry(LineString, 4326)")
    # Temporary tables get no statistics from autovacuum; without them the planner guesses (nested loops
    # over millions of rows on a national extract).
    execute("analyze roads_lines")
    execute(
        """
        update roads_lines set reason = case
            when st_isempty(raw) then 'empty'
            when st_length(raw) = 0 then 'zero_length'
            when not st_isvalid(raw) then 'invalid'
            when st_xmin(raw) < -180 or st_xmax(raw) > 180 or st_ymin(raw) < -90 or st_ymax(raw) > 90 then 'invalid'
        end
        """
    )
    execute(
        """
        update roads_lines set geom = st_removerepeatedpoints(st_snaptogrid(
            case when backwards then st_reverse(raw) else raw end, %s))
        where reason is null
        """,
        [GRID_DEGREES],
    )
    execute("update roads_lines set reason = 'zero_length' where reason is null and st_npoints(geom) < 2")
    known = list(speeds["class"])
    for road_class, n in fetch(
        "select road_class, count(*) from roads_lines where reason is null and road_class <> all(%s) group by 1",
        [known],
    ):
        unknown[road_class] += n
    execute(
        "update roads_lines set reason = 'no_speed_for_class' where reason is null and road_class <> all(%s)", [known]
    )
    for reason, n in fetch("select reason, count(*) from roads_lines where reason is not null group by 1"):
        drops[reason] += n
    execute("delete from roads_lines where reason is not null")


def _segments() -> None:
    """roads_lines → roads_segments: lines split at every vertex they share (see the module docstring)."""
    execute(
        """
        create temp table roads_points on commit drop as
        select l.lid, (d).path[1] as i, (d).geom as pt, st_x((d).geom) as x, st_y((d).geom) as y
        from (select lid, st_dumppoints(geom) as d from roads_lines) l
        """
    )
    execute("analyze roads_points")
    execute(
        """
        create temp table roads_cuts on commit drop as
        with joints as (select x, y from roads_points group by x, y having count(*) > 1),
             n as (select lid, max(i) as last from roads_points group by lid)
        select p.lid, p.i from roads_points p join n using (lid)
        where p.i = 1 or p.i = n.last or exists (select 1 from joints j where j.x = p.x and j.y = p.y)
        """
    )
    execute(
        """
        create temp table roads_segments on commit drop as
        with arr as (select lid, array_agg(pt order by i) as pts from roads_points group by lid),
             spans as (select lid, i, lead(i) over (partition by lid order by i) as j from roads_cuts)
        select row_number() over (order by l.lid, s.i) as sid, l.lid, l.feature_id, l.road_class, l.surface,
               l.maxspeed, l.oneway, st_makeline(a.pts[s.i:s.j]) as geom
        from spans s join arr a using (lid) join roads_lines l using (lid)
        where s.j is not null
        """
    )
    execute("analyze roads_segments")


def _vertices(network: RoadNetwork) -> int:
    """Vertices of roads_segments by pgr_extractVertices, stored as RoadVertex rows; sets source/target."""
    execute(
        """
        create temp table roads_vertices on commit drop as
        select id as pgr_id, in_edges, out_edges, geom from pgr_extractVertices(
            'select sid as id, geom from roads_segments')
        """
    )
    table = RoadVertex._meta.db_table
    execute(
        sql.SQL(
            "alter table roads_vertices add column vid bigint; update roads_vertices set vid = nextval({seq})"
        ).format(seq=sql.Literal(f"{table}_id_seq"))
    )
    n = execute(
        sql.SQL("insert into {t} (id, network_id, geom) select vid, %s, geom from roads_vertices").format(
            t=sql.Identifier(table)
        ),
        [network.pk],
    )
    execute("alter table roads_segments add column source bigint, add column target bigint")
    execute(
        """
        update roads_segments s set source = v.vid
        from (select vid, unnest(out_edges) as sid from roads_vertices) v where s.sid = v.sid
        """
    )
    execute(
        """
        update roads_segments s set target = v.vid
        from (select vid, unnest(in_edges) as sid from roads_vertices) v where s.sid = v.sid
        """
    )
    return n


def _edges(network: RoadNetwork, *, speeds: dict) -> int:
    """roads_segments → RoadEdge rows with lengths (spheroid) and costs (seconds) from the speed table."""
    surface_groups = fetch("select distinct surface from roads_segments")
    groups = {value: surface_group(value) for (value,) in surface_groups}
    execute(
        """
        create temp table roads_speed on commit drop as
        with c as (select key as cls, value::float8 as kmh from jsonb_each_text(%(classes)s::jsonb)),
             g as (select key as surface, value as grp from jsonb_each_text(%(groups)s::jsonb)),
             cap as (select key as grp, value::float8 as kmh from jsonb_each_text(%(caps)s::jsonb)),
             p as (select split_part(key, '|', 1) as cls, split_part(key, '|', 2) as grp, value::float8 as kmh
                   from jsonb_each_text(%(pairs)s::jsonb))
        select s.sid, least(coalesce(p.kmh, least(c.kmh, coalesce(cap.kmh, c.kmh))),
                            coalesce(s.maxspeed, 'infinity')) as kmh
        from roads_segments s
        join c on c.cls = s.road_class
        left join g on g.surface = s.surface
        left join cap on cap.grp = g.grp
        left join p on p.cls = s.road_class and p.grp = g.grp
        """,
        {
            "classes": json.dumps(speeds["class"]),
            "groups": json.dumps(groups),
            "caps": json.dumps(speeds["surface"]),
            "pairs": json.dumps(speeds["pair"]),
        },
    )
    table = RoadEdge._meta.db_table
    return execute(
        sql.SQL(
            """
            insert into {t} (network_id, geom, road_class, surface, maxspeed_kmh, oneway, length_m, source, target,
                             speed_kmh, cost_s, reverse_cost_s, feature_id)
            select %s, s.geom, s.road_class, left(s.surface, 50), s.maxspeed, s.oneway, m.len, s.source, s.target,
                   v.kmh, m.len / (v.kmh / 3.6), case when s.oneway then null else m.len / (v.kmh / 3.6) end,
                   left(s.feature_id, 100)
            from roads_segments s join roads_speed v using (sid)
            cross join lateral (select st_length(s.geom::geography) as len) m
            order by s.sid
            """
        ).format(t=sql.Identifier(table)),
        [network.pk],
    )


def edges_sql(network_id: int) -> str:
    """The pgRouting edges query of a network: id, source, target, cost, reverse_cost (-1 = closed)."""
    return (
        sql.SQL(
            "select id, source, target, cost_s as cost, coalesce(reverse_cost_s, -1) as reverse_cost "
            "from {t} where network_id = {n}"
        )
        .format(t=sql.Identifier(RoadEdge._meta.db_table), n=sql.Literal(int(network_id)))
        .as_string(None)
    )


def _components(network: RoadNetwork) -> dict:
    """Connected pieces (pgr_connectedComponents, undirected): edges get their piece; a report of the islands."""
    table = RoadEdge._meta.db_table
    execute(
        "create temp table roads_components on commit drop as select node, component from pgr_connectedComponents(%s)",
        [edges_sql(network.pk)],
    )
    execute(
        sql.SQL(
            "update {t} e set component = c.component from roads_components c "
            "where e.network_id = %s and c.node = e.source"
        ).format(t=sql.Identifier(table)),
        [network.pk],
    )
    pieces = fetch(
        sql.SQL(
            """
            select component, count(*), sum(length_m), avg(st_x(st_startpoint(geom))), avg(st_y(st_startpoint(geom)))
            from {t} where network_id = %s group by component order by sum(length_m) desc, component
            """
        ).format(t=sql.Identifier(table)),
        [network.pk],
    )
    if not pieces:
        return {"count": 0, "main": None, "islands": 0, "island_edges": 0, "island_length_km": 0.0, "largest": []}
    main, *islands = pieces
    return {
        "count": len(pieces),
        "main": main[0],
        "main_edges": main[1],
        "main_length_km": round(main[2] / 1000, 3),
        "islands": len(islands),
        "island_edges": sum(p[1] for p in islands),
        "island_length_km": round(sum(p[2] for p in islands) / 1000, 3),
        "largest": [
            {"component": p[0], "edges": p[1], "length_km": round(p[2] / 1000, 3), "lon": p[3], "lat": p[4]}
            for p in islands[:ISLANDS_LISTED]
        ],
    }


def _network_delete(network: RoadNetwork) -> None:
    # Plain DELETEs, edges before vertices: Django's cascade would first load every row into memory.
    for model in (RoadBarrier, RoadEdge, RoadVertex):
        execute(
            sql.SQL("delete from {t} where network_id = %s").format(t=sql.Identifier(model._meta.db_table)),
            [network.pk],
        )
    network.delete()


@transaction.atomic
def road_network_delete(*, network: RoadNetwork) -> None:
    """Delete a network with its vertices, edges and barriers."""
    _network_delete(network)


@transaction.atomic
def road_network_load(
    *,
    path: Path,
    name: str,
    label: str = "",
    source_description: str = "",
    source_date: date | None = None,
    class_field: str = "highway",
    speed_field: str | None = None,
    oneway_field: str | None = None,
    surface_field: str | None = None,
    layer: str | None = None,
    srid: int | None = None,
    replace: bool = False,
    user=None,
    progress: Progress | None = None,
) -> RoadNetwork:
    """Load a road file as a routable network named `name` (see the module docstring); all or nothing.

    `progress` receives one line per step. RoadLoadError for a file, option or database that cannot do it.
    """
    say: Progress = progress or logger.info
    path = Path(path)
    if not path.is_file():
        raise RoadLoadError(_("%(path)s: no such file.") % {"path": path})
    osm = is_osm(path)
    if not osm and not path.name.lower().endswith(VECTOR_SUFFIXES):
        raise RoadLoadError(
            _(
                "Unsupported file %(name)s: give an OpenStreetMap extract (.osm.pbf, .osm), a GeoPackage, a Shapefile "
                "or a GeoJSON file."
            )
            % {"name": path.name}
        )
    pgrouting_check()
    existing = RoadNetwork.objects.filter(name=name).first()
    if existing is not None:
        if not replace:
            raise RoadLoadError(
                _("A road network named %(name)s exists: choose another name or replace it (--replace).")
                % {"name": name}
            )
        say(f"replacing the network {name}")
        _network_delete(existing)
    speeds = _speeds()
    if not speeds["class"]:
        raise RoadLoadError(_("The speed table has no road class: load the defaults (manage.py load_road_speeds)."))
    fields = _Fields(road_class=class_field, speed=speed_field, oneway=oneway_field, surface=surface_field)
    _temp_tables_drop()
    drops: Counter = Counter()
    not_roads: Counter = Counter()
    unknown: Counter = Counter()
    with tempfile.TemporaryDirectory(prefix="roads-") as workdir:
        if osm:
            say(f"converting the OpenStreetMap lines of {path.name} (GDAL OSM driver)")
            readable = _osm_to_gpkg(path, Path(workdir))
            # OSM attributes come from the driver's other_tags (oneway, surface, maxspeed, junction).
            fields = _Fields(road_class="highway", speed=None, oneway=None, surface=None)
        else:
            readable = path
        try:
            source = DataSource(str(readable))
        except GDALException as exc:
            raise RoadLoadError(_("The file could not be opened: %(error)s") % {"error": exc}) from exc
        lyr = open_layer(source, layer_name="lines" if osm else layer)
        file_srid = 4326 if osm else layer_srid(lyr, srid=srid)
        fields = fields if osm else _fields_resolve(lyr, fields)
        network = RoadNetwork.objects.create(
            name=name,
            label=label,
            source_file=path.name[:300],
            source_description=source_description,
            source_date=source_date,
            loaded_by=user,
        )
        read = _stage(lyr, osm=osm, fields=fields, drops=drops, not_roads=not_roads, progress=say)
    say("checking geometries")
    _lines(srid=file_srid, speeds=speeds, drops=drops, unknown=unknown)
    say("splitting lines at shared vertices")
    _segments()
    say("extracting vertices (pgr_extractVertices)")
    vertices = _vertices(network)
    say(f"{vertices} vertices; computing lengths and travel times")
    edges = _edges(network, speeds=speeds)
    say(f"finding connected pieces of {edges} edges (pgr_connectedComponents)")
    components = _components(network)
    network.edge_count = edges
    network.vertex_count = vertices
    network.component_count = components["count"]
    network.main_component = components["main"]
    network.length_km = float(
        fetch(
            sql.SQL("select coalesce(sum(length_m), 0) / 1000 from {t} where network_id = %s").format(
                t=sql.Identifier(RoadEdge._meta.db_table)
            ),
            [network.pk],
        )[0][0]
    )
    network.report = {
        "format": "osm" if osm else "vector",
        "srid": file_srid,
        "features_read": read,
        "dropped": dict(sorted(drops.items())),
        "classes_without_speed": dict(sorted(unknown.items())),
        "not_roads": dict(sorted(not_roads.items())),
        "components": components,
        "vertex_tolerance_degrees": GRID_DEGREES,
        "speeds_used": speeds,
        "fields": {
            "class": fields.road_class,
            "speed": fields.speed,
            "oneway": fields.oneway,
            "surface": fields.surface,
        },
    }
    network.save()
    _temp_tables_drop()
    if edges == 0:
        raise RoadLoadError(
            _("No road could be loaded from %(name)s (see what was dropped: %(drops)s).")
            % {"name": path.name, "drops": dict(drops) or dict(not_roads)}
        )
    say(
        f"loaded {name}: {edges} edges, {vertices} vertices, {network.length_km:.1f} km; "
        f"{components['islands']} disconnected pieces; dropped {dict(drops)}"
    )
    return network


@transaction.atomic
def road_speeds_load_defaults(*, reset: bool = False) -> dict[str, int]:
    """Add the default speeds missing from the table; with `reset`, put every default value back."""
    counts = {"created": 0, "reset": 0}
    for row in default_speed_rows():
        key = {k: row[k] for k in ("kind", "road_class", "surface")}
        values = {k: v for k, v in row.items() if k not in key}
        obj, created = RoadSpeed.objects.get_or_create(**key, defaults=values)
        if created:
            counts["created"] += 1
        elif reset:
            for field, value in values.items():
                setattr(obj, field, value)
            obj.save()
            counts["reset"] += 1
    return counts
