"""The bundled OpenStreetMap places: loaded by the session setup (load_default_boundaries), counted by class and
figure, placed in districts by PostGIS, reloaded without change, never counted beside the GeoNames places."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef

from layers.models import District, Settlement
from layers.settlement_selectors import GEONAMES_SOURCE, OSM_SOURCE, settlements_counted
from layers.settlement_services import OSM_PLACES_FILE, SettlementLoadError, settlements_load_osm

OSM = Settlement.objects.filter(source=OSM_SOURCE)


def test_the_session_loaded_every_osm_place_by_class_and_figure(db):
    assert OSM.count() == 9_899
    by_class = dict(OSM.order_by().values_list("place_class").annotate(n=Count("id")))
    assert by_class == {"city": 22, "town": 183, "village": 3_856, "hamlet": 3_518, "isolated_dwelling": 2_320}
    assert OSM.filter(population_kind=Settlement.PopulationKind.OSM_TAG).count() == 3_547
    # No official total is loaded in the test session, so the others have no figure yet (and count nobody).
    unknown = OSM.filter(population_kind=Settlement.PopulationKind.UNKNOWN)
    assert unknown.count() == 9_899 - 3_547 and not unknown.exclude(population=0).exists()


def test_districts_and_regions_come_from_the_points(db):
    inside = OSM.filter(district__isnull=False)
    contains = District.objects.filter(pk=OuterRef("district_id"), geom__contains=OuterRef("location"))
    assert not inside.exclude(Exists(contains)).exists()
    assert not inside.exclude(region_id=F("district__region_id")).exists()
    outside = OSM.filter(district__isnull=True)
    assert 0 < outside.count() < 500  # the shore of the Caspian, the borders: kept, without region or district
    assert not outside.filter(region__isnull=False).exists()
    assert not outside.filter(Exists(District.objects.filter(geom__contains=OuterRef("location")))).exists()


def test_osm_places_replace_geonames_in_what_is_counted(db):
    counted = settlements_counted()
    assert not counted.filter(source=GEONAMES_SOURCE).exists()
    assert counted.filter(source=OSM_SOURCE).count() == 9_899
    assert Settlement.objects.filter(source=GEONAMES_SOURCE).count() == 351  # kept for the demo facilities


def test_reload_changes_nothing_and_keeps_an_official_figure(db):
    place = OSM.filter(population_kind=Settlement.PopulationKind.OSM_TAG).order_by("pk").first()
    Settlement.objects.filter(pk=place.pk).update(
        population=4_321, child_population=1_000, population_kind="official", population_source="akimat list"
    )
    fields = ("pk", "name", "place_class", "population", "population_kind", "district_id", "region_id", "location")
    before = sorted(OSM.values_list(*fields))
    report = settlements_load_osm(path=settings.SHARED_DATA_DIR / OSM_PLACES_FILE)
    assert (report.created, report.updated, report.official_kept) == (0, 9_899, 1)
    assert report.with_population == 3_547 and report.outside_districts == OSM.filter(district__isnull=True).count()
    assert sorted(OSM.values_list(*fields)) == before
    place.refresh_from_db()
    assert (place.population, place.child_population, place.population_source) == (4_321, 1_000, "akimat list")


def _feature(osm_id, place, lon, lat, population=None, name="Test"):
    return {
        "type": "Feature",
        "properties": {"name": name, "place": place, "population": population, "osm_id": osm_id, "osm_type": "nodes"},
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }


def test_a_small_file_counts_its_classes_tags_and_places_outside(db, tmp_path):
    outside_before = OSM.filter(district__isnull=True).count()
    path = tmp_path / "places.geojson"
    features = [
        _feature(1, "village", 68.25, 42.30, "120"),  # Turkistan region
        _feature(2, "hamlet", 68.30, 42.35),
        _feature(3, "isolated_dwelling", 0.0, 0.0),  # the Gulf of Guinea
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    report = settlements_load_osm(path=path)
    assert (report.created, report.with_population, report.outside_districts) == (3, 1, outside_before + 1)
    assert report.by_class == {"village": 1, "hamlet": 1, "isolated_dwelling": 1}
    village = Settlement.objects.get(source=OSM_SOURCE, source_id="node/1")
    assert (village.population, village.population_kind, village.region.kato) == (120, "osm_tag", "610000000")
    far = Settlement.objects.get(source=OSM_SOURCE, source_id="node/3")
    assert far.region_id is None and far.district_id is None and far.population_kind == "unknown"


@pytest.mark.parametrize(
    ("feature", "message"),
    [
        (_feature(9, "suburb", 68.3, 42.3), "feature 2: place='suburb'"),
        ({"type": "Feature", "properties": {"place": "hamlet", "osm_id": 9}, "geometry": None}, "feature 2: expected"),
        (_feature(9, "hamlet", 268.3, 42.3), "feature 2: (268.3, 42.3) is not a longitude/latitude"),
    ],
)
def test_a_bad_feature_is_named_and_nothing_is_loaded(db, tmp_path, feature, message):
    path = tmp_path / "bad.geojson"
    good = _feature(8, "hamlet", 68.3, 42.3)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [good, feature]}))
    with pytest.raises(SettlementLoadError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settlements_load_osm(path=path)
    assert not Settlement.objects.filter(source=OSM_SOURCE, source_id="node/8").exists()
