"""Shared fixtures. The test database is real PostGIS, created by pytest-django.

The roadmap's reference data, the default boundaries (bundled in data/, or
BOUNDARIES_PATH), the demo facilities and the demo consolidated plans that
approve them (as scripts/run loads them: the public sees only the facilities of
approved plans) are loaded once per session and committed, so tests (in their
own rolled-back transactions) and an external server process started by browser tests all see the same data.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.core.cache import cache
from django.core.management import call_command
from django.utils import translation
from pyproj import Geod

from accessibility.models import AnalysisRun
from accessibility.services import analysis_run_create, analysis_run_execute
from accounts.models import Membership
from accounts.selectors import token_rows_forget
from accounts.services import user_with_role_ensure
from api import throttling
from layers.models import PopulationFigure, Region, Settlement
from parcels.models import Parcel
from tracking.demo import demo_plans_build_and_approve


def official_children_figure(region: Region, *, value: int, year: int = 2024) -> PopulationFigure:
    """The region's official count of children aged 0–17 for `year` (a test figure), replacing any there is:
    what a run scaled to official totals (demand.scale_to_official) scales its raster's children to."""
    figure, _created = PopulationFigure.objects.update_or_create(
        region=region,
        district=None,
        year=year,
        indicator="children_0_17",
        defaults={"value": value, "source": "test official figure", "is_official": True},
    )
    return figure


def parcel_with_act(facility, *, cadastral_number: str, act_number: str) -> Parcel:
    """A 1.5 ha parcel with an issued land-use act around `facility`'s location (EPSG:4326, a 0.001° buffer):
    private data that the public pages must never show."""
    return Parcel.objects.create(
        facility=facility,
        region=facility.region,
        district=facility.district,
        cadastral_number=cadastral_number,
        geom=MultiPolygon(facility.location.buffer(0.001), srid=4326),
        declared_area_ha=Decimal("1.5"),
        computed_area_ha=Decimal("1.5"),
        area_srid=32642,
        land_category="settlement",
        right_type="temporary_free",
        act_number=act_number,
        act_date=date(2024, 5, 15),
        status="act_issued",
    )


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty cache (the test profile's is the process's memory): fair-use
    counters, cached pages and map shells of an earlier test must not decide this one's responses.
    The fair-use throttle also keeps its counts in the process (api.throttling.counter), and token
    authentication its recently read rows (accounts.selectors._token_rows): emptied too."""
    cache.clear()
    throttling.counter.clear()
    token_rows_forget()
    yield
    cache.clear()
    throttling.counter.clear()
    token_rows_forget()


@pytest.fixture
def no_token_cache(settings):
    """Every request reads its API token (API_TOKEN_CACHE_SECONDS=0): for tests that count a request's
    queries, the token's one included, whatever an earlier request of the test read."""
    settings.API_TOKEN_CACHE_SECONDS = 0


@pytest.fixture(autouse=True)
def english_unless_asked():
    """Each test starts in English, whatever an earlier test's request activated (LocaleMiddleware leaves its
    language active in the thread); a test that needs Kazakh or Russian asks for it (URL prefix or override)."""
    with translation.override("en"):
        yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("load_reference_data", verbosity=0)
        call_command("load_default_boundaries", verbosity=0)
        call_command("load_demo_data", verbosity=0)
        demo_plans_build_and_approve()


@pytest.fixture
def wkt():
    """Build a GEOS geometry from SRID-tagged WKT: wkt("SRID=4326;POINT(71.4 51.1)")."""

    def make(text: str) -> GEOSGeometry:
        assert text.startswith("SRID="), "geometry fixtures carry their SRID explicitly"
        return GEOSGeometry(text)

    return make


@pytest.fixture
def region_a(db):
    """Astana city (KATO 710000000)."""
    return Region.objects.get(kato="710000000")


@pytest.fixture
def region_b(db):
    """Turkistan region (KATO 610000000)."""
    return Region.objects.get(kato="610000000")


@pytest.fixture
def akimat_a(db, region_a):
    user_with_role_ensure(
        username="akimat_a", role=Membership.Role.AKIMAT, region_kato=region_a.kato, password="pw-a-12345!"
    )
    return get_user_model().objects.get(username="akimat_a")


@pytest.fixture
def akimat_b(db, region_b):
    user_with_role_ensure(
        username="akimat_b", role=Membership.Role.AKIMAT, region_kato=region_b.kato, password="pw-b-12345!"
    )
    return get_user_model().objects.get(username="akimat_b")


@pytest.fixture
def planner(db):
    user_with_role_ensure(username="planner_t", role=Membership.Role.PLANNER, password="pw-p-12345!")
    return get_user_model().objects.get(username="planner_t")


@pytest.fixture
def admin_user_role(db):
    user_with_role_ensure(username="admin_t", role=Membership.Role.ADMIN, password="pw-admin-12345!")
    return get_user_model().objects.get(username="admin_t")


# --- a small world for the accessibility analyses (Astana = region a, Turkistan region = region b) ---------

GEOD = Geod(ellps="WGS84")
SOURCE = "test settlements (accessibility)"


@pytest.fixture
def astana_settlements(db, region_a):
    """Four settlements east of Astana's centre at 1, 2, 4 and 40 km, with child counts."""
    lon0, lat0 = region_a.centre.x, region_a.centre.y
    east = [1_000, 2_000, 4_000, 40_000]
    lon, lat, _ = GEOD.fwd([lon0] * 4, [lat0] * 4, [90] * 4, east)
    rows = []
    for i, (x, y, children) in enumerate(zip(lon, lat, [300, 100, 400, 70], strict=True), start=1):
        rows.append(
            Settlement.objects.create(
                name=f"T{i}",
                population=children * 3,
                child_population=children,
                region=region_a,
                source=SOURCE,
                source_id=str(i),
                location=f"SRID=4326;POINT({x} {y})",
            )
        )
    return rows


@pytest.fixture
def turkistan_settlements(db, region_b):
    """Two settlements north of Turkistan region's centre at 2 and 25 km, with child counts."""
    lon0, lat0 = region_b.centre.x, region_b.centre.y
    lon, lat, _ = GEOD.fwd([lon0] * 2, [lat0] * 2, [0, 0], [2_000, 25_000])
    return [
        Settlement.objects.create(
            name=f"B{i}",
            population=children * 3,
            child_population=children,
            region=region_b,
            source="test settlements (collections)",
            source_id=str(i),
            location=f"SRID=4326;POINT({x} {y})",
        )
        for i, (x, y, children) in enumerate(zip(lon, lat, [500, 90], strict=True), start=1)
    ]


def _run(kind: str, regions, **extra) -> AnalysisRun:
    params = {"region_ids": [r.id for r in regions], "facilities": {"scope": "all"}, **extra}
    run = analysis_run_execute(run_id=analysis_run_create(kind=kind, parameters=params, enqueue=False).pk)
    assert run.status == AnalysisRun.Status.DONE, run.error
    return run


@pytest.fixture
def runs(astana_settlements, turkistan_settlements, region_a, region_b):
    both = [region_a, region_b]
    return {
        "coverage": _run("coverage", both),
        "sites": _run("sites", both, sites={"k": 3, "candidates": "settlements"}),
        # No facility is open (no tracking records here): every child is uncovered, hexagons in both regions.
        "underserved": _run(
            "underserved", both, facilities={"scope": "open"}, underserved={"hex_size_m": 5_000, "top": 1000}
        ),
    }
