"""Permission matrix (issue 8): every role × every route of the URL configuration × own/other region.

The routes are walked from django.urls.get_resolver() (i18n pages in English, /en/...), so a new
route fails `test_every_route_is_classified` until tests/permission_matrix_routes.py says who may
read and write it. The admin site is enumerated from admin.site._registry (changelist, add,
change, delete and history of an own- and an other-region object).

Roles: anonymous, akimat of Astana city (a), akimat of Turkistan region (b), planner, admin.
Reads: an unexpected 2xx fails; an expected one that is not 200 fails too (the table stays true).
Every 2xx body seen by anonymous or an akimat is searched for the private markers (cadastral
numbers, act numbers, document titles) of regions it may not read.
Writes: POST/PUT/PATCH/DELETE by roles that may not write are refused (401/403/404/405 or a
redirect to sign in), never 2xx and never a success redirect, and the database is unchanged
(row counts, versions and update times of every table of the portal's apps).
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import translation
from rest_framework.authtoken.models import Token

from accounts.permissions import Action
from layers.models import District
from tests.permission_matrix_routes import (
    ADMIN_ADDERS,
    ADMIN_MODELS,
    ROLES,
    ROUTES,
    SIDES,
    Side,
    allowed,
)

LANG = "en"
REFUSED = {401, 403, 404, 405}
APPS_WATCHED = ("accounts", "layers", "facilities", "parcels", "tracking", "accessibility", "auth", "authtoken")


# --- the URL configuration ---------------------------------------------------------------------


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace
            if ns == "admin":
                yield ("admin:", prefix + str(entry.pattern), None)
                continue
            child_ns = f"{namespace}{ns}:" if ns else namespace
            yield from _walk(entry, prefix + str(entry.pattern), child_ns)
        elif isinstance(entry, URLPattern):
            full = prefix + str(entry.pattern)
            key = f"{namespace}{entry.name}" if entry.name else full
            yield (key, full, entry)


def urlconf_routes() -> dict[str, str]:
    """Route key (namespaced name, or pattern when unnamed) → full pattern; admin as one entry."""
    with translation.override(LANG):
        found: dict[str, str] = {}
        for key, full, _entry in _walk(get_resolver()):
            # The i18n prefix renders as the active language; strip it so keys are stable.
            found.setdefault(key.removeprefix(f"{LANG}/"), full)
        return found


def test_every_route_is_classified():
    routes = urlconf_routes()
    assert "admin:" in routes, "the admin site is expected under i18n_patterns"
    unclassified = sorted(k for k in routes if k != "admin:" and k not in ROUTES)
    vanished = sorted(k for k in ROUTES if k not in routes)
    assert not unclassified, f"routes missing from tests/permission_matrix_routes.py ROUTES: {unclassified}"
    assert not vanished, f"ROUTES entries with no route any more: {vanished}"
    registered = {m._meta.label for m in admin.site._registry}
    assert registered == set(ADMIN_MODELS), (
        f"admin models not classified: {sorted(registered - set(ADMIN_MODELS))}; "
        f"classified but not registered: {sorted(set(ADMIN_MODELS) - registered)}"
    )
    assert set(ADMIN_ADDERS) == {label for label, (policy, _attr) in ADMIN_MODELS.items() if policy == "region"}


# --- objects of both regions ---------------------------------------------------------------------


def _side(*, region, admin_user, key: str, cadastral: str) -> Side:
    from parcels.models import InfrastructureLink, Utility
    from parcels.services import document_add, parcel_create
    from tests.parcels.conftest import base_data, square
    from tracking.models import Report, TrackedFacility
    from tracking.services import stage_record_add

    tracked = (
        TrackedFacility.objects.filter(
            facility__region=region, facility__location__isnull=False, facility__district__isnull=False
        )
        .select_related("facility")
        .order_by("facility_id")
        .first()
    )
    facility = tracked.facility
    # Recorded by hand before the parcel exists (once it does, the parcel decides that stage): a
    # stage record with a file whose access the matrix checks.
    stage = stage_record_add(
        tracked=tracked,
        stage="parcel",
        actual_date=date(2024, 3, 1),
        doc_number=f"PMX-STG-{key}",
        doc_date=date(2024, 3, 1),
        doc_file=SimpleUploadedFile("act.pdf", b"%PDF-1.4 permission matrix"),
    )
    parcel = parcel_create(
        user=admin_user,
        facility=facility,
        geom=square(facility.location, 150),
        data=base_data(cadastral_number=cadastral, act_number=f"PMX-ACT-{key}"),
    ).obj
    link = InfrastructureLink.objects.create(
        parcel=parcel,
        utility=Utility.objects.get(code="water"),
        region=region,
        status="planned",
        balance_act_number=f"PMX-BAL-{key}",
    )
    document = document_add(
        user=admin_user,
        parcel=parcel,
        uploaded_file=SimpleUploadedFile("scan.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20),
        title=f"PMX-DOC-{key}",
        kind="plan",
        max_bytes=10_000,
    )
    report = Report.objects.create(
        kind=Report.Kind.REGION,
        region=region,
        as_of=date(2025, 7, 1),
        known_at=date(2025, 7, 1),
        language=LANG,
        data={},
        xlsx_file=ContentFile(b"PK", name=f"r-{key}.xlsx"),
        pdf_file=ContentFile(b"%PDF-1.4", name=f"r-{key}.pdf"),
        csv_file=ContentFile(f"PMX-REPORT-{key}".encode(), name=f"r-{key}.csv"),
        submitted_by=admin_user,
    )
    return Side(
        region=region,
        district=District.objects.filter(region=region).order_by("pk").first(),
        facility=facility,
        tracked=tracked,
        parcel=parcel,
        link=link,
        document=document,
        stage=stage,
        report=report,
        markers=[
            cadastral,
            f"PMX-ACT-{key}",
            f"PMX-BAL-{key}",
            f"PMX-DOC-{key}",
            f"PMX-STG-{key}",
            f"PMX-REPORT-{key}",
        ],
    )


@pytest.fixture
def world(db, settings, tmp_path, region_a, region_b, admin_user_role):
    """Parcels, links, scans, stage records and reports in both regions; a plan and a run (national)."""
    from accessibility.services import analysis_run_create
    from tracking.demo import demo_plans_build_and_approve

    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    plans = demo_plans_build_and_approve()
    w = {
        "a": _side(region=region_a, admin_user=admin_user_role, key="A", cadastral="01-777-777-771"),
        "b": _side(region=region_b, admin_user=admin_user_role, key="B", cadastral="19-777-777-772"),
        "plan": plans[12],
        "run": analysis_run_create(
            kind="coverage", parameters={"region_ids": [region_a.id, region_b.id]}, enqueue=False
        ),
    }
    yield w
    cache.clear()


@pytest.fixture
def users(akimat_a, akimat_b, planner, admin_user_role):
    return {"anonymous": None, "akimat_a": akimat_a, "akimat_b": akimat_b, "planner": planner, "admin": admin_user_role}


def client_for(user, *, token: bool = False) -> Client:
    client = Client()
    if user is not None:
        if token:
            key = Token.objects.get_or_create(user=user)[0].key
            client.defaults["HTTP_AUTHORIZATION"] = f"Token {key}"
        else:
            client.force_login(user)
    return client


# --- building the requests ---------------------------------------------------------------------


def is_api(key: str) -> bool:
    return ":" not in key and key.startswith(("api-", "ogc", "tiles", "tracking-api", "accessibility-api"))


def requests_for(world) -> list[tuple[str, str, str | None, str]]:
    """(label, url, side, access) for every classified route, each sided route for both regions."""
    out = []
    with translation.override(LANG):
        for key, rule in ROUTES.items():
            if rule.variants is not None:
                for label, kwargs, query, side, access in rule.variants(world):
                    url = reverse(key, kwargs=kwargs) + ("?" + urlencode(query) if query else "")
                    out.append((f"{key}[{label}]", url, side, access))
                continue
            for side in SIDES if rule.sided else (None,):
                url = _url(key, rule, world, side or "a")
                if rule.query:
                    url += "?" + urlencode(rule.query(world, side or "a"))
                out.append((f"{key}[{side}]" if side else key, url, side, rule.access))
    return out


def _url(key: str, rule, world, side: str) -> str:
    kwargs = rule.kwargs(world, side) if rule.kwargs else {}
    if "<" in key:  # unnamed pattern: fill it in
        path = key
        for name, value in kwargs.items():
            path = path.replace(f"<str:{name}>", str(value)).replace(f"<int:{name}>", str(value))
        return "/" + path
    return reverse(key, kwargs=kwargs)


def leaks(body: bytes, role: str, world) -> list[str]:
    """Private markers in a response `role` may not see (anonymous: all; akimat: the other region's)."""
    if role == "anonymous":
        hidden = world["a"].markers + world["b"].markers
    elif role.startswith("akimat_"):
        other = "b" if role == "akimat_a" else "a"
        hidden = world[other].markers
    else:
        return []
    return [m for m in hidden if m.encode() in body]


def body_of(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


def is_login_redirect(response) -> bool:
    return response.status_code in (301, 302, 303) and "login" in response.get("Location", "")


# --- reads ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_reads(role, world, users):
    """GET of every route: 2xx exactly where the table allows it; never a private marker of another region."""
    user = users[role]
    session = client_for(user)
    token = client_for(user, token=True) if user is not None else None
    problems = []
    seen: set[str] = set()
    markers = world["a"].markers + world["b"].markers
    for label, url, side, access in requests_for(world):
        key = label.split("[")[0]
        clients = [("session", session)]
        if token is not None and is_api(key) and access != "public":
            clients.append(("token", token))
        for how, client in clients:
            response = client.get(url)
            code = response.status_code
            expected = allowed(access, role, side)
            if 200 <= code < 300:
                body = body_of(response)
                seen.update(m for m in markers if m.encode() in body)
                if not expected:
                    problems.append(f"{label} {url} ({how}): unexpected {code}")
                found = leaks(body, role, world)
                if found:
                    problems.append(f"{label} {url} ({how}): leaks {found}")
            elif expected:
                problems.append(f"{label} {url} ({how}): expected 200, got {code}")
            elif code == 200 or code >= 500:
                problems.append(f"{label} {url} ({how}): {code}")
    # The markers are really findable: the roles that may read a region's records do see them.
    readable = {"planner": "ab", "admin": "ab", "akimat_a": "a", "akimat_b": "b"}.get(role, "")
    for side in readable:
        missing = [m for m in world[side].markers if m not in seen]
        if missing:
            problems.append(f"markers of region {side} never seen: {missing}")
    assert not problems, f"{role}:\n" + "\n".join(problems)


# --- writes --------------------------------------------------------------------------------------


def db_state() -> dict[str, tuple]:
    """Row count, sum of versions and latest update time of every table of the portal's apps."""
    from django.apps import apps

    parts = []
    for model in apps.get_models():
        if model._meta.app_label not in APPS_WATCHED or model._meta.proxy or not model._meta.managed:
            continue
        names = {f.column for f in model._meta.concrete_fields}
        version = "sum(version)" if "version" in names else "0"
        updated = "max(updated_at)::text" if "updated_at" in names else "''"
        table = connection.ops.quote_name(model._meta.db_table)
        parts.append(f"SELECT '{model._meta.db_table}', count(*), {version}, {updated} FROM {table}")
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        return {row[0]: row[1:] for row in cursor.fetchall()}


def write_cases(world):
    """(label, url, method, data, access, side) for the writes of every route, on region-a objects."""
    out = []
    with translation.override(LANG):
        for key, rule in ROUTES.items():
            if rule.public_post or (rule.variants is not None and rule.write is None):
                continue
            url = _url(key, rule, world, "a")
            if rule.write is not None:
                data = rule.write.data(world, "a") if rule.write.data else {}
                for method in rule.write.methods:
                    out.append((key, url, method, data, rule.write.access, "a"))
            else:
                # Read-only routes: no role may write through them (anonymous tries every method).
                for method in ("post", "put", "patch", "delete") if is_api(key) else ("post",):
                    out.append((key, url, method, {}, "nobody", "a"))
                    if not is_api(key):
                        break
    return out


@pytest.mark.parametrize("role", ["anonymous", "akimat_a", "akimat_b", "planner"])
def test_writes_refused(role, world, users):
    """Writes by a role the table does not allow are refused and change nothing (objects of region a)."""
    user = users[role]
    clients = [("session", client_for(user))]
    if user is not None:
        clients.append(("token", client_for(user, token=True)))
    problems = []
    # Nothing may change at all, so every request is compared with the state before the first one.
    before = db_state()
    for key, url, method, data, access, side in write_cases(world):
        if allowed(access, role, side):
            continue
        read_only = access == "nobody"
        if read_only and user is not None and method != "post":
            continue  # signed-in roles: one POST per read-only route is enough
        for how, client in clients:
            if how == "token" and not is_api(key):
                continue
            if how == "session" and read_only and user is not None and is_api(key):
                continue  # the API's read-only routes are tried with the token
            if method == "post":
                response = client.post(url, data)
            else:
                response = getattr(client, method)(url, data, content_type="application/json")
            code = response.status_code
            after = db_state()
            if before != after:
                changed = sorted(t for t in after if before.get(t) != after[t])
                problems.append(f"{key} {method.upper()} {url} ({how}): changed {changed} (HTTP {code})")
                before = after
            if code in REFUSED or is_login_redirect(response):
                continue
            if access == "nobody" and code in (200, 400) and allowed(ROUTES[key].access, role, side):
                # A page the role may read that ignores or rejects the method; nothing was written.
                continue
            problems.append(f"{key} {method.upper()} {url} ({how}): not refused, HTTP {code}")
    assert not problems, f"{role}:\n" + "\n".join(problems)


# --- admin ---------------------------------------------------------------------------------------


def admin_cases(world):
    """(label, url, side, kind) for every registered model: changelist, add, change/delete/history."""
    out = []
    with translation.override(LANG):
        for model in admin.site._registry:
            label = model._meta.label
            policy, attr = ADMIN_MODELS[label]
            info = (model._meta.app_label, model._meta.model_name)
            out.append((f"{label} changelist", reverse("admin:{}_{}_changelist".format(*info)), None, "list"))
            out.append((f"{label} add", reverse("admin:{}_{}_add".format(*info)), None, "add"))
            if policy == "region":
                objects = [(side, getattr(world[side], attr)) for side in SIDES]
            else:
                first = model._default_manager.order_by("pk").first()
                objects = [(None, first)] if first is not None else []
            # Delete confirmation pages only for region-bound records (for reference data they collect
            # thousands of related rows; only administrators may delete those anyway).
            views = ("change", "delete", "history") if policy == "region" else ("change", "history")
            for side, obj in objects:
                for view in views:
                    url = reverse(f"admin:{info[0]}_{info[1]}_{view}", args=[obj.pk])
                    out.append((f"{label} {view}[{side}]", url, side, view))
    return out


def admin_allowed(label: str, kind: str, role: str, side: str | None) -> bool | None:
    """True: must be 200; False: must not be 2xx; None: either (decided by the model's admin)."""
    policy, _attr = ADMIN_MODELS[label]
    if role == "anonymous":
        return False
    if policy == "admin":
        return None if role == "admin" else False
    if role == "admin":
        return None
    if policy == "reference":
        return False if (kind == "add" and role.startswith("akimat")) else None
    if kind == "add":
        return None if role.startswith(ADMIN_ADDERS[label] or "-") else False
    # Region-bound records: another region's object is never shown to an akimat.
    if role.startswith("akimat") and side is not None and role != f"akimat_{side}":
        return False
    return None


@pytest.mark.parametrize("role", ROLES)
def test_admin(role, world, users):
    client = client_for(users[role])
    problems = []
    admin_seen = 0
    for label, url, side, kind in admin_cases(world):
        response = client.get(url)
        code = response.status_code
        must = admin_allowed(label.split(" ")[0], kind, role, side)
        if code >= 500:
            problems.append(f"{label} {url}: {code}")
        elif must is False and 200 <= code < 300:
            problems.append(f"{label} {url}: unexpected {code}")
        elif 200 <= code < 300:
            found = leaks(body_of(response), role, world)
            if found:
                problems.append(f"{label} {url}: leaks {found}")
        if role == "admin" and kind in ("list", "change", "history"):
            admin_seen += 1
            if code != 200:
                problems.append(f"{label} {url}: admin expected 200, got {code}")
        if role == "anonymous" and not is_login_redirect(response):
            problems.append(f"{label} {url}: anonymous not sent to sign in ({code})")
    assert not problems, f"{role}:\n" + "\n".join(problems)


@pytest.mark.parametrize("role", ["anonymous", "akimat_b", "planner"])
def test_admin_writes_refused(role, world, users):
    """Admin change and delete POSTs on region-a records by roles that may not edit them change nothing."""
    client = client_for(users[role])
    problems = []
    with translation.override(LANG):
        for label, (policy, attr) in ADMIN_MODELS.items():
            if policy != "region":
                continue
            obj = getattr(world["a"], attr)
            model_admin = admin.site._registry[type(obj)]
            if role == "planner" and getattr(model_admin, "write_action", None) == Action.PLAN:
                continue  # planners edit ministry records (facilities of the plan)
            info = (obj._meta.app_label, obj._meta.model_name)
            for view, data in (("change", {}), ("delete", {"post": "yes"})):
                url = reverse(f"admin:{info[0]}_{info[1]}_{view}", args=[obj.pk])
                before = db_state()
                response = client.post(url, data)
                if db_state() != before:
                    problems.append(f"{label} {view}: database changed (HTTP {response.status_code})")
                if 200 <= response.status_code < 300 and view == "delete":
                    problems.append(f"{label} {view}: {response.status_code}")
                if response.status_code in (301, 302) and not (
                    is_login_redirect(response) or response["Location"].rstrip("/").endswith("/admin")
                ):
                    problems.append(f"{label} {view}: redirected to {response['Location']}")
    assert not problems, f"{role}:\n" + "\n".join(problems)


@pytest.mark.parametrize("how", ["page", "api"])
def test_creating_a_parcel_for_another_region_is_refused(how, world, users, region_a):
    """A complete, valid new parcel for a region-a facility: refused for akimat b and the planner (nothing
    saved); the very same request by region a's akimat succeeds, so the refusal is the permission's."""
    import json

    from facilities.models import Facility
    from parcels.models import Parcel
    from tests.parcels.conftest import square

    facility = (
        Facility.objects.filter(region=region_a, location__isnull=False, district__isnull=False)
        .exclude(pk=world["a"].facility.pk)
        .order_by("pk")
        .first()
    )
    props = {
        "cadastral_number": "01-555-555-551",
        "declared_area_ha": "2.25",
        "land_category": "settlement",
        "right_type": "temporary_free",
        "status": "allocated",
    }
    geom = square(facility.location, 150)

    def attempt(client):
        if how == "page":
            with translation.override(LANG):
                url = reverse("parcels:create")
            return client.post(url, {**props, "facility": facility.pk, "geom": geom.json})
        feature = {
            "type": "Feature",
            "geometry": json.loads(geom.json),
            "properties": {**props, "facility_id": facility.pk},
        }
        return client.post("/api/v1/parcels/", json.dumps(feature), content_type="application/json")

    clients = {
        role: client_for(users[role], token=how == "api") for role in ("anonymous", "akimat_b", "planner", "akimat_a")
    }
    before = db_state()
    for role in ("anonymous", "akimat_b", "planner"):
        response = attempt(clients[role])
        assert db_state() == before, f"{role}: the database changed"
        if how == "page" and response.status_code == 200:
            # The form offers only the facilities the user may edit: another region's is an invalid choice.
            assert "facility" in response.context["form"].errors, f"{role}: 200 without a facility error"
            continue
        if how == "api" and response.status_code == 400:
            # Same answer as for a facility that does not exist: nothing about region a is revealed.
            assert [e["field"] for e in response.json()["errors"]] == ["facility_id"], f"{role}: {response.json()}"
            continue
        assert response.status_code in REFUSED or is_login_redirect(response), (
            f"{role}: HTTP {response.status_code} {body_of(response)[:300]!r}"
        )
    response = attempt(clients["akimat_a"])
    assert response.status_code in (201, 302), body_of(response)[-2000:]
    assert Parcel.objects.filter(cadastral_number="01-555-555-551", facility=facility).exists()
