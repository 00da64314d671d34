"""Real concurrency on a tracked facility's stages: two threads (own database connections, committed
data) record a stage against the same version at once, through the service and through the API.
Exactly one wins; the other gets a conflict (StaleVersionError / HTTP 409); nothing is lost."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connection
from django.test import Client

from tracking.models import StageRecord, TrackedFacility
from tracking.services import StaleVersionError, stage_record_add

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def committed_tracked(django_db_setup, django_db_blocker):
    """Two committed tracked facilities in Astana (new, outside any plan) and an akimat of Astana;
    removed again (with their stage records and history) after the module."""
    from django.contrib.auth import get_user_model

    from accounts.models import Membership
    from accounts.services import user_with_role_ensure
    from facilities.models import Facility

    with django_db_blocker.unblock():
        # Two facilities of their own (the session's demo facilities are all in the approved demo plans).
        facilities = []
        for n in range(2):
            f = Facility.objects.filter(region__kato="710000000").order_by("-id").first()
            f.pk, f.name_en, f.reference = None, f"concurrency test {n}", ""  # references are unique
            f.save()
            facilities.append(f)
        tracked = [TrackedFacility.objects.create(facility=f, in_plan=False) for f in facilities]
        user_with_role_ensure(
            username="akimat_conc", role=Membership.Role.AKIMAT, region_kato="710000000", password="pw-c-12345!"
        )
        user = get_user_model().objects.get(username="akimat_conc")
    yield tracked, user
    with django_db_blocker.unblock():
        for t in tracked:
            StageRecord.pgh_event_model.objects.filter(tracked_id=t.pk).delete()
            TrackedFacility.pgh_event_model.objects.filter(pgh_obj_id=t.pk).delete()
            t.delete()
        for f in facilities:
            f.delete()
        user.delete()


def run_in_threads(django_db_blocker, *calls):
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except StaleVersionError as exc:
            results[i] = exc
        finally:
            connection.close()

    with django_db_blocker.unblock():
        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    return results


def parcel_stage(tracked, user, number: str):
    day = date(2024, 3, 1)
    return lambda: stage_record_add(
        tracked=tracked,
        user=user,
        version=1,
        stage="parcel",
        actual_date=day,
        doc_number=number,
        doc_date=day,
        executor=f"executor {number}",
    )


def test_two_updates_of_the_same_stage_version_one_wins(committed_tracked, django_db_blocker):
    (tracked, _other), user = committed_tracked
    results = run_in_threads(django_db_blocker, parcel_stage(tracked, user, "A-1"), parcel_stage(tracked, user, "B-2"))
    conflicts = [r for r in results if isinstance(r, StaleVersionError)]
    wins = [r for r in results if isinstance(r, StageRecord)]
    assert len(conflicts) == 1 and len(wins) == 1, results
    assert "version" in conflicts[0].problems
    with django_db_blocker.unblock():
        tracked.refresh_from_db()
        records = list(StageRecord.objects.filter(tracked=tracked))
        events = TrackedFacility.pgh_event_model.objects.filter(pgh_obj_id=tracked.pk, pgh_label="update").count()
    # No lost update: the stored state is exactly the winner's, and it was the only write.
    assert tracked.version == 2 and tracked.executor == wins[0].executor
    assert [r.doc_number for r in records] == [wins[0].doc_number]
    assert events == 1


def test_two_api_clients_post_the_same_version_one_gets_409(committed_tracked, django_db_blocker):
    (_first, tracked), user = committed_tracked

    def post(number: str):
        def call():
            client = Client()
            client.force_login(user)
            response = client.post(
                f"/api/v1/tracking/facilities/{tracked.facility_id}/stages/",
                {
                    "stage": "parcel",
                    "actual_date": "2024-03-01",
                    "doc_number": number,
                    "doc_date": "2024-03-01",
                    "version": 1,
                    "executor": f"executor {number}",
                },
                content_type="application/json",
            )
            return response.status_code, response.json()

        return call

    results = run_in_threads(django_db_blocker, post("A-1"), post("B-2"))
    assert sorted(code for code, _body in results) == [201, 409], results
    conflict = next(body for code, body in results if code == 409)
    assert "version" in [e["field"] for e in conflict["errors"]]
    with django_db_blocker.unblock():
        tracked.refresh_from_db()
        records = list(StageRecord.objects.filter(tracked=tracked))
    assert tracked.version == 2 and len(records) == 1
    assert tracked.executor == f"executor {records[0].doc_number}"
