"""Two imports running at once (threads, own connections, committed data) carrying the same cadastral
number: one is saved, the other is refused whole with the duplicate named; never two parcels."""

from __future__ import annotations

import pytest

from parcels.io import RawFeature
from parcels.models import Parcel
from parcels.services import SYSTEM, parcels_import
from tests.parcels.test_parcel_concurrency import _run_in_threads, committed_facilities  # noqa: F401

pytestmark = pytest.mark.django_db


def test_parallel_imports_never_duplicate_a_cadastral_number(committed_facilities, django_db_blocker, make_square):  # noqa: F811
    _, first, second = committed_facilities
    number = "71-888-888-8888"

    def importing(facility):
        feature = RawFeature(
            1,
            make_square(facility.location, 200, dy_m=-3000),
            {"facility_id": facility.pk, "cadastral_number": number, "declared_area_ha": "4", "status": "allocated"},
        )
        return lambda: parcels_import(user=SYSTEM, features=[feature], commit=True)

    outcomes = _run_in_threads(django_db_blocker, importing(first), importing(second))
    assert sorted(o.committed for o in outcomes) == [False, True], [o.rows for o in outcomes]
    refused = next(o for o in outcomes if not o.committed)
    assert any(p["code"] == "cadastral_duplicate" for p in refused.rows[0].problems), refused.rows[0].problems
    with django_db_blocker.unblock():
        assert Parcel.objects.filter(cadastral_number=number).count() == 1
