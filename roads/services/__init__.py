"""Writes of the roads app: road networks (networks: a file becomes a routable pgRouting network), their
barriers (barriers) and the speed table's defaults; files: what the two loaders share."""

from roads.services.barriers import road_barriers_delete, road_barriers_load
from roads.services.files import RoadLoadError
from roads.services.networks import (
    edges_sql,
    pgrouting_check,
    road_network_delete,
    road_network_load,
    road_speeds_load_defaults,
)

__all__ = [
    "RoadLoadError",
    "edges_sql",
    "pgrouting_check",
    "road_barriers_delete",
    "road_barriers_load",
    "road_network_delete",
    "road_network_load",
    "road_speeds_load_defaults",
]
