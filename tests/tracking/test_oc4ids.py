"""The OC4IDS export (tracking.oc4ids, /api/v1/open-data/oc4ids.json) and the optional finances of a facility.

The package is validated OFFLINE against the OC4IDS 0.9.3 schema shipped in data/oc4ids/ (the
package schema's $ref to the project schema resolved from the file through a referencing
Registry, draft 4, date-time formats checked), and the codes it uses are checked against the
shipped codelists. The mapping is compared with values worked out by hand from the records made here.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from facilities.models import Facility
from facilities.services import FacilityValidationError, bin_is_valid, facility_update
from gis_portal.history import history_head
from tests.conftest import parcel_with_act
from tracking.models import TrackedFacility

pytestmark = pytest.mark.django_db

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "data" / "oc4ids" / "0.9.3"
URL = "/api/v1/open-data/oc4ids.json"
VALID_BIN = "050140001238"  # check digit by hand: (5·2 + 1·4 + 4·5 + 1·9 + 2·10 + 3·11) mod 11 = 96 mod 11 = 8
SECRET = "Secret Builders LLP"


def _validator() -> Draft4Validator:
    package = json.loads((SCHEMA_DIR / "project-package-schema.json").read_text(encoding="utf-8"))
    project = json.loads((SCHEMA_DIR / "project-schema.json").read_text(encoding="utf-8"))
    registry = Registry().with_resource(project["id"], Resource.from_contents(project, default_specification=DRAFT4))
    return Draft4Validator(package, registry=registry, format_checker=FormatChecker())


def _codes(name: str) -> set[str]:
    with (SCHEMA_DIR / "codelists" / name).open(encoding="utf-8", newline="") as f:
        return {row["Code"] for row in csv.DictReader(f)}


def _dt(day: str) -> str:
    return f"{day}T00:00:00+05:00"


def _tracked_facilities(count: int) -> list[TrackedFacility]:
    """Tracked facilities of the approved demo plans that have a location and a district, none with records."""
    return list(
        TrackedFacility.objects.filter(
            in_plan=True,
            plan_item__isnull=False,
            facility__location__isnull=False,
            facility__district__isnull=False,
            records__isnull=True,
        )
        .select_related("facility", "plan_item__plan")
        .order_by("facility_id")[:count]
    )


@pytest.fixture
def world(record):
    """Four facilities of the approved plans at four phases, one with published finances, one with secret ones,
    and two that the public must never see (dropped from the plan; never planned)."""
    full, plain, designed, building, dropped = _tracked_facilities(5)
    # The whole lifecycle: the parcel stage comes from the parcel's act (15 May 2024), the rest from records.
    parcel_with_act(full.facility, cadastral_number="21-320-000-001", act_number="ACT-PRIVATE-77")
    record(full, "design", "2024-06-01")
    record(full, "expertise", "2024-07-01")
    record(full, "construction_started", "2024-08-01")
    record(full, "construction_progress", "2024-09-01", percent=60)
    record(full, "accepted", "2025-03-01")
    record(full, "opened", "2025-04-01")
    Facility.objects.filter(pk=full.facility_id).update(
        budget_kzt=1_500_000_000,
        funding_source="local",
        contractor_name="Құрылыс Сервис LLP",
        contractor_bin=VALID_BIN,
        finances_published=True,
    )
    record(designed, "parcel", "2024-05-01")  # no parcel record: the stage is entered by hand
    record(designed, "design", "2024-06-10")
    record(building, "parcel", "2024-02-01")
    record(building, "design", "2024-03-01")
    record(building, "expertise", "2024-04-01")
    record(building, "construction_started", "2024-05-01")
    Facility.objects.filter(pk=designed.facility_id).update(
        budget_kzt=999_000_000, funding_source="republican", contractor_name=SECRET, finances_published=False
    )
    TrackedFacility.objects.filter(pk=dropped.pk).update(in_plan=False)
    never = Facility.objects.get(pk=plain.facility_id)
    never.pk = None
    never.reference = ""
    never.name_en = "Never planned facility"
    never.budget_kzt, never.contractor_name, never.finances_published = 5, "Unplanned Co", True
    never.save()
    return {
        "full": full.facility_id,
        "plain": plain.facility_id,
        "designed": designed.facility_id,
        "building": building.facility_id,
        "dropped": dropped.facility_id,
        "never": never.pk,
        "plan_full": full.plan_item.plan,
    }


def _package(client, **params) -> dict:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    return json.loads(response.content)


def test_the_package_is_valid_oc4ids_and_maps_the_lifecycle(world, django_assert_max_num_queries):
    client = Client()
    with django_assert_max_num_queries(14):  # constant: the same whatever the number of facilities
        package = _package(client)
    errors = sorted(_validator().iter_errors(package), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:10]]

    projects = {p["id"]: p for p in package["projects"]}
    prefix = "oc4ids-kz191-"
    assert package["version"] == "0.9"
    assert package["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert "geokz" in package["attribution"] and "not registered" in package["prefixNote"]
    assert urlparse(package["uri"]).path == URL and package["uri"].endswith("lang=en")
    # Every project is a public facility; demo data are labelled in the package and in each project.
    public = set(TrackedFacility.objects.filter(in_plan=True).values_list("facility_id", flat=True))
    assert {int(i.removeprefix(prefix)) for i in projects} == public
    assert package["demoProjects"] == sum(1 for p in projects.values() if p["isDemo"])
    assert all(p["description"].startswith("DEMO DATA") for p in projects.values() if p["isDemo"])

    # Not in the plan, never planned: absent. Finances not published: absent (anywhere in the file).
    assert f"{prefix}{world['dropped']}" not in projects and f"{prefix}{world['never']}" not in projects
    text = json.dumps(package, ensure_ascii=False)
    assert SECRET not in text and "999000000" not in text and "Unplanned Co" not in text
    assert "ACT-PRIVATE-77" not in text and "21-320-000-001" not in text

    full = projects[f"{prefix}{world['full']}"]
    facility = Facility.objects.select_related("region", "district").get(pk=world["full"])
    plan = world["plan_full"]
    assert full["title"] == facility.name_en and full["language"] == "en"
    assert full["status"] == "completion" and full["type"] == "construction"
    observations = {o["id"]: o for o in full["metrics"][0]["observations"]}
    assert full["metrics"][0]["id"] == "physicalProgress"
    assert list(observations) == [
        "plan_item",
        "parcel",
        "design",
        "expertise",
        "construction_started",
        "construction_progress",
        "construction_percent",
        "accepted",
        "opened",
    ]
    assert observations["plan_item"]["dimensions"] == {"stage": "plan_item", "phase": "identification"}
    assert observations["parcel"]["period"]["endDate"] == _dt("2024-05-15")  # the act's date
    assert observations["parcel"]["dimensions"]["phase"] == "preparation"
    assert observations["expertise"]["dimensions"]["phase"] == "preparation"
    assert observations["construction_started"]["dimensions"]["phase"] == "implementation"
    assert observations["construction_percent"]["measure"] == 60
    assert observations["accepted"]["dimensions"]["phase"] == "completion"
    assert observations["opened"]["period"]["endDate"] == _dt("2025-04-01")
    assert full["completion"]["endDate"] == _dt("2025-04-01")
    # The period starts on the first recorded day (the approval or an earlier stage) and never ends before it starts.
    first = min(timezone.localdate(plan.approved_at), date(2024, 5, 15))
    assert full["period"]["startDate"] == _dt(first.isoformat())
    for project in projects.values():
        period = project["period"]
        start, end = datetime.fromisoformat(period["startDate"]), period.get("endDate")
        assert end is None or start <= datetime.fromisoformat(end), project["id"]
    locations = {loc["id"]: loc for loc in full["locations"]}
    assert locations["point"]["geometry"] == {
        "type": "Point",
        "coordinates": [round(facility.location.x, 6), round(facility.location.y, 6)],
    }
    assert locations["region"]["gazetteer"] == {"scheme": "KATO", "identifiers": [facility.region.kato]}
    assert locations["district"]["gazetteer"]["identifiers"] == [facility.district.kato]
    # Published finances: the budget, the akimat as public authority and (local budget) funder, the contractor.
    assert full["budget"]["amount"] == {"amount": 1_500_000_000, "currency": "KZT"}
    assert full["budget"]["budgetBreakdown"][0]["sourceParty"] == full["publicAuthority"]
    parties = {p["id"]: p for p in full["parties"]}
    akimat = parties[f"kz-akimat-{facility.region.kato}"]
    assert akimat["roles"] == ["publicAuthority", "funder"]
    assert parties[f"KZ-BIN-{VALID_BIN}"]["identifier"] == {
        "scheme": "KZ-BIN",
        "id": VALID_BIN,
        "legalName": "Құрылыс Сервис LLP",
    }

    assert projects[f"{prefix}{world['plain']}"]["status"] == "identification"
    designed = projects[f"{prefix}{world['designed']}"]
    assert designed["status"] == "preparation" and "budget" not in designed
    assert {r for p in designed["parties"] for r in p["roles"]} == {"publicAuthority"}
    assert projects[f"{prefix}{world['building']}"]["status"] == "implementation"
    assert "completion" not in projects[f"{prefix}{world['building']}"]

    # The codes used are those of the shipped codelists (KATO is a local value of the open gazetteer list).
    assert {p["status"] for p in projects.values()} <= _codes("projectStatus.csv")
    assert {p["type"] for p in projects.values()} <= _codes("projectType.csv")
    assert {s for p in projects.values() for s in p["sector"]} <= _codes("projectSector.csv")
    assert {r for p in projects.values() for party in p["parties"] for r in party["roles"]} <= _codes("partyRole.csv")
    assert {m["id"] for p in projects.values() for m in p.get("metrics", []) + p.get("forecasts", [])} <= _codes(
        "metricID.csv"
    )
    assert "KATO" not in _codes("locationGazetteers.csv")


def test_a_broken_project_fails_the_schema(world):
    """The validation can fail: a status outside the closed codelist and a project without id are refused."""
    package = _package(Client())
    package["projects"][0]["status"] = "finished"
    del package["projects"][1]["id"]
    messages = {e.message for e in _validator().iter_errors(package)}
    assert any("'finished' is not one of" in m for m in messages)
    assert any("'id' is a required property" in m for m in messages)


def test_language_and_bad_language(world):
    client = Client()
    package = _package(client, lang="ru")
    full = next(p for p in package["projects"] if p["id"] == f"oc4ids-kz191-{world['full']}")
    assert full["title"] == Facility.objects.get(pk=world["full"]).name_ru and full["language"] == "ru"
    response = client.get(URL, {"lang": "de"})
    assert response.status_code == 400
    assert "lang" in response.content.decode()


def test_no_package_before_a_plan_holds_a_public_facility(db):
    """An OC4IDS package needs a project (minItems 1): with none to publish the answer is a 404 that says why."""
    TrackedFacility.objects.update(in_plan=False)
    for language in ("en", "ru", "kk"):
        response = Client().get(URL, {"lang": language}, headers={"Accept-Language": language})
        assert response.status_code == 404
        assert response["Content-Type"].startswith("application/problem+json")
        detail = json.loads(response.content)["detail"]
        assert {"en": "no plan has been approved yet", "ru": "план ещё не утверждён", "kk": "жоспар әлі бекітілмеген"}[
            language
        ] in detail
    package = _validator()
    empty = {"uri": "x", "publishedDate": _dt("2024-01-01"), "version": "0.9", "projects": []}
    assert not package.is_valid(empty)  # what would have been served before


def test_the_public_table_links_the_export(world):
    html = Client().get(reverse("maps:public_table")).content.decode()
    assert f'href="{URL}?lang=en"' in html


def test_finances_show_on_the_public_page_and_api_only_when_published(world, planner):
    client = Client()
    full = client.get(reverse("maps:facility", args=[world["full"]])).content.decode()
    assert "1500000000" in full and "Құрылыс Сервис LLP" in full and VALID_BIN in full
    secret = client.get(reverse("maps:facility", args=[world["designed"]])).content.decode()
    assert SECRET not in secret and "999000000" not in secret and 'data-finance="' not in secret
    feature = json.loads(client.get(f"/api/v1/facilities/{world['designed']}/").content)
    assert feature["properties"]["budget_kzt"] is None and feature["properties"]["contractor_name"] is None
    feature = json.loads(client.get(f"/api/v1/facilities/{world['full']}/").content)
    assert feature["properties"]["budget_kzt"] == 1_500_000_000
    assert feature["properties"]["funding_source"] == "local"
    # The public table and its downloads: the published budget, never the unpublished one.
    table = client.get(reverse("maps:public_table")).content.decode()
    assert "1500000000 (local budget)" in table and SECRET not in table and "999000000" not in table
    rows = list(csv.DictReader(client.get(reverse("maps:public_csv")).content.decode("utf-8-sig").splitlines()))
    by_id = {int(r["id"]): r for r in rows}
    assert by_id[world["full"]]["budget_kzt"] == "1500000000" and by_id[world["full"]]["funding_source"] == "local"
    assert by_id[world["designed"]]["budget_kzt"] == "" and by_id[world["designed"]]["contractor_name"] == ""
    # Signed in with a role: what is recorded, published or not.
    client.force_login(planner)
    secret = client.get(reverse("maps:facility", args=[world["designed"]])).content.decode()
    assert SECRET in secret and "999000000" in secret


def test_finances_are_optional_checked_and_in_the_history(world, planner):
    facility = Facility.objects.get(pk=world["plain"])
    assert facility.budget_kzt is None and facility.funding_source == "" and not facility.finances_published
    assert bin_is_valid(VALID_BIN) and not bin_is_valid("050140001237") and not bin_is_valid("05014000123a")
    head = history_head(facility.events.all())
    with pytest.raises(FacilityValidationError) as exc:
        facility_update(
            user=planner, facility_id=facility.pk, expected_head=head, data={"contractor_bin": "050140001237"}
        )
    assert {p.field for p in exc.value.problems} >= {"contractor_bin", "contractor_name"}
    facility_update(
        user=planner,
        facility_id=facility.pk,
        expected_head=head,
        data={"budget_kzt": 7_000, "funding_source": "ppp", "contractor_name": "A LLP", "contractor_bin": VALID_BIN},
    )
    event = facility.events.order_by("-pgh_id").first()
    assert (event.budget_kzt, event.funding_source, event.contractor_bin, event.finances_published) == (
        7_000,
        "ppp",
        VALID_BIN,
        False,
    )
    for values in ({"budget_kzt": -1}, {"contractor_bin": "123"}, {"funding_source": "lottery"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Facility.objects.filter(pk=facility.pk).update(**values)
