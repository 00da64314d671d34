"""Items statements compiled once per query shape and bound to each request's bbox (api.selectors.ItemsReads)."""

from __future__ import annotations

import json

import pytest
from django.contrib.gis.db.backends.postgis.adapter import PostGISAdapter
from django.contrib.gis.geos import Polygon
from django.utils import timezone

from api import selectors
from api.params import Box
from facilities.models import Facility
from gis_portal.geo.geojson import Statement

# Four boxes over the demo facilities (Astana, the north, the south-west, the whole country) and one off it.
BOXES = ("71.2,51.0,71.7,51.3", "60,50,88,56", "46,40,70,46", "46,40,88,56", "0,0,1,1")


def fc(response) -> dict:
    assert response.status_code == 200, response.content[:500]
    data = json.loads(response.content)
    data.pop("timeStamp")
    return data


def ids(data: dict) -> list[int]:
    return [f["id"] for f in data["features"]]


@pytest.fixture
def compiled(monkeypatch):
    """Records each ORM compilation of a page or count statement (kind, bbox extent or None)."""
    calls: list[tuple] = []
    page, count = selectors._page_statement, selectors._count_statement

    def page_counted(collection, queryset, **kwargs):
        bbox = kwargs["query"].bbox
        calls.append(("page", (bbox.x1, bbox.y1, bbox.x2, bbox.y2) if bbox else None))
        return page(collection, queryset, **kwargs)

    def count_counted(collection, queryset):
        calls.append(("count", None))
        return count(collection, queryset)

    monkeypatch.setattr(selectors, "_page_statement", page_counted)
    monkeypatch.setattr(selectors, "_count_statement", count_counted)
    selectors.statements_forget()
    yield calls
    selectors.statements_forget()


@pytest.fixture
def page_cache_off(settings):
    settings.API_RESPONSE_CACHE_SECONDS = 0


def test_a_shape_is_compiled_once_and_every_bbox_gets_its_own_rows(api, compiled, page_cache_off):
    warm = {box: fc(api.get(f"/api/v1/facilities/?bbox={box}&limit=500")) for box in BOXES}
    # The first request compiles twice (its own bbox and a moved one, to find the bbox's parameter).
    assert [kind for kind, _box in compiled] == ["page", "page"]
    assert compiled[1][1] != compiled[0][1]
    for box in BOXES:
        selectors.statements_forget()
        assert fc(api.get(f"/api/v1/facilities/?bbox={box}&limit=500")) == warm[box]
        x1, y1, x2, y2 = map(float, box.split(","))
        inside = Facility.objects.filter(location__intersects=Polygon.from_bbox((x1, y1, x2, y2)))
        assert set(ids(warm[box])) <= set(inside.values_list("pk", flat=True))
    assert len({tuple(ids(data)) for data in warm.values()}) == len(BOXES)
    assert warm[BOXES[-1]]["features"] == [] and warm[BOXES[-2]]["numberMatched"] > 0


def test_a_bbox_in_another_crs_and_the_counted_path_are_bound_too(api, compiled, settings):
    settings.API_RESPONSE_CACHE_SECONDS = 300  # the count runs first: its statement is kept as well
    crs = "bbox-crs=http://www.opengis.net/def/crs/EPSG/0/3857"
    boxes = ("7915000,6620000,7960000,6660000", "5000000,4800000,9800000,7600000")
    warm = [fc(api.get(f"/ogc/collections/facilities/items?bbox={box}&{crs}&limit=3")) for box in boxes]
    assert sorted(kind for kind, _box in compiled) == ["count", "count", "page", "page"]
    for box, data in zip(boxes, warm, strict=True):
        selectors.statements_forget()
        assert fc(api.get(f"/ogc/collections/facilities/items?bbox={box}&{crs}&limit=3")) == data
    assert 0 < warm[0]["numberMatched"] < warm[1]["numberMatched"]


def test_callers_of_different_regions_never_share_a_statement(api, token_client, akimat_a, akimat_b, compiled):
    url = "/api/v1/parcels/?bbox=40,35,95,60&limit=100"
    a = fc(token_client(akimat_a).get(url))
    b = fc(token_client(akimat_b).get(url))
    again = fc(token_client(akimat_a).get(url))
    assert again == a
    assert {f["properties"]["region"] for f in a["features"]} <= {akimat_a.membership.region.kato}
    assert {f["properties"]["region"] for f in b["features"]} <= {akimat_b.membership.region.kato}
    # Two shapes (one per region), each compiled twice; the third request compiled nothing.
    assert len([kind for kind, _box in compiled if kind == "page"]) == 4


def test_a_statement_whose_parameters_change_between_compilations_is_not_kept(
    api, compiled, monkeypatch, page_cache_off
):
    """A scope or filter reading the clock compiles on every request instead of keeping a stale time."""
    real = selectors.items_filter

    def until_now(collection, queryset, **kwargs):
        return real(collection, queryset, **kwargs).filter(updated_at__lte=timezone.now())

    monkeypatch.setattr(selectors, "items_filter", until_now)
    url = "/api/v1/facilities/?bbox=46,40,88,56&limit=5"
    first, second = fc(api.get(url)), fc(api.get(url))
    assert first == second and first["numberReturned"] == 5
    assert len([kind for kind, _box in compiled if kind == "page"]) == 4


def test_bbox_slots_are_the_geometry_parameters_that_differ():
    one = PostGISAdapter(Polygon.from_bbox((0, 0, 1, 1)))
    two = PostGISAdapter(Polygon.from_bbox((1, 1, 3, 3)))
    assert selectors._bbox_slots(Statement("q", (7, one, "x")), Statement("q", (7, two, "x"))) == (1,)
    assert selectors._bbox_slots(Statement("q", (7, one)), Statement("q", (7, one))) == ()
    assert selectors._bbox_slots(Statement("q", (7, one)), Statement("q", (8, two))) is None
    assert selectors._bbox_slots(Statement("q", (7,)), Statement("r", (7,))) is None
    assert selectors._bbox_slots(None, None) == ()
    assert selectors._bbox_slots(None, Statement("q", ())) is None


@pytest.mark.parametrize(
    "box",
    [
        Box(66.0, 46.0, 70.0, 50.0, 4326),
        Box(-180.0, -90.0, 180.0, 90.0, 4326),
        Box(71.4, 51.1, 71.4, 51.1, 4326),  # a point: still a (degenerate) polygon, as from_bbox makes it
        Box(7915000.5, 6620000.25, 7960000.0, 6660000.0, 3857),
        Box(500000.0, 5600000.0, 510000.0, 5610000.0, 32642),
    ],
)
def test_a_box_is_bound_as_the_orm_binds_its_polygon(box):
    assert box.ewkb == bytes(box.polygon.ewkb)
    compiled = PostGISAdapter(polygon_in(box.srid))
    bound = selectors._bbox_adapter(box, like=compiled)
    assert bound == PostGISAdapter(box.polygon) and bound.srid == box.srid and compiled.ewkb != bound.ewkb


def polygon_in(srid: int) -> Polygon:
    polygon = Polygon.from_bbox((0, 0, 1, 1))
    polygon.srid = srid
    return polygon


def test_a_box_never_takes_the_place_of_one_in_another_crs():
    with pytest.raises(ValueError, match="EPSG:3857"):
        selectors._bbox_adapter(Box(1, 1, 2, 2, 3857), like=PostGISAdapter(Polygon.from_bbox((0, 0, 1, 1))))
