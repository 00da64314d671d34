"""Facility editing (issue 16, point 3): the location rule on every write path, the pages, the policy.

A facility's location lies in its region and district: the service (create, update, restore), the
facility pages, the admin, plan approval and the demo loader refuse or never produce anything else;
the table refuses a point outside Kazakhstan's bounding box whatever writes it.
"""

from __future__ import annotations

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction

from facilities import services
from facilities.checks import LocationReport, Problem, facility_location_check
from facilities.models import Facility
from gis_portal.history import history_head
from tracking.demo import demo_plans_build_and_approve
from tracking.models import PlanItem
from tracking.services import TrackingError, plan_approve, plan_check, plan_create
from tracking.services import plans as plans_module

pytestmark = pytest.mark.django_db

ASTANA = (71.43, 51.13)  # longitude, latitude of Astana's centre


def head(facility: Facility) -> int:
    return history_head(facility.events.all())


def location_update(user, facility: Facility, location, **extra):
    return services.facility_update(
        user=user, facility_id=facility.pk, expected_head=head(facility), data={"location": location, **extra}
    )


def codes(exc) -> list[str]:
    return [p.code for p in exc.value.problems]


# --- the check -----------------------------------------------------------------------------------


def test_zero_zero_is_outside_kazakhstan_in_plain_words(astana_facility, planner, wkt):
    with pytest.raises(services.FacilityValidationError) as exc:
        location_update(planner, astana_facility, wkt("SRID=4326;POINT(0.0001 0.0001)"))
    assert codes(exc) == ["outside_kz"]
    message = exc.value.problems[0].message
    assert "outside Kazakhstan" in message and "swapped" not in message
    before = Facility.objects.get(pk=astana_facility.pk).location
    assert before.equals(astana_facility.location)


def test_swapped_coordinates_get_the_hint(astana_facility, planner):
    lon, lat = astana_facility.location.x, astana_facility.location.y
    with pytest.raises(services.FacilityValidationError) as exc:
        location_update(planner, astana_facility, Point(lat, lon, srid=4326))
    assert codes(exc) == ["swapped"]
    assert f"Did you mean {lat:.6f}° N, {lon:.6f}° E?" in exc.value.problems[0].message
    assert "Longitude and latitude seem swapped" in exc.value.problems[0].message


def test_outside_region_and_outside_district_are_refused(astana_facility, other_district, planner, region_b):
    with pytest.raises(services.FacilityValidationError) as exc:
        location_update(planner, astana_facility, region_b.centre)
    assert codes(exc) == ["outside_region"]
    assert region_b.name in exc.value.problems[0].message
    with pytest.raises(services.FacilityValidationError) as exc:
        location_update(planner, astana_facility, other_district.point)
    assert codes(exc) == ["outside_district"]
    assert other_district.name in exc.value.problems[0].message


def test_an_empty_district_is_taken_from_the_location(astana_facility, other_district, planner):
    saved = location_update(planner, astana_facility, other_district.point, district=None)
    assert saved.district_id == other_district.pk


def test_a_district_of_another_region_is_refused(astana_facility, region_b, planner):
    district_b = region_b.districts.first()
    report = facility_location_check(location=None, region=astana_facility.region, district=district_b)
    assert [p.code for p in report.problems] == ["district_region"]


def test_the_table_refuses_a_point_outside_the_bounding_box(astana_facility):
    with pytest.raises(IntegrityError, match="facility_location_in_kazakhstan_bbox"), transaction.atomic():
        Facility.objects.filter(pk=astana_facility.pk).update(location=Point(0, 0, srid=4326))


def test_every_demo_facility_passes_the_check():
    failing = []
    for facility in Facility.objects.filter(location__isnull=False).select_related("region", "district"):
        report = facility_location_check(location=facility.location, region=facility.region, district=facility.district)
        if report.problems:
            failing.append((facility.pk, report.problems[0].message))
    assert not failing


# --- create, update, policy ----------------------------------------------------------------------


def _new_data(template: Facility, **extra) -> dict:
    data = {
        "measure": template.measure,
        "kind": template.kind,
        "region": template.region,
        "district": None,
        "name_kk": "Жаңа нысан",
        "name_ru": "Новый объект",
        "name_en": "New facility",
        "places": 120,
        "is_ppp": False,
        "planned_year": 2026,
        "reference": "H8-NEW-1",
        "location": template.location,
    }
    return data | extra


def test_planner_creates_and_akimat_may_not(astana_facility, planner, akimat_a):
    created = services.facility_create(user=planner, data=_new_data(astana_facility))
    assert created.district_id == astana_facility.district_id
    assert [e.pgh_label for e in created.events.all()] == ["insert"]
    with pytest.raises(PermissionDenied):
        services.facility_create(user=akimat_a, data=_new_data(astana_facility, reference="H8-NEW-2"))


def test_create_outside_the_region_is_refused(astana_facility, planner, region_b):
    with pytest.raises(services.FacilityValidationError) as exc:
        services.facility_create(user=planner, data=_new_data(astana_facility, location=region_b.centre))
    assert codes(exc) == ["outside_region"]
    assert not Facility.objects.filter(reference="H8-NEW-1").exists()


def test_akimat_moves_its_facility_but_changes_nothing_else(astana_facility, other_district, akimat_a, akimat_b):
    assert services.facility_editable_fields(akimat_a, region_id=astana_facility.region_id) == {"location", "district"}
    with pytest.raises(PermissionDenied):
        location_update(akimat_a, astana_facility, astana_facility.location, places=999)
    with pytest.raises(PermissionDenied):
        location_update(akimat_b, astana_facility, astana_facility.location)
    saved = location_update(akimat_a, astana_facility, other_district.point, district=None)
    assert saved.district_id == other_district.pk
    assert saved.places == astana_facility.places


def test_a_stale_head_saves_nothing(astana_facility, planner, other_district):
    stale = head(astana_facility)
    Facility.objects.filter(pk=astana_facility.pk).update(places=astana_facility.places + 1)
    with pytest.raises(services.FacilityConflict):
        services.facility_update(
            user=planner, facility_id=astana_facility.pk, expected_head=stale, data={"location": other_district.point}
        )


def test_restore_of_a_version_outside_the_region_is_refused(astana_facility, planner, region_b):
    """A version written around the checks (a shell's QuerySet.update) is checked again when restored."""
    good = astana_facility.location
    Facility.objects.filter(pk=astana_facility.pk).update(location=region_b.centre)
    bad = astana_facility.events.order_by("-pgh_id").first()
    Facility.objects.filter(pk=astana_facility.pk).update(location=good)
    with pytest.raises(services.FacilityRestoreError) as exc:
        services.facility_restore(
            user=planner, facility_id=astana_facility.pk, event_id=bad.pgh_id, expected_head=head(astana_facility)
        )
    assert any(region_b.name in m for m in exc.value.messages)
    assert Facility.objects.get(pk=astana_facility.pk).location.equals(good)


def _draft_with_one_more_object(planner):
    """A new version of plan 13 moving one measure-22 object to another region's row (approval creates one)."""
    plans = demo_plans_build_and_approve()
    draft = plan_create(plan_measure=13, copy_from=plans[13], user=planner)
    rows = list(draft.items.filter(measure_id=22).order_by("region__kato", "id"))
    per_region: dict[int, int] = {}
    for r in rows:
        per_region[r.region_id] = per_region.get(r.region_id, 0) + r.count
    donor = next(r for r in rows if per_region[r.region_id] > 1)
    receiver = next(r for r in rows if r.region_id != donor.region_id)
    if donor.count > 1:
        PlanItem.objects.filter(pk=donor.pk).update(count=donor.count - 1)
    else:
        donor.delete()
    PlanItem.objects.filter(pk=receiver.pk).update(count=receiver.count + 1)
    assert plan_check(plan=draft, user=planner) == []
    return draft, receiver


def test_plan_approval_checks_the_facilities_it_creates(monkeypatch, planner):
    draft, receiver = _draft_with_one_more_object(planner)
    calls = []

    def spy(**kwargs):
        calls.append(kwargs)
        return facility_location_check(**kwargs)

    monkeypatch.setattr(plans_module, "facility_location_check", spy)
    assert plan_approve(plan=draft, user=planner)["created"] == 1
    assert [(c["region"].pk, c["location"]) for c in calls] == [(receiver.region_id, None)]


def test_plan_approval_refused_by_the_check_creates_nothing(monkeypatch, planner):
    draft, _receiver = _draft_with_one_more_object(planner)
    count = Facility.objects.count()
    refused = LocationReport(problems=[Problem("outside_region", "refused by the location check")])
    monkeypatch.setattr(plans_module, "facility_location_check", lambda **kwargs: refused)
    with pytest.raises(TrackingError, match="refused by the location check"):
        plan_approve(plan=draft, user=planner)
    assert Facility.objects.count() == count


# --- pages ---------------------------------------------------------------------------------------


def _form(facility: Facility, **changes) -> dict:
    data = {
        "measure": facility.measure_id,
        "kind": facility.kind_id,
        "region": facility.region_id,
        "district": facility.district_id or "",
        "name_kk": facility.name_kk,
        "name_ru": facility.name_ru,
        "name_en": facility.name_en,
        "places": facility.places,
        "planned_year": facility.planned_year,
        "reference": facility.reference,
        "crs": "4326",
        "x": f"{facility.location.x:.7f}",
        "y": f"{facility.location.y:.7f}",
        "head": head(facility),
        "save": "1",
    }
    if facility.is_ppp:
        data["is_ppp"] = "on"
    return data | changes


def test_page_refuses_a_point_outside_the_district(client, planner, astana_facility, other_district):
    client.force_login(planner)
    url = f"/en/maps/facility/{astana_facility.pk}/edit/"
    p = other_district.point
    response = client.post(url, _form(astana_facility, x=str(p.x), y=str(p.y)))
    assert response.status_code == 200
    assert "not in" in response.content.decode() and other_district.name in response.content.decode()
    assert Facility.objects.get(pk=astana_facility.pk).location.equals(astana_facility.location)


def test_page_swapped_hint_and_zero(client, planner, astana_facility):
    client.force_login(planner)
    url = f"/en/maps/facility/{astana_facility.pk}/edit/"
    lon, lat = astana_facility.location.x, astana_facility.location.y
    body = client.post(url, _form(astana_facility, x=f"{lat:.6f}", y=f"{lon:.6f}")).content.decode()
    assert "Longitude and latitude seem swapped" in body
    body = client.post(url, _form(astana_facility, x="0", y="0")).content.decode()
    assert "lies outside Kazakhstan" in body


def test_page_typed_utm_coordinates_are_transformed(client, planner, astana_facility):
    client.force_login(planner)
    target = astana_facility.location.transform(32642, clone=True)
    x, y = target.x + 120.0, target.y - 80.0
    form = _form(astana_facility, crs="32642", x=f"{x:.2f}".replace(".", ","), y=f"{y:.2f}")
    response = client.post(f"/en/maps/facility/{astana_facility.pk}/edit/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = Facility.objects.get(pk=astana_facility.pk).location.transform(32642, clone=True)
    assert abs(saved.x - x) < 0.01 and abs(saved.y - y) < 0.01


def test_page_stale_form_says_so(client, planner, astana_facility):
    client.force_login(planner)
    form = _form(astana_facility, places=astana_facility.places + 5)
    Facility.objects.filter(pk=astana_facility.pk).update(name_en="Changed meanwhile")
    body = client.post(f"/en/maps/facility/{astana_facility.pk}/edit/", form).content.decode()
    assert "changed this facility after you opened it" in body
    assert Facility.objects.get(pk=astana_facility.pk).places == astana_facility.places


def test_page_akimat_places_only(client, akimat_a, astana_facility, other_district):
    client.force_login(akimat_a)
    url = f"/en/maps/facility/{astana_facility.pk}/edit/"
    page = client.get(url)
    assert page.status_code == 200 and page.context["form"].fields["places"].disabled
    p = other_district.point
    response = client.post(url, _form(astana_facility, places=999, district="", x=str(p.x), y=str(p.y)))
    assert response.status_code == 302
    saved = Facility.objects.get(pk=astana_facility.pk)
    assert (saved.places, saved.district_id) == (astana_facility.places, other_district.pk)
    assert saved.location.equals_exact(p, 1e-7)


@pytest.mark.parametrize("role", ["anonymous", "akimat_b"])
def test_page_refused_for_anonymous_and_other_region(client, request, role, astana_facility, region_b):
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    url = f"/en/maps/facility/{astana_facility.pk}/edit/"
    response = client.post(url, _form(astana_facility, x=str(ASTANA[0]), y=str(ASTANA[1])))
    assert response.status_code in (302, 403, 404)
    assert response.status_code != 302 or "login" in response["Location"]
    assert Facility.objects.get(pk=astana_facility.pk).location.equals(astana_facility.location)
    assert client.get("/en/maps/facility/new/").status_code in (302, 403)


def test_page_create_fills_the_district_and_shows_history(client, planner, astana_facility):
    client.force_login(planner)
    form = _form(astana_facility, district="", reference="H8-PAGE-1", head="")
    response = client.post("/en/maps/facility/new/", form)
    assert response.status_code == 302
    created = Facility.objects.get(reference="H8-PAGE-1")
    assert created.district_id == astana_facility.district_id
    page = client.get(f"/en/maps/facility/{created.pk}/edit/")
    assert [e.pgh_label for e in page.context["history"]] == ["insert"]


def test_restore_from_the_edit_page(client, planner, astana_facility, other_district):
    client.force_login(planner)
    url = f"/en/maps/facility/{astana_facility.pk}/edit/"
    before = astana_facility.events.order_by("-pgh_id").first()
    p = other_district.point
    assert client.post(url, _form(astana_facility, district="", x=str(p.x), y=str(p.y))).status_code == 302
    page = client.get(url)
    body = page.content.decode()
    assert f"/en/maps/facility/{astana_facility.pk}/restore/" in body
    response = client.post(
        f"/en/maps/facility/{astana_facility.pk}/restore/",
        {"event": before.pgh_id, "head": page.context["history_head"]},
    )
    assert response.status_code == 302
    restored = Facility.objects.get(pk=astana_facility.pk)
    assert restored.location.equals(astana_facility.location)
    assert restored.district_id == astana_facility.district_id


# --- admin ---------------------------------------------------------------------------------------


def _admin_form(facility: Facility, location: str, **changes) -> dict:
    data = _form(facility) | {"location": location, "expected_head": head(facility)}
    for name in ("crs", "x", "y", "head", "save"):
        data.pop(name)
    return data | changes


def test_admin_refuses_a_point_outside_the_region(client, planner, astana_facility, region_b):
    client.force_login(planner)
    url = f"/en/admin/facilities/facility/{astana_facility.pk}/change/"
    c = region_b.centre
    response = client.post(url, _admin_form(astana_facility, f"SRID=4326;POINT({c.x} {c.y})"))
    assert response.status_code == 200
    assert region_b.name in response.content.decode()
    assert Facility.objects.get(pk=astana_facility.pk).location.equals(astana_facility.location)


def test_admin_saves_through_the_service(client, planner, astana_facility, other_district):
    client.force_login(planner)
    url = f"/en/admin/facilities/facility/{astana_facility.pk}/change/"
    p = other_district.point
    response = client.post(url, _admin_form(astana_facility, f"SRID=4326;POINT({p.x} {p.y})", district=""))
    assert response.status_code == 302, response.content.decode()[:3000]
    saved = Facility.objects.get(pk=astana_facility.pk)
    assert saved.district_id == other_district.pk  # filled from the location by the service
    assert saved.events.order_by("-pgh_id").first().pgh_context.metadata["user"] == planner.pk
