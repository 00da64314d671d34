"""Restore a facility from its history (facility page): the ministry's, like every write of facilities."""

from __future__ import annotations

import pytest

from facilities.models import Facility
from tests.parcels.conftest import facility_in

pytestmark = pytest.mark.django_db

REFUSED = (302, 403, 404)


def _events(facility: Facility) -> list:
    return list(facility.events.order_by("pgh_id"))


def _state(facility: Facility) -> tuple:
    facility.refresh_from_db()
    return facility.places, facility.name_en, facility.planned_year, len(_events(facility))


@pytest.fixture
def changed(region_a):
    """A facility of region a whose places and English name were changed after it was loaded."""
    facility = facility_in(region_a)
    facility.original = (facility.places, facility.name_en)
    facility.before = _events(facility)[-1]  # its state before the change
    Facility.objects.filter(pk=facility.pk).update(places=facility.places + 40, name_en="Renamed in a shell")
    return facility


def _page(client, facility: Facility):
    response = client.get(f"/en/maps/facility/{facility.pk}/")
    assert response.status_code == 200
    return response


def test_planner_restores_an_earlier_version(client, planner, changed):
    client.force_login(planner)
    page = _page(client, changed)
    assert f"/en/maps/facility/{changed.pk}/restore/" in page.content.decode()
    first = changed.before
    response = client.post(
        f"/en/maps/facility/{changed.pk}/restore/", {"event": first.pgh_id, "head": page.context["history_head"]}
    )
    assert response.status_code == 302
    changed.refresh_from_db()
    assert (changed.places, changed.name_en) == changed.original
    # In the history: the restored state, who restored it and from which event.
    newest = _events(changed)[-1]
    assert (newest.pgh_label, newest.places, newest.name_en) == ("update", *changed.original)
    assert newest.pgh_context.metadata["user"] == planner.pk
    assert newest.pgh_context.metadata["restored_event"] == first.pgh_id
    history = _page(client, changed).context["history"]
    assert (history[0].pgh_id, history[0].who) == (newest.pgh_id, "planner_t")


@pytest.mark.parametrize("role", ["anonymous", "akimat_a", "akimat_b"])
def test_restore_refused_for_akimats_and_anonymous(client, request, role, changed):
    """Akimats read the facilities of their region but do not plan them; the other region's neither."""
    if role != "anonymous":
        user = request.getfixturevalue(role)
        client.force_login(user)
        page = client.get(f"/en/maps/facility/{changed.pk}/").content.decode()
        assert f"/en/maps/facility/{changed.pk}/restore/" not in page
    first = _events(changed)[0]
    head = _events(changed)[-1].pgh_id
    before = _state(changed)
    response = client.post(f"/en/maps/facility/{changed.pk}/restore/", {"event": first.pgh_id, "head": head})
    assert response.status_code in REFUSED
    assert response.status_code != 302 or "login" in response["Location"]
    assert _state(changed) == before


def test_stale_head_saves_nothing(client, planner, changed):
    client.force_login(planner)
    head = _page(client, changed).context["history_head"]
    Facility.objects.filter(pk=changed.pk).update(planned_year=2026)  # somebody saved after the page was read
    first = _events(changed)[0]
    before = _state(changed)
    response = client.post(
        f"/en/maps/facility/{changed.pk}/restore/", {"event": first.pgh_id, "head": head}, follow=True
    )
    assert "changed this facility after you opened it" in response.content.decode()
    assert _state(changed) == before


def test_current_version_and_foreign_events_are_refused(client, planner, changed, region_b):
    client.force_login(planner)
    head = _page(client, changed).context["history_head"]
    before = _state(changed)
    response = client.post(f"/en/maps/facility/{changed.pk}/restore/", {"event": head, "head": head}, follow=True)
    assert "nothing to restore" in response.content.decode()
    other = facility_in(region_b)
    foreign = _events(other)[0]
    response = client.post(
        f"/en/maps/facility/{changed.pk}/restore/", {"event": foreign.pgh_id, "head": head}, follow=True
    )
    assert "No such history entry" in response.content.decode()
    assert client.post(f"/en/maps/facility/{changed.pk}/restore/", {"event": "", "head": head}).status_code == 400
    assert _state(changed) == before


def test_queryset_write_of_a_facility_is_in_history(changed):
    """A write that bypasses the models (QuerySet.update) leaves an event too (database triggers)."""
    assert [e.pgh_label for e in _events(changed)][-1] == "update"
    assert _events(changed)[-1].name_en == "Renamed in a shell"
