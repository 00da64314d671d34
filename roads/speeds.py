"""Road attributes read from files: which OSM ways are roads, surfaces, one-way flags, speed limits, defaults.

No ORM here: roads.services and the data migration share it. Speeds are km/h.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

DEFAULT_SPEEDS_FILE = Path(__file__).resolve().parent / "data" / "default_speeds.yaml"

# OpenStreetMap `highway` values loaded from an .osm/.osm.pbf extract: the roads a car uses to reach a
# facility. Left out: paths and footways, cycleways, steps, pedestrian areas, bridleways (not driven),
# roads under construction, proposed or abandoned (not there yet / any more), raceways, bus guideways.
# `track` stays in: in rural Kazakhstan a field track is often the only way to a settlement.
OSM_ROAD_CLASSES = frozenset(
    {
        "motorway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "track",
        "road",
        "motorway_link",
        "trunk_link",
        "primary_link",
        "secondary_link",
        "tertiary_link",
    }
)
# OSM classes that are one-way unless tagged otherwise (OSM wiki, Key:oneway): motorways, and roundabouts.
OSM_IMPLIED_ONEWAY_CLASSES = frozenset({"motorway"})

# OSM `surface` values → the surface groups of the speed table; paved (and unknown) surfaces set no cap.
SURFACE_GROUPS: dict[str, str] = {
    **dict.fromkeys(["gravel", "fine_gravel", "compacted", "pebblestone", "unhewn_cobblestone"], "gravel"),
    **dict.fromkeys(["unpaved", "dirt", "earth", "ground"], "unpaved"),
    **dict.fromkeys(["sand", "mud", "grass", "grass_paver", "salt", "snow", "ice"], "soft"),
    **dict.fromkeys(
        ["paved", "asphalt", "concrete", "concrete:plates", "concrete:lanes", "paving_stones", "sett", "cobblestone"],
        "paved",
    ),
}
SURFACE_CAP_GROUPS = ("gravel", "unpaved", "soft")

ONEWAY_FORWARD = frozenset({"yes", "true", "1", "y", "t", "forward", "ft"})
ONEWAY_BACKWARD = frozenset({"-1", "reverse", "backward", "tf"})
ONEWAY_NO = frozenset({"no", "false", "0", "n", "f", "both", ""})

_OTHER_TAGS = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')
_MAXSPEED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$", re.IGNORECASE)
MPH_KMH = 1.609344


def other_tags(text: str | None) -> dict[str, str]:
    """The tags GDAL's OSM driver packs into `other_tags` ("key"=>"value",...) as a dict."""
    if not text:
        return {}
    return {k.replace('\\"', '"'): v.replace('\\"', '"') for k, v in _OTHER_TAGS.findall(text)}


def surface_group(value: str | None) -> str:
    """'gravel', 'unpaved', 'soft', 'paved' or '' (not known): the speed table's name for a surface value."""
    if not value:
        return ""
    value = value.strip().lower()
    if value in SURFACE_CAP_GROUPS or value == "paved":
        return value
    return SURFACE_GROUPS.get(value, "")


def oneway_direction(value: str | None, *, road_class: str = "", junction: str | None = None) -> int:
    """1: one-way along the line; -1: one-way against it; 0: both ways.

    Unknown values count as two-way (the cautious reading for access: not closing a road by mistake).
    Motorways and roundabouts are one-way unless tagged `oneway=no` (OSM's implied one-way).
    """
    text = (value or "").strip().lower()
    if text in ONEWAY_FORWARD:
        return 1
    if text in ONEWAY_BACKWARD:
        return -1
    if text and text in ONEWAY_NO:
        return 0
    if not text and (road_class in OSM_IMPLIED_ONEWAY_CLASSES or (junction or "").lower() == "roundabout"):
        return 1
    return 0


def maxspeed_kmh(value: str | int | float | None) -> float | None:
    """A speed limit in km/h from '90', '90 km/h', '55 mph' or a number; None when absent or not a speed
    (OSM's 'RU:urban', 'none', 'signals' and the like say nothing we can use)."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value) if value > 0 else None
    match = _MAXSPEED.match(str(value).split(";")[0])
    if not match:
        return None
    speed = float(match.group(1))
    if (match.group(2) or "").lower() == "mph":
        speed *= MPH_KMH
    return speed if speed > 0 else None


def default_speed_rows(path: Path = DEFAULT_SPEEDS_FILE) -> list[dict]:
    """The default rows of the speed table (dicts with the RoadSpeed fields), from data/default_speeds.yaml."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))

    def row(item: dict, *, kind: str, road_class: str = "", surface: str = "") -> dict:
        return {
            "kind": kind,
            "road_class": road_class,
            "surface": surface,
            "speed_kmh": float(item["speed_kmh"]),
            "label_kk": item["kk"],
            "label_ru": item["ru"],
            "label_en": item["en"],
            "reasoning": item["reasoning"],
        }

    rows = [row(r, kind="road", road_class=r["road_class"]) for r in data["roads"]]
    rows += [row(r, kind="road", surface=r["surface"]) for r in data["surfaces"]]
    rows.append(row(data["off_network"], kind="off_network"))
    return rows
