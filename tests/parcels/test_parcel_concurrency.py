"""Real concurrency: two threads (own database connections) save the same parcel version, or import the
same cadastral number, at once. Exactly one wins; the other gets a conflict / a clear error."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from parcels.models import Parcel
from parcels.services import SYSTEM, ParcelConflict, ParcelValidationError, parcel_create, parcel_update

pytestmark = pytest.mark.django_db


def _data(**extra):
    data = {
        "cadastral_number": "",
        "declared_area_ha": Decimal("4"),
        "land_category": "settlement",
        "right_type": "temporary_free",
        "status": "allocated",
        "act_number": "",
        "act_date": None,
        "issuing_akimat": "",
        "term_years": None,
        "notes": "",
    }
    return data | extra


@pytest.fixture(scope="module")
def committed_facilities(django_db_setup, django_db_blocker):
    """Three Astana facilities (the first with a committed parcel, visible to other connections);
    their committed parcels are removed again after the module."""
    from facilities.models import Facility
    from tests.parcels.conftest import square

    with django_db_blocker.unblock():
        facilities = list(
            Facility.objects.filter(region__kato="710000000", location__isnull=False, district__isnull=False)
            .select_related("region", "district")
            .order_by("id")[4:7]
        )
        parcel_create(user=SYSTEM, facility=facilities[0], geom=square(facilities[0].location, 200), data=_data())
    yield facilities
    with django_db_blocker.unblock():
        for parcel in Parcel.objects.filter(facility__in=facilities):
            Parcel.pgh_event_model.objects.filter(pgh_obj_id=parcel.pk).delete()
            parcel.delete()


def _run_in_threads(django_db_blocker, *calls):
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except (ParcelConflict, ParcelValidationError) as exc:
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


def test_two_saves_of_the_same_version_one_wins(committed_facilities, django_db_blocker, make_square):
    with django_db_blocker.unblock():
        parcel = Parcel.objects.get(facility=committed_facilities[0])
    results = _run_in_threads(
        django_db_blocker,
        lambda: parcel_update(user=SYSTEM, parcel_id=parcel.pk, expected_version=1, data={"notes": "A"}),
        lambda: parcel_update(user=SYSTEM, parcel_id=parcel.pk, expected_version=1, data={"notes": "B"}),
    )
    conflicts = [r for r in results if isinstance(r, ParcelConflict)]
    wins = [r for r in results if not isinstance(r, Exception)]
    assert len(conflicts) == 1 and len(wins) == 1
    with django_db_blocker.unblock():
        parcel.refresh_from_db()
    assert parcel.version == 2 and parcel.notes == wins[0].obj.notes


def test_parallel_creates_never_duplicate_a_cadastral_number(committed_facilities, django_db_blocker, make_square):
    _, first, second = committed_facilities
    number = "71-999-999-9999"
    results = _run_in_threads(
        django_db_blocker,
        lambda: parcel_create(
            user=SYSTEM,
            facility=first,
            geom=make_square(first.location, 200, dy_m=-2000),
            data=_data(cadastral_number=number),
        ),
        lambda: parcel_create(
            user=SYSTEM,
            facility=second,
            geom=make_square(second.location, 200, dy_m=-2000),
            data=_data(cadastral_number=number),
        ),
    )
    errors = [r for r in results if isinstance(r, ParcelValidationError)]
    assert len(errors) == 1 and errors[0].problems[0].code == "cadastral_duplicate"
    with django_db_blocker.unblock():
        assert Parcel.objects.filter(cadastral_number=number).count() == 1
