"""Loading barriers (water, borders, closed areas) of a road network (road_barriers_load, manage.py load_barriers).

Barriers belong to a network because they are seasonal (a river in summer, frozen in winter). Raster travel runs
burn them into the friction grid as impassable (accessibility.friction_grid); the road network itself needs none:
its roads are the only way across. Geometry EPSG:4326; the file's coordinate system must be one the portal accepts.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from collections import Counter
from datetime import date
from pathlib import Path

from django.contrib.gis.gdal import DataSource, GDALException
from django.db import connection, transaction
from django.utils.translation import gettext as _
from psycopg import sql

from roads.models import RoadBarrier, RoadNetwork
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

logger = logging.getLogger(__name__)

BARRIER_TEMP_TABLES = ("barriers_stage", "barriers_geoms")
# What an OpenStreetMap extract's water barriers are (GDAL OSM driver layers and their OGR SQL filters): water
# areas (lakes, reservoirs, rivers mapped as areas; the older waterway=riverbank tag too) and rivers as lines.
# Streams, canals and ditches are left out: they are mostly crossed on foot or have culverts OSM does not map.
OSM_WATER = (
    ("multipolygons", '"natural" = \'water\' OR other_tags LIKE \'%"waterway"=>"riverbank"%\''),
    ("lines", "waterway = 'river'"),
)


def _osm_water_to_gpkg(path: Path, workdir: Path) -> Path:
    """OSM_WATER's layers of an OpenStreetMap file as one GeoPackage (layers multipolygons, lines), by ogr2ogr."""
    ogr2ogr = shutil.which("ogr2ogr")
    if ogr2ogr is None:
        raise RoadLoadError(_("ogr2ogr (Debian package gdal-bin) is needed to read OpenStreetMap files."))
    out = workdir / "water.gpkg"
    for i, (layer, where) in enumerate(OSM_WATER):
        # Arguments are a fixed list (no shell); the path is the operator's own file.
        result = subprocess.run(  # noqa: S603
            [ogr2ogr, "-q", *(["-update"] if i else []), "-f", "GPKG", str(out), str(path), layer, "-where", where]
            + ["-nln", layer, "-nlt", "PROMOTE_TO_MULTI"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RoadLoadError(
                _("The OpenStreetMap file could not be read: %(error)s") % {"error": result.stderr.strip()[:500]}
            )
    return out


def _barrier_stage(layers: list, *, drops: Counter, progress: Progress) -> int:
    """COPY the layers' features with a geometry into the temporary table barriers_stage; returns features read.

    Features without a geometry or with an empty one are counted as `empty`; lines with a part of fewer than
    two points (PostGIS refuses them outright) as `invalid`; the rest is sorted out in PostGIS (_barrier_geoms).
    """
    read = 0
    with connection.cursor() as cursor:
        cursor.execute("create temp table barriers_stage (feature_id text, wkb bytea) on commit drop")
        with cursor.cursor.copy("copy barriers_stage (feature_id, wkb) from stdin") as copy:
            for layer in layers:
                osm_areas, osm_lines = "osm_way_id" in layer.fields, "osm_id" in layer.fields
                for feature in layer:
                    read += 1
                    if read % PROGRESS_EVERY == 0:
                        progress(f"read {read} features")
                    geom = feature_geom(feature)
                    if geom is None or geom.empty:
                        drops["empty"] += 1
                        continue
                    if geom.geom_type.name.startswith(("LineString", "MultiLineString")) and not line_ok(geom):
                        drops["invalid"] += 1
                        continue
                    # OSM areas are relations (osm_id) or closed ways (osm_way_id), lines are ways (osm_id).
                    if osm_areas:
                        relation = text_of(feature.get("osm_id"))
                        feature_id = f"relation {relation}" if relation else f"way {text_of(feature.get('osm_way_id'))}"
                    elif osm_lines:
                        feature_id = f"way {text_of(feature.get('osm_id'))}"
                    else:
                        feature_id = str(feature.fid)
                    copy.write_row((feature_id, bytes(geom.wkb)))
    progress(f"read {read} features")
    return read


def _barrier_geoms(*, srid: int, drops: Counter) -> dict[str, int]:
    """barriers_stage → barriers_geoms (feature_id, area, line) in EPSG:4326; returns {"repaired": n}.

    Each feature keeps its polygons (as one MultiPolygon) and its lines (as one MultiLineString): a collection
    holding both gives two barriers. Points are dropped (`not_area_or_line`: a point bars nothing); features
    whose coordinates are outside longitude/latitude range are dropped as `invalid`. Invalid polygons (a
    self-crossing ring, say) are repaired by PostGIS ST_MakeValid (method `structure`: the area the rings
    enclose) and counted as `repaired`; what a repair collapses to nothing is dropped as `invalid`. Lines of
    zero length are dropped as `invalid` too.
    """
    execute(
        """
        create temp table barriers_geoms on commit drop as
        select feature_id, raw, st_isvalid(st_collectionextract(raw, 3)) as area_valid,
               st_collectionextract(raw, 3) as area, st_collectionextract(raw, 2) as line
        from (select feature_id, st_force2d(st_transform(st_setsrid(st_geomfromwkb(wkb), %s), 4326)) as raw
              from barriers_stage) s
        """,
        [srid],
    )
    execute("alter table barriers_geoms add column reason text")
    execute(
        """
        update barriers_geoms set reason = case
            when st_isempty(raw) then 'empty'
            when st_isempty(area) and st_isempty(line) then 'not_area_or_line'
            when st_xmin(raw) < -180 or st_xmax(raw) > 180 or st_ymin(raw) < -90 or st_ymax(raw) > 90 then 'invalid'
        end
        """
    )
    repaired = execute(
        """
        update barriers_geoms set area = st_collectionextract(st_makevalid(area, 'method=structure'), 3)
        where reason is null and not area_valid
        """
    )
    execute(
        """
        update barriers_geoms set line = st_collectionextract(st_removerepeatedpoints(line), 2)
        where reason is null and not st_isempty(line)
        """
    )
    execute(
        """
        update barriers_geoms set reason = 'invalid'
        where reason is null and (st_isempty(area) or st_area(area) = 0) and (st_isempty(line) or st_length(line) = 0)
        """
    )
    for reason, n in fetch("select reason, count(*) from barriers_geoms where reason is not null group by 1"):
        drops[reason] += n
    execute("delete from barriers_geoms where reason is not null")
    return {"repaired": repaired}


def _network_locked(name: str) -> RoadNetwork:
    """The road network named `name`, locked for this transaction's write; RoadLoadError naming the networks."""
    net = RoadNetwork.objects.select_for_update().filter(name=name).first()
    if net is None:
        raise RoadLoadError(
            _("No road network is named %(name)s (networks: %(names)s).")
            % {"name": name, "names": ", ".join(RoadNetwork.objects.values_list("name", flat=True)) or "—"}
        )
    return net


def _kind_delete(net: RoadNetwork, kind: str) -> int:
    """Delete `net`'s barriers of `kind`; how many rows went."""
    # A plain DELETE: Django's would first load every row (national water: large polygons) into memory.
    return execute(
        sql.SQL("delete from {t} where network_id = %s and kind = %s").format(
            t=sql.Identifier(RoadBarrier._meta.db_table)
        ),
        [net.pk, kind],
    )


@transaction.atomic
def road_barriers_load(
    *,
    path: Path,
    network: str,
    kind: str = "water",
    layer: str | None = None,
    srid: int | None = None,
    replace: bool = False,
    source_description: str = "",
    source_date: date | None = None,
    progress: Progress | None = None,
) -> dict:
    """Load a file of barriers (polygons and lines) of one `kind` into the road network named `network`; all or
    nothing. Returns the load's report, also kept in the network's report under "barriers" → kind.

    GeoPackage, Shapefile or GeoJSON, in one of the portal's accepted coordinate systems (as road_network_load),
    or an OpenStreetMap extract (.osm.pbf, .osm) whose water OSM_WATER says, read by GDAL's OSM driver through
    ogr2ogr; stored in EPSG:4326. What is dropped and repaired: _barrier_stage and _barrier_geoms. A network's
    barriers of the kind are refused unless `replace` (they are then deleted first); other kinds are kept.
    RoadLoadError for a file, option or network that cannot do it, and for a file without any polygon or line.
    """
    say: Progress = progress or logger.info
    path = Path(path)
    kind = kind.strip()
    if not kind:
        raise RoadLoadError(_("Give the kind of the barriers (--kind), e.g. water, border, closed area."))
    if len(kind) > RoadBarrier._meta.get_field("kind").max_length:
        raise RoadLoadError(_("The kind %(kind)s is longer than 50 characters.") % {"kind": kind})
    if not path.is_file():
        raise RoadLoadError(_("%(path)s: no such file.") % {"path": path})
    osm = is_osm(path)
    if not osm and not path.name.lower().endswith(VECTOR_SUFFIXES):
        raise RoadLoadError(
            _(
                "Unsupported file %(name)s: give a GeoPackage, a Shapefile or a GeoJSON file of barriers, or an "
                "OpenStreetMap extract (.osm.pbf, .osm) for its water."
            )
            % {"name": path.name}
        )
    if osm and layer is not None:
        raise RoadLoadError(_("An OpenStreetMap file's water layers are chosen by the portal: give no --layer."))
    net = _network_locked(network)
    existing = RoadBarrier.objects.filter(network=net, kind=kind)
    if existing.exists():
        if not replace:
            raise RoadLoadError(
                _(
                    "The road network %(name)s has barriers of the kind %(kind)s: replace them (--replace) or give "
                    "another kind."
                )
                % {"name": net.name, "kind": kind}
            )
        say(f"replacing the {kind} barriers of {net.name}")
        _kind_delete(net, kind)
    execute(sql.SQL("drop table if exists {}").format(sql.SQL(", ").join(map(sql.Identifier, BARRIER_TEMP_TABLES))))
    drops: Counter = Counter()
    with tempfile.TemporaryDirectory(prefix="barriers-") as workdir:
        if osm:
            say(f"converting the OpenStreetMap water of {path.name} (GDAL OSM driver)")
            readable = _osm_water_to_gpkg(path, Path(workdir))
        else:
            readable = path
        try:
            source = DataSource(str(readable))
        except GDALException as exc:
            raise RoadLoadError(_("The file could not be opened: %(error)s") % {"error": exc}) from exc
        if osm:  # OSM is lon/lat (EPSG:4326); both layers go into the one staging table
            file_srid, layers = 4326, [source[name] for name, _where in OSM_WATER]
        else:
            lyr = open_layer(source, layer_name=layer)
            file_srid, layers = layer_srid(lyr, srid=srid), [lyr]
        read = _barrier_stage(layers, drops=drops, progress=say)
    say("checking geometries")
    repaired = _barrier_geoms(srid=file_srid, drops=drops)["repaired"]
    table = RoadBarrier._meta.db_table
    say("saving barriers")
    counts = {}
    for column, extract in (("area", "st_multi(area)"), ("line", "st_multi(line)")):
        counts[column] = execute(
            sql.SQL(
                """
                insert into {t} (network_id, kind, {c}, feature_id, source_file, source_description, source_date,
                                 loaded_at)
                select %s, %s, {g}, left(feature_id, 100), %s, %s, %s, now()
                from barriers_geoms where not st_isempty({c}) order by feature_id
                """
            ).format(t=sql.Identifier(table), c=sql.Identifier(column), g=sql.SQL(extract)),
            [net.pk, kind, path.name[:300], source_description[:500], source_date],
        )
    execute(sql.SQL("drop table if exists {}").format(sql.SQL(", ").join(map(sql.Identifier, BARRIER_TEMP_TABLES))))
    if counts["area"] + counts["line"] == 0:
        raise RoadLoadError(
            _("No polygon or line could be loaded from %(name)s (see what was dropped: %(drops)s).")
            % {"name": path.name, "drops": dict(drops)}
        )
    report = {
        "source_file": path.name,
        "format": "osm" if osm else "vector",
        "source_description": source_description,
        "source_date": source_date.isoformat() if source_date else None,
        "srid": file_srid,
        "features_read": read,
        "areas": counts["area"],
        "lines": counts["line"],
        "repaired": repaired,
        "dropped": dict(sorted(drops.items())),
    }
    net.report = {**net.report, "barriers": {**net.report.get("barriers", {}), kind: report}}
    net.save(update_fields=["report"])
    say(
        f"loaded {kind} barriers into {net.name}: {counts['area']} areas, {counts['line']} lines; "
        f"{repaired} repaired; dropped {dict(drops)}"
    )
    return report


@transaction.atomic
def road_barriers_delete(*, network: str, kind: str) -> int:
    """Delete the barriers of one `kind` of the road network named `network`, and their load report; the
    network and its other kinds stay. Returns how many barrier rows went. RoadLoadError for an unknown
    network or a kind it has no barrier of (naming the kinds it has)."""
    net = _network_locked(network)
    # One row per kind from the database, not one per barrier (a national water layer has many).
    kinds = list(RoadBarrier.objects.filter(network=net).order_by("kind").values_list("kind", flat=True).distinct())
    if kind not in kinds:
        raise RoadLoadError(
            _("The road network %(name)s has no barriers of the kind %(kind)s (its kinds: %(kinds)s).")
            % {"name": net.name, "kind": kind, "kinds": ", ".join(kinds) or "—"}
        )
    deleted = _kind_delete(net, kind)
    reports = {k: v for k, v in net.report.get("barriers", {}).items() if k != kind}
    net.report = {**net.report, "barriers": reports}
    net.save(update_fields=["report"])
    return deleted
