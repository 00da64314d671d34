"""Totals add up: demand just off the generalised district outlines goes to the nearest district within the
tolerance, what lies farther out is an explicit "outside every district" row, and the national total is the sum
of the region rows and that row (real PostGIS, the bundled geokz boundaries)."""

import pytest
from django.db import connection

from accessibility import selectors
from accessibility.models import AnalysisRun, PointResult, ZoneResult
from accessibility.notes import note_text
from accessibility.services import analysis_run_create, analysis_run_execute
from layers.analysis.demand import DISTRICT_TOLERANCE_M
from layers.models import District, Settlement

# South of Zhetysai district (Turkistan region) on the border with Uzbekistan: 1.6 km beyond the district's
# outline (its nearest district; the next one, Shardara, is about 20 km away), and 58 km beyond it.
NEAR_OUTSIDE = "SRID=4326;POINT(67.97655 40.81408)"
FAR_OUTSIDE = "SRID=4326;POINT(67.97655 40.29177)"
ZHETYSAI_KATO = "613800000"


@pytest.fixture
def border_settlements(db, region_b, wkt):
    """Two settlements of Turkistan region outside every district outline: 120 children near, 45 far."""
    return [
        Settlement.objects.create(
            name=name,
            population=children * 3,
            child_population=children,
            region=region_b,
            source="test settlements (totals)",
            source_id=name,
            location=wkt(where),
        )
        for name, where, children in (("near", NEAR_OUTSIDE, 120), ("far", FAR_OUTSIDE, 45))
    ]


def _run(kind, params):
    run = analysis_run_execute(run_id=analysis_run_create(kind=kind, parameters=params, enqueue=False).pk)
    assert run.status == AnalysisRun.Status.DONE, run.error
    return run


def _district_of(settlement_ids: list[int], region_ids: list[int]) -> dict[int, tuple[int | None, bool]]:
    """Independently of the analysis: (district, inside its outline) of each settlement. The district is the
    one containing it, else the nearest within the tolerance (geodesic metres, PostGIS geography; ties to the
    lowest KATO), kept only when it belongs to one of `region_ids`; None = outside every district of the run."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT s.id, (
                SELECT d.id FROM layers_district d
                WHERE d.geom IS NOT NULL AND d.geom && ST_Expand(s.location, 0.2)
                  AND ST_DWithin(d.geom::geography, s.location::geography, %s)
                ORDER BY ST_Distance(d.geom::geography, s.location::geography), d.kato LIMIT 1
            ), EXISTS (SELECT 1 FROM layers_district d WHERE ST_Intersects(d.geom, s.location))
            FROM layers_settlement s WHERE s.id = ANY(%s)
            """,
            [DISTRICT_TOLERANCE_M, settlement_ids],
        )
        nearest = {sid: (did, inside) for sid, did, inside in cur.fetchall()}
    region_of = dict(
        District.objects.filter(id__in=[d for d, _ in nearest.values() if d]).values_list("id", "region_id")
    )
    return {
        sid: (did if did and region_of[did] in region_ids else None, inside) for sid, (did, inside) in nearest.items()
    }


def test_fixture_points_lie_outside_every_district(border_settlements):
    near, far = border_settlements
    assert not District.objects.filter(geom__intersects=near.location).exists()
    assert not District.objects.filter(geom__intersects=far.location).exists()
    assert _district_of([near.id, far.id], [near.region_id]) == {
        near.id: (District.objects.get(kato=ZHETYSAI_KATO).id, False),
        far.id: (None, False),
    }


def test_coverage_totals_add_up_exactly(border_settlements, region_b):
    near, far = border_settlements
    run = _run("coverage", {"region_ids": [region_b.id], "facilities": {"scope": "all"}})
    rows = list(ZoneResult.objects.filter(run=run, scenario="current"))
    national = [r for r in rows if r.region_id is None and not r.outside]
    outside = [r for r in rows if r.outside]
    regions = [r for r in rows if r.region_id is not None and r.district_id is None]
    districts = [r for r in rows if r.district_id is not None]
    assert len(national) == 1 and len(outside) == 1 and len(regions) == 1
    (nat,), (out,), (reg,) = national, outside, regions
    assert out.region_id is None and out.district_id is None

    # What each zone must hold, from PostGIS alone.
    d = run.parameters["demand"]
    s = selectors.settlements_demand(
        indicator=d["indicator"], year=d["year"], default_child_share=d["default_child_share"], region_ids=[region_b.id]
    )
    zone_of = _district_of(s.ids.tolist(), [region_b.id])
    assert zone_of[near.id][0] == District.objects.get(kato=ZHETYSAI_KATO).id and zone_of[far.id][0] is None
    expected: dict[int | None, float] = {}
    snapped = 0.0
    for sid, children in zip(s.ids.tolist(), s.children.tolist(), strict=True):
        district, inside = zone_of[sid]
        expected[district] = expected.get(district, 0.0) + children
        snapped += children if district is not None and not inside else 0.0
    assert snapped >= 120
    assert out.children == pytest.approx(expected.get(None, 0.0), abs=1e-9) and out.children >= 45
    for row in districts:
        assert row.children == pytest.approx(expected.get(row.district_id, 0.0), abs=1e-6), row.district_id

    # The sums: region = its districts, national = regions + the outside row, for every additive figure.
    for field in ("children", "covered"):
        assert getattr(reg, field) == pytest.approx(sum(getattr(r, field) for r in districts), rel=1e-12)
        assert getattr(nat, field) == pytest.approx(getattr(reg, field) + getattr(out, field), rel=1e-12)
    assert nat.children == pytest.approx(float(s.children.sum()), rel=1e-12)
    assert run.summary["children"] == pytest.approx(nat.children, rel=1e-12)

    notes = [note_text(n) for n in run.notes]
    assert any(
        f"{snapped:.0f} children outside every district outline were assigned to the nearest district within 5000 m"
        in n
        and f"{out.children:.0f} children lie farther out" in n
        for n in notes
    ), notes
    assert run.inputs["demand"]["district_tolerance_m"] == DISTRICT_TOLERANCE_M


def test_fca_and_roadmap_store_the_outside_row_and_real_children(border_settlements, region_b):
    near, far = border_settlements
    fca = _run("fca", {"region_ids": [region_b.id], "facilities": {"scope": "all"}})
    out = ZoneResult.objects.get(run=fca, outside=True)
    nat = ZoneResult.objects.get(run=fca, outside=False, region__isnull=True, district__isnull=True)
    reg = ZoneResult.objects.get(run=fca, region=region_b, district__isnull=True)
    assert nat.children == pytest.approx(reg.children + out.children, rel=1e-12)
    assert nat.without_access == pytest.approx(reg.without_access + out.without_access, rel=1e-12)
    # Every settlement row holds the children the run counted (2SFCA rows used to store 0).
    points = dict(PointResult.objects.filter(run=fca).values_list("settlement_id", "children"))
    assert points[near.id] == 120 and points[far.id] == 45
    assert sum(points.values()) == pytest.approx(nat.children, rel=1e-12)

    roadmap = _run("roadmap", {"region_ids": [region_b.id]})
    for scenario in ("before", "after"):
        rows = ZoneResult.objects.filter(run=roadmap, scenario=scenario)
        out = rows.get(outside=True)
        nat = rows.get(outside=False, region__isnull=True, district__isnull=True)
        reg = rows.get(region=region_b, district__isnull=True)
        assert out.children >= 45
        for field in ("children", "covered", "without_access"):
            assert getattr(nat, field) == pytest.approx(getattr(reg, field) + getattr(out, field), rel=1e-12)


def test_api_lists_the_outside_row(client, planner, border_settlements, region_b):
    run = _run("coverage", {"region_ids": [region_b.id], "facilities": {"scope": "all"}})
    client.force_login(planner)
    body = client.get(f"/api/v1/accessibility/runs/{run.pk}/zones/?level=outside").json()
    assert [(r["outside"], r["region_kato"], r["district_kato"]) for r in body["results"]] == [(True, None, None)]
    assert body["results"][0]["children"] == ZoneResult.objects.get(run=run, outside=True).children
    every = client.get(f"/api/v1/accessibility/runs/{run.pk}/zones/?level=all").json()["results"]
    assert sum(r["outside"] for r in every) == 1
    national = client.get(f"/api/v1/accessibility/runs/{run.pk}/zones/?level=national").json()["results"]
    assert len(national) == 1 and national[0]["outside"] is False
    assert national[0]["children"] == pytest.approx(
        sum(r["children"] for r in every if r["region_kato"] and not r["district_kato"])
        + sum(r["children"] for r in every if r["outside"]),
        rel=1e-12,
    )
