"""Settlement import, raster registration and parameter checks."""

import json

import pytest

from accessibility.models import PopulationRaster
from accessibility.services import (
    RasterRegistrationError,
    RunParameterError,
    SettlementImportError,
    population_raster_register,
    run_parameters_normalise,
    settlements_import,
)
from layers.models import Settlement

CSV = """name,lon,lat,population,child_population,kato,id
Aul A,71.40,51.10,1200,400,711210000,a
Aul B,71.50,51.20,900,,,b
"""


def test_settlements_import_csv_then_update(db, region_a):
    result = settlements_import(content=CSV.encode(), fmt="csv", source="census 2021")
    assert (result.created, result.updated, result.unmatched) == (2, 0, [])
    a = Settlement.objects.get(source="census 2021", source_id="a")
    assert (a.population, a.child_population, a.kato, a.region_id) == (1200, 400, "711210000", region_a.id)
    b = Settlement.objects.get(source="census 2021", source_id="b")
    assert b.child_population is None and b.region_id == region_a.id  # region from the point, in PostGIS
    again = CSV.replace("1200,400", "1300,500")
    result = settlements_import(content=again, fmt="csv", source="census 2021")
    assert (result.created, result.updated, result.matched["own"]) == (0, 2, 2)
    assert Settlement.objects.get(source="census 2021", source_id="a").child_population == 500


def test_settlements_import_geojson(db):
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [69.6, 42.3]},
                "properties": {"name": "Shymkent test", "population": 5000, "child_population": 1800, "id": 7},
            }
        ],
    }
    assert settlements_import(content=json.dumps(fc), fmt="geojson", source="geo test").created == 1
    s = Settlement.objects.get(source="geo test")
    assert (s.location.x, s.location.y, s.child_population) == (69.6, 42.3, 1800)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,lon,lat\nA,1,2\n", "missing column(s) population"),
        ("name,lon,lat,population\nA,71,51,-5\n", "CSV line 2: field 'population'"),
        ("name,lon,lat,population,child_population\nA,71,51,10,20\n", "child_population 20 exceeds population 10"),
        ("name,lon,lat,population,kato\nA,71,51,10,12\n", "'12' is not a 9-digit KATO code"),
        ("name,lon,lat,population\nA,71,51,10\n,71,51,10\n", "CSV line 3: field 'name' is required"),
    ],
)
def test_settlements_import_errors_name_the_row_and_save_nothing(db, text, message):
    before = Settlement.objects.count()
    with pytest.raises(SettlementImportError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settlements_import(content=text, fmt="csv", source="bad file")
    assert Settlement.objects.count() == before


def test_raster_registration_reads_metadata_only(db, utm_raster):
    r = population_raster_register(path=utm_raster, name="Astana test", bands=[1], year=2024, source="hand-built")
    assert (r.width, r.height, r.band_count, r.children_bands) == (20, 20, 1, [1])
    assert "32642" in r.crs_name and r.pixel_size_x == 500
    assert r.extent.contains(r.extent.centroid) and 71 < r.extent.centroid.x < 72
    with pytest.raises(RasterRegistrationError, match=r"bands \[2\] do not exist"):
        population_raster_register(path=utm_raster, name="x", bands=[1, 2], year=2024, source="s")
    with pytest.raises(RasterRegistrationError, match="not a readable raster"):
        population_raster_register(path=utm_raster.with_suffix(".csv"), name="x", bands=[1], year=2024, source="s")
    assert PopulationRaster.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("nope", {}, "kind: 'nope'"),
        ("coverage", {"radii": {"art_school": {"urban_m": -5}}}, "radii.art_school.urban_m"),
        ("coverage", {"facilities": {"as_of": "2025-13-01"}}, "facilities.as_of"),
        ("coverage", {"facilities": {"scope": "maybe"}}, "facilities.scope"),
        ("coverage", {"demand": {"source": "raster"}}, "demand.raster_id: required"),
        ("coverage", {"colour": "red"}, "unknown parameters: colour"),
        ("sites", {"sites": {"candidates": "points", "points": [[71.4]]}}, r"sites.points\[0\]"),
        ("sites", {"sites": {"k": 0}}, "sites.k"),
    ],
)
def test_parameter_errors_name_the_parameter(db, kind, raw, message):
    with pytest.raises(RunParameterError, match=message):
        run_parameters_normalise(kind=kind, raw=raw)


def test_parameters_are_completed_with_defaults(db):
    p = run_parameters_normalise(kind="sites", raw={"facilities": {"as_of": "2025-06-30"}})
    # A best-sites run takes the purpose of its new sites' kind (a creative centre by default).
    assert p["facilities"] == {"as_of": "2025-06-30", "scope": "open_or_planned", "purpose": "education", "kinds": []}
    assert p["radii"]["art_school"] == {"urban_m": 3000.0, "rural_m": 15000.0}
    assert p["sites"]["k"] == 5 and p["sites"]["method"] == "greedy"
    assert run_parameters_normalise(kind="sites", raw=p) == p  # stored parameters reproduce the run
