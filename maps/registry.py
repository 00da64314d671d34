"""Extension point of the analysis map (/<lang>/maps/analysis/).

Another app (the accessibility analysis, issue 7) adds layers from its AppConfig.ready():

    from maps.registry import register_analysis_layer

    def build_catchments(*, map, request, options):
        # add folium elements to `map` (a layers.webmap.builders.base_map); read your own
        # selectors; `options` holds the analysis page's GET parameters.
        FeatureLayer(data=catchments_geojson(...), name=_("Catchments"), options={...}).add_to(map)

    register_analysis_layer(key="catchments", label=_("Catchments"), build=build_catchments, order=20)

Each builder may also return a dict of legend entries {label: colour} shown under the map.
The page checks the viewer's role (accounts.permissions) before any builder runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class AnalysisLayer:
    key: str
    label: str
    build: Callable[..., dict | None]
    order: int = 100


_layers: dict[str, AnalysisLayer] = {}


def register_analysis_layer(*, key: str, label, build: Callable[..., dict | None], order: int = 100) -> None:
    """Register (or replace, by `key`) a layer builder of the analysis map."""
    if not key or not key.replace("_", "").isalnum():
        raise ValueError(f"analysis layer key {key!r} must be letters, digits and underscores")
    _layers[key] = AnalysisLayer(key=key, label=label, build=build, order=order)


def unregister_analysis_layer(*, key: str) -> None:
    _layers.pop(key, None)


def analysis_layers() -> list[AnalysisLayer]:
    return sorted(_layers.values(), key=lambda layer: (layer.order, layer.key))
