"""SQL metacharacters in every query parameter of every GET endpoint and page: never a 5xx.

The endpoint list is generated from the URL configuration; a route that is neither
exercised nor listed in SKIPPED with its reason fails the test, so new routes cannot be
forgotten. Parameter names per route: the common filter/sort names, the names the view's
module reads from request.GET / query_params, and the fields of the forms/serializers it
binds to the query string. API answers are 400 with a JSON body (or 200 when a value is
ignored); pages answer 200 (the parameter ignored or a form error), 400 or a redirect.
Sorting accepts only allow-listed names: ordering by a column that is not offered is a 400.
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

METACHARACTERS = [
    "'",
    '"',
    ";",
    "--",
    "/*",
    "*/",
    "\\",
    "%00",
    "\x00",
    "' OR '1'='1",
    "1); DROP TABLE parcels_parcel; --",
    "name\"'`;--/**/\\%00",
]
COMBINED = "x' OR 1=1; -- /* \" \\ %00 \x00 `"

COMMON = {
    "q",
    "search",
    "region",
    "district",
    "status",
    "kind",
    "measure",
    "section",
    "facility",
    "year",
    "as_of",
    "known_at",
    "format",
    "f",
    "page",
    "limit",
    "offset",
    "cursor",
    "ordering",
    "sort",
    "sortby",
    "order",
    "bbox",
    "scenario",
    "level",
    "selected",
}

# Routes not exercised here, with the reason. Everything else from the URL configuration is.
SKIPPED = {
    "i18n/setlang/": "POST-only language switch",
    "api/v1/docs/": "static Swagger UI shell (drf-spectacular)",
    "api/v1/redoc/": "static ReDoc shell (drf-spectacular)",
    "ogc/collections/<str:collection_id>": "generic OGC route; every registered collection is exercised by name",
    "ogc/collections/<str:collection_id>/queryables": "generic OGC route; exercised by name",
    "ogc/collections/<str:collection_id>/items": "generic OGC route; every registered collection is exercised by name",
    "ogc/collections/<str:collection_id>/items/<int:pk>": "generic OGC route; exercised by name",
    "api/v1/tracking/facilities/<int:pk>/stages/": "POST-only (stage records); covered by tests/tracking",
    "en/accounts/reset/<uidb64>/<token>/": "Django's password reset confirmation (token-signed)",
    "en/parcels/import/<str:token>/": "needs an uploaded file in the session; covered by tests/test_hostile_corpus.py",
    "en/parcels/import/<str:token>/choices/": "POST-only",
    "en/parcels/import/<str:token>/confirm/": "POST-only",
    "en/parcels/import/<str:token>/columns/": "POST-only",
    "en/parcels/<int:pk>/revoke/": "POST-only",
    "en/parcels/<int:pk>/restore/": "POST-only",
    "en/parcels/<int:parcel_pk>/links/<int:pk>/delete/": "POST-only",
    "en/parcels/<int:parcel_pk>/links/<int:pk>/restore/": "POST-only",
    "en/parcels/<int:parcel_pk>/documents/restore/": "POST-only",
    "en/maps/facility/<int:pk>/restore/": "POST-only; covered by tests/facilities/test_facility_restore.py",
    "en/tracking/plans/<int:pk>/restore/": "POST-only; covered by tests/tracking/test_restore.py",
    "en/tracking/plans/<int:pk>/upload/": "POST-only (a workbook upload); covered by tests/tracking/test_plan_xlsx.py",
    "en/tracking/plans/<int:pk>/rows/restore/": "POST-only; covered by tests/tracking/test_restore.py",
    "en/tracking/facility/<int:pk>/stages/restore/": "POST-only; covered by tests/tracking/test_restore.py",
    "en/parcels/<int:parcel_pk>/documents/": "POST-only upload; covered by tests/test_hostile_corpus.py",
    "en/accessibility/runs/<int:pk>/rerun/": "POST-only",
    "en/accessibility/runs/<int:pk>/repeat/": "POST-only",
    "en/accessibility/runs/<int:pk>/download/<slug:what>.<slug:fmt>": "files of a finished run; none in this test",
    "en/tracking/files/stage/<int:pk>/<str:field>/": "file download; no stage file in this test",
    "en/tracking/files/stage/<int:pk>/": "file download; no stage file in this test",
    "en/tracking/reports/<int:pk>/<str:fmt>/": "file download of a stored report; none in this test",
    "en/parcels/documents/<int:pk>/": "file download; no document in this test",
}


def routes() -> list[tuple[str, URLPattern]]:
    out = []

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                out.append((prefix + str(p.pattern), p))

    walk(get_resolver().url_patterns)
    result = []
    for route, p in out:
        route = route.replace("kk/", "en/", 1) if route.startswith("kk/") else route
        if route.startswith("en/admin/"):
            # The admin: its change lists (filters/sorting through ?o= and ?q=) of the project's apps.
            if not (p.name or "").endswith("_changelist"):
                continue
        result.append((route, p))
    return result


def param_names(pattern: URLPattern) -> set[str]:
    """Names the view's module reads from the query string (regex over its source, forms, serializers)."""
    names: set[str] = set()
    module = importlib.import_module(pattern.callback.__module__)
    if module.__name__.startswith("django."):
        return {"q", "o", "p", "all"} if module.__name__ == "django.contrib.admin.options" else names
    source = inspect.getsource(module)
    names |= set(re.findall(r"(?:GET|query_params)(?:\.get(?:list)?\(|\[)\s*[\"'](\w[\w-]*)", source))
    for group in re.findall(r"for \w+ in \(([^)]*)\)\s*\}", source):  # {k: request.GET.get(k) for k in (...)}
        names |= set(re.findall(r"[\"'](\w+)[\"']", group))
    for form_name in re.findall(r"(\w+(?:Form|Serializer))\((?:data=)?request\.(?:GET|query_params)", source):
        cls = getattr(module, form_name, None)
        if cls is not None and hasattr(cls, "base_fields"):
            names |= set(cls.base_fields)
        elif cls is not None:
            names |= set(cls().fields)
    if module.__name__.startswith("api."):
        from api.params import COMMON_PARAMS
        from gis_portal.geo.collections import collections_all

        names |= set(COMMON_PARAMS)
        for collection in collections_all():
            names |= set(collection.filters)
    return names


@pytest.fixture
def objects(admin_user_role, region_a):
    """One object of each kind a route needs, in Astana."""
    from accessibility.services import analysis_run_create
    from parcels.models import Utility
    from parcels.services import link_create, parcel_create
    from tests.parcels.conftest import base_data, facility_in, square
    from tracking.demo import demo_plans_build_and_approve
    from tracking.models import Plan, TrackedFacility

    facility = facility_in(region_a)
    parcel = parcel_create(
        user=admin_user_role,
        facility=facility,
        geom=square(facility.location, 200),
        data=base_data(cadastral_number="01-555-555-555"),
    ).obj
    link = link_create(
        user=admin_user_role, parcel=parcel, utility=Utility.objects.get(code="water"), data={"status": "planned"}
    ).obj
    demo_plans_build_and_approve()
    tracked = TrackedFacility.objects.filter(facility__region=region_a).order_by("id").first()
    run = analysis_run_create(kind="coverage", parameters={}, user=admin_user_role, enqueue=False)
    return {
        "parcel": parcel.pk,
        "link": link.pk,
        "facility": facility.pk,
        "tracked_facility": tracked.facility_id,
        "tracked": tracked.pk,
        "plan": Plan.objects.order_by("id").first().pk,
        "kato": region_a.kato,
        "region": region_a.pk,
        "district": facility.district_id,
        "run": run.pk,
    }


def fill(route: str, objects: dict) -> str | None:
    """The route with its converters replaced by real identifiers, or None if unknown."""
    by_route = {
        "api/v1/tracking/facilities/<int:pk>/": {"pk": objects["tracked_facility"]},
        "api/v1/tracking/plans/<int:pk>/": {"pk": objects["plan"]},
        "api/v1/parcels/<int:pk>/": {"pk": objects["parcel"]},
        "api/v1/parcels/<int:parcel_pk>/links/": {"parcel_pk": objects["parcel"]},
        "api/v1/parcels/<int:parcel_pk>/links/<int:pk>/": {"parcel_pk": objects["parcel"], "pk": objects["link"]},
        "api/v1/regions/<int:pk>/": {"pk": objects["region"]},
        "api/v1/districts/<int:pk>/": {"pk": objects["district"]},
        "api/v1/facilities/<int:pk>/": {"pk": objects["facility"]},
        "ogc/collections/regions/items/<int:pk>": {"pk": objects["region"]},
        "ogc/collections/districts/items/<int:pk>": {"pk": objects["district"]},
        "ogc/collections/facilities/items/<int:pk>": {"pk": objects["facility"]},
        "ogc/collections/parcels/items/<int:pk>": {"pk": objects["parcel"]},
        "ogc/collections/infrastructure-links/items/<int:pk>": {"pk": objects["link"]},
        "api/v1/infrastructure-links/<int:pk>/": {"pk": objects["link"]},
        "tiles/<slug:layer>/<int:z>/<int:x>/<int:y>.pbf": {"layer": "facilities", "z": 5, "x": 22, "y": 10},
        "en/maps/region/<str:kato>/": {"kato": objects["kato"]},
        "en/maps/facility/<int:pk>/": {"pk": objects["facility"]},
        "en/maps/facility/<int:pk>/edit/": {"pk": objects["facility"]},
        "en/tracking/region/<str:kato>/": {"kato": objects["kato"]},
        "en/tracking/facility/<int:pk>/": {"pk": objects["tracked"]},
        "en/tracking/plans/<int:pk>/": {"pk": objects["plan"]},
        "en/tracking/plans/<int:pk>/xlsx/": {"pk": objects["plan"]},
        "en/parcels/<int:pk>/": {"pk": objects["parcel"]},
        "en/parcels/<int:pk>/edit/": {"pk": objects["parcel"]},
        "en/parcels/<int:parcel_pk>/links/new/": {"parcel_pk": objects["parcel"]},
        "en/parcels/<int:parcel_pk>/links/<int:pk>/": {"parcel_pk": objects["parcel"], "pk": objects["link"]},
        "en/accessibility/runs/<int:pk>/": {"pk": objects["run"]},
        "en/accessibility/runs/<int:pk>/districts/": {"pk": objects["run"]},
        "en/accessibility/runs/<int:pk>/compare/<int:other>/": {"pk": objects["run"], "other": objects["run"]},
    }
    if route.startswith("api/v1/accessibility/runs/<int:pk>/"):
        by_route[route] = {"pk": objects["run"], "other": objects["run"]}
    if re.fullmatch(r"(ogc/collections/accessibility-[a-z-]+/items/|api/v1/accessibility-[a-z-]+/)<int:pk>/?", route):
        # Analysis result rows (accessibility/api_collections.py): the queued run has none, but every request
        # here carries a metacharacter, refused before the row is looked up.
        by_route[route] = {"pk": objects["run"]}
    if "<" not in route:
        return "/" + route
    if route not in by_route:
        return None
    url = route
    for name, value in by_route[route].items():
        url = re.sub(rf"<(?:\w+:)?{name}>", str(value), url)
    return "/" + url


def test_every_route_is_exercised_or_skipped_with_a_reason(objects):
    forgotten = [r for r, _p in routes() if r not in SKIPPED and fill(r, objects) is None]
    assert forgotten == []


def _check(url: str, response, context, failures: list) -> None:
    if response.status_code >= 500:
        failures.append((url, context, response.status_code))
    is_api = url.startswith(("/api/", "/ogc/", "/tiles/"))
    if is_api and response.status_code == 400 and "json" not in response["Content-Type"]:
        failures.append((url, context, response["Content-Type"]))


def test_sql_metacharacters_in_every_parameter_of_every_get_route(client, admin_user_role, objects):
    """As an administrator (who reaches every view's full code path): never a 5xx."""
    client.raise_request_exception = False  # collect every 5xx instead of stopping at the first
    client.force_login(admin_user_role)
    checked, failures = 0, []
    for route, pattern in routes():
        if route in SKIPPED:
            continue
        url = fill(route, objects)
        assert url is not None, f"{route}: add it to fill() or SKIPPED"
        read = sorted(param_names(pattern))
        for name in read:  # each parameter the view reads, alone, with every metacharacter at once
            _check(url, client.get(url, {name: COMBINED}), name, failures)
        everything = sorted(set(read) | COMMON)
        for value in METACHARACTERS:  # each metacharacter in every parameter at once
            _check(url, client.get(url, dict.fromkeys(everything, value)), repr(value), failures)
        checked += 1
    assert failures == []
    assert checked > 60


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/facilities/",
        "/api/v1/regions/",
        "/api/v1/districts/",
        "/api/v1/measures/",
        "/api/v1/quotas/",
        "/ogc/collections/facilities/items",
        "/ogc/collections/parcels/items",
    ],
)
@pytest.mark.parametrize(
    "ordering", ["password", "geom", "region__name_en", "id;--", "pgh_id", "-created_by__password"]
)
def test_sorting_accepts_only_allow_listed_names(client, admin_user_role, url, ordering):
    client.force_login(admin_user_role)
    for param in ("ordering", "sortby"):
        response = client.get(url, {param: ordering})
        if response.status_code == 200 and param == "sortby" and url.startswith("/api/v1/"):
            continue  # sortby is the OGC name; the REST API does not read it
        assert response.status_code == 400, (url, param, ordering, response.status_code)
        assert "json" in response["Content-Type"]


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/v1/facilities/", "password"),
        ("/api/v1/facilities/", "region__geom__intersects"),
        ("/ogc/collections/facilities/items", "created_by__password"),
        ("/api/v1/parcels/", "geom__distance_lte"),
    ],
)
def test_filters_accept_only_allow_listed_names(client, admin_user_role, url, name):
    """An unknown filter name is refused (400) or ignored (200); it never reaches the ORM as a lookup."""
    client.force_login(admin_user_role)
    response = client.get(url, {name: "x'"})
    assert response.status_code in (200, 400), response.status_code
