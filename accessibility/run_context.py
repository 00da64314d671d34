"""What the analyses of one run share: its inputs (zones, demand source, urban rule, radii, scaling to official
figures) and the shape of its results (zone rows, the outcome that accessibility.execution stores).

Geometry is EPSG:4326; distances are metres on the WGS 84 ellipsoid; children are raster units (people) or
settlement counts, scaled to official totals only when the run's parameters ask for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from django.utils.translation import gettext_noop

from accessibility import selectors
from accessibility.boundaries import BoundaryTally, boundary_notes, inside_zones, tallied
from accessibility.friction_grid import FrictionGrid, friction_grid_build
from accessibility.models import PopulationRaster
from accessibility.notes import note, plural_note, population_kind_notes
from layers.analysis.coverage import Facilities, Radius
from layers.analysis.demand import RasterSpec, Zones, points_demand, raster_demand
from layers.analysis.friction import catchment_cell_times
from layers.analysis.scaling import zone_factors
from layers.analysis.travel import RoadGraph, Snap
from layers.analysis.urban import UrbanExtents
from roads.models import RoadNetwork
from roads.selectors import off_network_speed_kmh, road_graph_arrays

Progress = Callable[[float, str], None]


def _checked_off_network(kmh: float) -> float:
    """The speed table's off-network speed, km/h, or a ValueError saying how to load it (nan: no row)."""
    if not kmh > 0:
        raise ValueError("the speed table has no off-network speed: load the defaults (manage.py load_road_speeds)")
    return kmh


@dataclass
class ZoneRow:
    scenario: str
    region_id: int | None
    district_id: int | None
    children: float
    covered: float | None = None
    served: float | None = None
    mean_distance_m: float | None = None
    access_per_1000: float | None = None
    without_access: float | None = None
    scale_factor: float | None = None
    outside: bool = False  # the demand outside every district (beyond the tolerance): region and district None
    within_minutes: list[float] | None = None  # travel runs: children within each threshold (parameters' order)
    not_reachable: float | None = None  # travel runs: children farther than max_snap_m from roads and facilities


@dataclass
class Outcome:
    """What one run produced; services.analysis_run_execute stores it."""

    zone_rows: list[ZoneRow] = field(default_factory=list)
    bins: list[tuple[str, float, float | None, float]] = field(default_factory=list)  # scenario, lower, upper, n
    points: list[dict] = field(default_factory=list)  # per settlement
    sites: list[dict] = field(default_factory=list)
    areas: list[dict] = field(default_factory=list)
    # Travel-time coverage, per facility × threshold: {"facility_id", "minutes", "geom"} (shapely, EPSG:4326).
    isochrones: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    inputs: dict = field(default_factory=dict)
    summary: dict = field(default_factory=dict)


class Context:
    """Inputs shared by the analyses of one run: zones, demand source, radii."""

    def __init__(self, *, params: dict, raster: PopulationRaster | None, output_dir: Path, progress: Progress):
        self.params = params
        self.raster = raster
        self.output_dir = output_dir
        self.progress = progress
        self.capacity_notes: list[dict] = []  # said once per run, whatever the scenarios
        region_ids = params.get("region_ids") or None
        self.region_ids = region_ids
        self.zoneset = selectors.zones_load(region_ids=region_ids)
        self.zones = Zones(geoms=self.zoneset.geoms, others=self.zoneset.others)
        self.n_zones = len(self.zoneset.geoms)
        # What the latest read of the demand met at the district boundaries (every read sees the same demand).
        self.tally = BoundaryTally(self.n_zones)
        self.last_factors = np.ones(self.n_zones + 1)
        # A travel-time run reaches facilities by road and stores no radii (parameters hold only what is read).
        self.travel = params.get("travel")
        self.radii = (
            {k: Radius(v["urban_m"], v["rural_m"]) for k, v in params["radii"].items()} if self.travel is None else {}
        )
        self._road_graph: RoadGraph | None = None
        self._road_snaps: dict[bytes, Snap] = {}  # road_snap's, by the points' digest
        self._friction_grid: FrictionGrid | None = None
        self._cell_catchments: dict[bytes, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}  # cell_catchment's
        self.network: RoadNetwork | None = None
        demand = params["demand"]
        self.settlements = None
        self.urban_extents = None
        self.urban_min_population = int(demand["urban_min_population"])
        self.settlement_urban: dict[int, bool] = {}
        if demand["source"] == "settlements":
            self.settlements = selectors.settlements_demand(
                indicator=demand["indicator"],
                year=demand["year"],
                default_child_share=demand["default_child_share"],
                region_ids=region_ids,
            )
            urban = self.settlements.population >= self.urban_min_population
            self.settlement_urban = dict(zip(self.settlements.ids.tolist(), urban.tolist(), strict=True))
        else:
            towns = selectors.towns(min_population=self.urban_min_population)
            self.urban_extents = UrbanExtents(
                lon=towns.lon, lat=towns.lat, population=towns.population, min_population=self.urban_min_population
            )
        self.official: dict[int, dict] = {}
        self.district_official: dict[int, dict] = {}  # district id -> its own official figure
        self.region_factor: dict[int, float | None] = {}
        if demand["source"] == "raster" and demand.get("scale_to_official"):
            self.official = selectors.official_figures(
                indicator=raster.indicator, year=demand["year"], region_ids=region_ids
            )
            self.district_official = selectors.district_official_figures(
                indicator=raster.indicator, year=demand["year"], region_ids=region_ids
            )
        self.population_level = selectors.demand_population_level(
            indicator=raster.indicator if self.settlements is None else demand["indicator"],
            year=demand["year"],
            region_ids=region_ids,
            settlements=self.settlements,
            scaled=bool(self.official or self.district_official),
        )

    # -- inputs ------------------------------------------------------------------------------------------

    def facilities(self, *, as_of: date, scope: str) -> tuple[Facilities, dict]:
        purpose = self.params["facilities"].get("purpose")  # absent in runs stored before purposes
        kinds = self.params["facilities"].get("kinds") or (
            selectors.purpose_kinds(purpose=purpose) if purpose else None
        )
        f = selectors.facilities_in_scope(as_of=as_of, scope=scope, kinds=kinds)
        # By travel time no straight-line radius applies: an unbounded one, so that nothing is cut off by distance
        # (the travel pass never asks the facilities for a radius).
        radii = self.radii if self.travel is None else {k: Radius(np.inf, np.inf) for k in set(f.kinds)}
        fac = Facilities(
            lon=f.lon,
            lat=f.lat,
            kinds=f.kinds,
            radii=radii,
            capacity=f.places,
            ids=f.ids,
            yearly_capacity=f.capacity,
        )
        if f.shifts_assumed:
            self.capacity_notes.append(
                note(
                    gettext_noop(
                        "capacity = places × shifts per year; the shifts figure of %(kinds)s is assumed, not an "
                        "official norm"
                    ),
                    kinds=", ".join(f.shifts_assumed),
                )
            )
        info = {
            "purpose": purpose,
            "kinds": kinds,
            "as_of": as_of.isoformat(),
            "scope": scope,
            "count": int(len(f.ids)),
            "ids": f.ids.tolist(),
            "without_location": f.without_location,
            "demo": f.demo,
            "rule": f.note,
        }
        return fac, info

    def road_graph(self) -> RoadGraph:
        """The run's road network in memory (read once per run), with the run's largest off-network stretch."""
        if self._road_graph is None:
            arrays = road_graph_arrays(network=self._network_row())
            arrays.pop("edge_length_m")
            off = _checked_off_network(arrays.pop("off_network_kmh"))
            self._road_graph = RoadGraph.from_arrays(
                **arrays, off_network_kmh=off, max_snap_m=float(self.travel["max_snap_m"])
            )
        return self._road_graph

    def road_snap(self, lon: np.ndarray, lat: np.ndarray) -> Snap:
        """graph.snap(lon, lat) of the run's road graph, made once per run for a set of points.

        A roadmap run's four passes (coverage and 2SFCA, before and after) and a best-sites run's coverage
        pass and candidate matrix read the same settlements: the nearest-node search over the network is
        the same each time (it depends on the network, max_snap_m and the points only).
        """
        lon = np.ascontiguousarray(lon, dtype=np.float64)
        lat = np.ascontiguousarray(lat, dtype=np.float64)
        key = hashlib.blake2b(lon.tobytes() + b"|" + lat.tobytes(), digest_size=16).digest()
        snap = self._road_snaps.get(key)
        if snap is None:
            snap = self._road_snaps[key] = self.road_graph().snap(lon, lat)
        return snap

    def _network_row(self) -> RoadNetwork:
        if self.network is None:
            try:
                self.network = RoadNetwork.objects.get(pk=self.travel["network"])
            except RoadNetwork.DoesNotExist:
                raise ValueError(
                    f"travel.network: the road network {self.travel['network']} no longer exists"
                ) from None
        return self.network

    def friction_grid(self) -> FrictionGrid:
        """The run's friction raster for travel time with a population raster (accessibility.friction_grid), built
        once per run: the roadmap's two scenarios share it."""
        if self._friction_grid is None:
            self._friction_grid = friction_grid_build(
                network=self._network_row(),
                raster=self.raster,
                zone_geoms=self.zoneset.geoms,
                thresholds_min=list(self.travel["thresholds_min"]),
                off_network_kmh=_checked_off_network(off_network_speed_kmh()),
            )
        return self._friction_grid

    def cell_catchment(
        self, fxy: np.ndarray, *, limit_s: float, nearest_s: Callable[[], np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """catchment_cell_times of facilities at `fxy` (lon, lat; EPSG:4326) within `limit_s` seconds over the run's
        friction grid, searched once per run: a roadmap run's coverage and 2SFCA passes of one scenario read the
        same catchments (one search per facility each, halved). `nearest_s` makes the nearest-facility surface
        (seconds, exact at least up to `limit_s`) that cuts the searches down, only when they run: it changes
        how much is searched, not what is found. The pairs are kept until the run ends (24 bytes each)."""
        fxy = np.ascontiguousarray(fxy, dtype=np.float64)
        key = hashlib.blake2b(fxy.tobytes() + b"|" + repr(float(limit_s)).encode(), digest_size=16).digest()
        found = self._cell_catchments.get(key)
        if found is None:
            fg = self.friction_grid()
            found = self._cell_catchments[key] = catchment_cell_times(
                fg.grid, fg.friction, facilities_xy=fxy, limit_s=limit_s, nearest_s=nearest_s()
            )
        return found

    def travel_inputs(self) -> dict:
        """Where the network came from and what the run used of it (stored with the run's inputs; max_snap_m is
        stored for every run but only settlements use it: a raster's cells walk the friction grid)."""
        n = self._network_row()
        grid_or_graph = self.road_graph() if self.settlements is not None else self.friction_grid()
        off = grid_or_graph.off_network_kmh
        return {
            "network": {
                "id": n.pk,
                "name": n.name,
                "label": n.label,
                "source_file": n.source_file,
                "source_description": n.source_description,
                "source_date": n.source_date.isoformat() if n.source_date else None,
                "loaded_at": n.loaded_at.isoformat(),
                "edges": n.edge_count,
                "vertices": n.vertex_count,
                "length_km": n.length_km,
                # Where each kind of barrier came from (roads.services.road_barriers_load's report), when loaded.
                "barriers": {
                    kind: {k: r.get(k) for k in ("source_file", "source_description", "source_date")}
                    for kind, r in (n.report or {}).get("barriers", {}).items()
                },
            },
            "thresholds_min": list(self.travel["thresholds_min"]),
            "max_snap_m": float(self.travel["max_snap_m"]),
            "off_network_kmh": off,
        }

    def chunks(self, *, progress: Callable[[float], None] | None = None, stats: dict | None = None):
        self.tally = BoundaryTally(self.n_zones)
        if self.settlements is not None:
            s = self.settlements
            chunks = points_demand(
                lon=s.lon,
                lat=s.lat,
                children=s.children,
                population=s.population,
                zones=self.zones,
                ids=s.ids,
                urban_min_population=self.params["demand"]["urban_min_population"],
            )
            return tallied(chunks, self.tally)
        spec = RasterSpec(path=self.raster.path, bands=tuple(self.raster.children_bands))
        chunks = raster_demand(spec, zones=self.zones, progress=progress, stats=stats, urban=self.urban_extents)
        return tallied(chunks if not self.region_ids else inside_zones(chunks, self.tally), self.tally)

    def zone_notes(self) -> list[dict]:
        """What the latest read of the demand met at the district boundaries (scaled as the rows are)."""
        return boundary_notes(tally=self.tally, factors=self.last_factors, tolerance_m=self.zones.tolerance_m)

    def demand_inputs(self) -> dict:
        d = dict(self.params["demand"])
        if self.settlements is not None:
            d["settlements"] = int(len(self.settlements.ids))
            d["children_from"] = self.settlements.share_sources
            d["children_by_kind"] = {k: round(v, 1) for k, v in self.settlements.children_by_kind.items()}
            d["osm_places"] = self.settlements.osm_places
        else:
            d["raster"] = {
                "id": self.raster.id,
                "name": self.raster.name,
                "path": self.raster.path,
                "bands": list(self.raster.children_bands),
                "source": self.raster.source,
                "year": self.raster.year,
                "crs": self.raster.crs_name,
            }
        if self.official:
            d["official_figures"] = {str(k): v for k, v in self.official.items()}
        if self.district_official:
            d["district_figures"] = {str(k): v for k, v in self.district_official.items()}
        d["population_level"] = self.population_level["basis"]
        d["zones"] = self.n_zones
        return d

    def demand_notes(self) -> list[str]:
        notes = list(self.population_level["notes"])
        if (
            self.settlements is not None
            and self.settlements.share_sources["official_share"] + self.settlements.share_sources["default_share"]
        ):
            src = self.settlements.share_sources
            notes.append(
                plural_note(
                    "children_estimated",
                    n=src["official_share"] + src["default_share"],
                    official=src["official_share"],
                    default=src["default_share"],
                    share=f"{self.params['demand']['default_child_share']:.2f}",
                )
            )
        if self.settlements is not None:
            notes += population_kind_notes(
                children_by_kind=self.settlements.children_by_kind, osm_places=self.settlements.osm_places
            )
        return notes

    def factors(self, raw_by_slot: np.ndarray) -> tuple[np.ndarray, list[str], dict]:
        """Per-zone-slot factors scaling the raster to official totals (ones when not asked)."""
        if not self.official and not self.district_official:
            if self.settlements is None and self.params["demand"].get("scale_to_official"):
                return (
                    np.ones(self.n_zones + 1),
                    [
                        note(
                            gettext_noop(
                                "scaling to official totals was asked, but no official figure was found: raster "
                                "values are used as they are"
                            )
                        )
                    ],
                    {},
                )
            return np.ones(self.n_zones + 1), [], {}
        official = {r: v["value"] for r, v in self.official.items()}
        own = {
            i: self.district_official[int(d)]["value"]
            for i, d in enumerate(self.zoneset.district_ids)
            if int(d) in self.district_official
        }
        factors, report = zone_factors(
            raw_by_slot=raw_by_slot,
            zone_region=self.zoneset.region_ids,
            official_by_region=official,
            official_by_zone=own,
        )
        self.region_factor = {r: v["factor"] for r, v in report.items()}
        scaled = [r for r, v in report.items() if v["factor"] is not None]
        self.last_factors = np.asarray(factors, dtype=np.float64)
        notes = [
            note(
                gettext_noop(
                    "the raster was scaled to the official totals (%(indicator)s) in %(n)s region(s) (factor per "
                    "region stored with the results); children outside every district keep factor 1"
                ),
                indicator=self.raster.indicator,
                n=len(scaled),
            )
        ]
        return factors, notes, {str(k): v for k, v in report.items()}

    # -- shaping results -----------------------------------------------------------------------------------

    def zone_rows_from(
        self,
        *,
        scenario: str,
        children: np.ndarray,
        factors: np.ndarray,
        covered=None,
        served=None,
        distance_sum=None,
        weighted_access=None,
        without_access=None,
        within_minutes=None,
        not_reachable=None,
    ) -> list[ZoneRow]:
        """District rows, region totals, the outside row and the national total from per-slot arrays.

        The arrays are already scaled; their last slot is outside every district. A region is the sum of
        its districts and the national total the sum of the regions and the outside row.
        """
        rows: list[ZoneRow] = []
        zs = self.zoneset

        def pick(arr, sl):
            return None if arr is None else float(np.sum(arr[sl]))

        def make(region, district, sl, factor=None, outside=False):
            ch = float(np.sum(children[sl]))
            wa = pick(weighted_access, sl)
            ds = pick(distance_sum, sl)
            return ZoneRow(
                scenario=scenario,
                region_id=region,
                district_id=district,
                children=ch,
                covered=pick(covered, sl),
                served=pick(served, sl),
                mean_distance_m=(ds / ch if ds is not None and ch > 0 else None),
                access_per_1000=(wa / ch if wa is not None and ch > 0 else None),
                without_access=pick(without_access, sl),
                scale_factor=factor,
                outside=outside,
                within_minutes=None if within_minutes is None else [float(np.sum(w[sl])) for w in within_minutes],
                not_reachable=pick(not_reachable, sl),
            )

        scaled = bool(self.official or self.district_official)
        for i, district_id in enumerate(zs.district_ids):
            f = float(factors[i]) if scaled else None
            rows.append(make(int(zs.region_ids[i]), int(district_id), [i], f))
        for region in np.unique(zs.region_ids):
            idx = np.nonzero(zs.region_ids == region)[0]
            # The region's overall factor: its districts may have factors of their own.
            f = self.region_factor.get(int(region), float(factors[idx[0]])) if scaled else None
            rows.append(make(int(region), None, idx, f))
        # The last slot: demand beyond the tolerance of every district. Always stored (even when empty) so
        # that the national row is visibly the sum of the region rows and this one.
        rows.append(make(None, None, [len(zs.district_ids)], outside=True))
        rows.append(make(None, None, slice(None)))
        return rows
