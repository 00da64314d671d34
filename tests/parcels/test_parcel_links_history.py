"""Infrastructure links (checks, constraints, readiness), history (incl. QuerySet.update) and restore, conflicts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.gis.geos import LineString
from django.db import IntegrityError, transaction

from parcels.geometry import utm_srid_for_lon
from parcels.models import InfrastructureLink, Parcel, ParcelDocument, Utility
from parcels.selectors import facility_parcel_status, parcel_infrastructure_readiness
from parcels.services import (
    ParcelConflict,
    ParcelValidationError,
    link_create,
    link_update,
    parcel_history,
    parcel_replace,
    parcel_restore,
    parcel_update,
)


def route_to(parcel, *, length_m: float, gap_m: float = 0.0) -> LineString:
    """A straight west→east route ending `gap_m` west of the parcel's west edge, `length_m` long (UTM metres)."""
    srid = utm_srid_for_lon(parcel.geom.centroid.x)
    g = parcel.geom.transform(srid, clone=True)
    x0, y0, x1, y1 = g.extent
    y = (y0 + y1) / 2
    line = LineString((x0 - gap_m - length_m, y), (x0 - gap_m, y), srid=srid)
    line.transform(4326)
    return line


def connected(**extra):
    data = {
        "required": True,
        "status": "connected",
        "balance_act_number": "BA-1",
        "balance_act_date": date(2024, 5, 2),
        "actual_connection_date": date(2024, 5, 1),
        "capacity": Decimal("25"),
        "capacity_unit": "m3/day",
    }
    data.update(extra)
    return data


def test_route_length_and_end_distance(parcel_a, akimat_a, settings):
    water = Utility.objects.get(code="water")
    link = link_create(
        user=akimat_a, parcel=parcel_a, utility=water, data=connected(), route=route_to(parcel_a, length_m=350)
    ).obj
    assert abs(float(link.route_length_m) - 350) < 0.5
    settings.PARCEL_ROUTE_MAX_GAP_M = 50
    sewer = Utility.objects.get(code="sewerage")
    with pytest.raises(ParcelValidationError) as exc:
        link_create(
            user=akimat_a,
            parcel=parcel_a,
            utility=sewer,
            data={"status": "planned"},
            route=route_to(parcel_a, length_m=300, gap_m=120),
        )
    problem = exc.value.problems[0]
    assert problem.code == "route_far" and problem.field == "route" and "120 m" in problem.message
    # Within the configured distance it passes.
    link_create(
        user=akimat_a,
        parcel=parcel_a,
        utility=sewer,
        data={"status": "planned"},
        route=route_to(parcel_a, length_m=300, gap_m=30),
    )


def test_connected_requires_act_dates_in_order_and_unit(parcel_a, akimat_a):
    water = Utility.objects.get(code="water")
    with pytest.raises(ParcelValidationError) as exc:
        link_create(user=akimat_a, parcel=parcel_a, utility=water, data={"status": "connected", "required": True})
    assert {p.field for p in exc.value.problems} >= {"balance_act_number", "balance_act_date", "actual_connection_date"}
    with pytest.raises(ParcelValidationError) as exc:
        link_create(user=akimat_a, parcel=parcel_a, utility=water, data=connected(balance_act_date=date(2024, 4, 1)))
    assert [p.code for p in exc.value.problems] == ["date_order"]
    with pytest.raises(ParcelValidationError) as exc:
        link_create(user=akimat_a, parcel=parcel_a, utility=water, data=connected(capacity_unit="kW"))
    assert exc.value.problems[0].field == "capacity_unit" and "m3/day" in exc.value.problems[0].message


def test_database_constraints_hold_even_without_services(parcel_a):
    water = Utility.objects.get(code="water")
    with pytest.raises(IntegrityError), transaction.atomic():
        InfrastructureLink.objects.create(parcel=parcel_a, utility=water, region=parcel_a.region, status="connected")
    InfrastructureLink.objects.create(parcel=parcel_a, utility=water, region=parcel_a.region, status="planned")
    with pytest.raises(IntegrityError), transaction.atomic():
        InfrastructureLink.objects.create(parcel=parcel_a, utility=water, region=parcel_a.region, status="design")
    with pytest.raises(IntegrityError), transaction.atomic():
        Parcel.objects.filter(pk=parcel_a.pk).update(cadastral_number="1-2-3")
    with pytest.raises(IntegrityError), transaction.atomic():
        Parcel.objects.filter(pk=parcel_a.pk).update(status="act_issued")  # no act number/date


def test_cadastral_number_unique_among_active_only(parcel_a, facility_a2, admin_user_role, make_square, parcel_data):
    from parcels.services import parcel_create, parcel_revoke

    geom = make_square(facility_a2.location, 200)
    with pytest.raises(ParcelValidationError) as exc:
        parcel_create(
            user=admin_user_role,
            facility=facility_a2,
            geom=geom,
            data=parcel_data(cadastral_number=parcel_a.cadastral_number),
        )
    assert exc.value.problems[0].code == "cadastral_duplicate"
    parcel_revoke(user=admin_user_role, parcel_id=parcel_a.pk, expected_version=parcel_a.version)
    parcel_create(
        user=admin_user_role,
        facility=facility_a2,
        geom=geom,
        data=parcel_data(cadastral_number=parcel_a.cadastral_number),
    )


def test_readiness_and_facility_status_selectors(parcel_a, parcel_b, akimat_a):
    assert parcel_infrastructure_readiness(parcel_ids=[parcel_a.pk, parcel_b.pk]) == {
        parcel_a.pk: False,
        parcel_b.pk: False,
    }
    water, gas = Utility.objects.get(code="water"), Utility.objects.get(code="gas")
    link_create(user=akimat_a, parcel=parcel_a, utility=water, data=connected())
    link_create(user=akimat_a, parcel=parcel_a, utility=gas, data={"required": False, "status": "not_required"})
    assert parcel_infrastructure_readiness(parcel_ids=[parcel_a.pk]) == {parcel_a.pk: True}
    heat = link_create(
        user=akimat_a, parcel=parcel_a, utility=Utility.objects.get(code="heat"), data={"status": "design"}
    ).obj
    assert parcel_infrastructure_readiness(parcel_ids=[parcel_a.pk]) == {parcel_a.pk: False}
    link_update(
        user=akimat_a,
        link_id=heat.pk,
        expected_version=1,
        data=connected(capacity=Decimal("0.5"), capacity_unit="Gcal/h"),
    )
    assert parcel_infrastructure_readiness(parcel_ids=[parcel_a.pk]) == {parcel_a.pk: True}
    statuses = facility_parcel_status(facility_ids=[parcel_a.facility_id, parcel_b.facility_id])
    assert statuses == {parcel_a.facility_id: "allocated", parcel_b.facility_id: "allocated"}


def test_history_records_service_writes_and_queryset_update(parcel_a, akimat_a):
    assert [e.pgh_label for e in parcel_history(parcel=parcel_a)] == ["insert"]
    parcel_update(
        user=akimat_a, parcel_id=parcel_a.pk, expected_version=parcel_a.version, data={"notes": "via service"}
    )
    Parcel.objects.filter(pk=parcel_a.pk).update(notes="via queryset update")  # bypasses save() and signals
    history = parcel_history(parcel=parcel_a)
    assert [e.notes for e in history[:2]] == ["via queryset update", "via service"]


def test_restore_an_earlier_version(parcel_a, akimat_a, make_square):
    original_geom = parcel_a.geom
    moved = make_square(parcel_a.facility.location, 200, dx_m=60)
    parcel_update(user=akimat_a, parcel_id=parcel_a.pk, expected_version=1, data={"notes": "moved"}, geom=moved)
    parcel_a.refresh_from_db()
    assert parcel_a.version == 2 and not parcel_a.geom.equals_exact(original_geom, 1e-9)
    first = [e for e in parcel_history(parcel=parcel_a) if e.version == 1][-1]
    with pytest.raises(ParcelConflict):
        parcel_restore(user=akimat_a, parcel_id=parcel_a.pk, event_id=first.pgh_id, expected_version=1)
    restored = parcel_restore(user=akimat_a, parcel_id=parcel_a.pk, event_id=first.pgh_id, expected_version=2).obj
    assert restored.version == 3 and restored.notes == "" and restored.geom.equals_exact(original_geom, 1e-9)


def test_link_and_document_history(parcel_a, akimat_a):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from parcels.services import document_add

    water = Utility.objects.get(code="water")
    link = link_create(user=akimat_a, parcel=parcel_a, utility=water, data={"status": "planned"}).obj
    InfrastructureLink.objects.filter(pk=link.pk).update(provider="Astana Su Arnasy")
    assert [e.pgh_label for e in link.events.order_by("pgh_id")] == ["insert", "update"]
    doc = document_add(
        user=akimat_a,
        parcel=parcel_a,
        uploaded_file=SimpleUploadedFile("act.pdf", b"%PDF-1.4 test"),
        title="Act",
        kind="act",
        max_bytes=1000,
    )
    doc_id = doc.pk
    doc.delete()
    events = ParcelDocument.pgh_event_model.objects.filter(pgh_obj_id=doc_id).order_by("pgh_id")
    assert [e.pgh_label for e in events] == ["insert", "delete"]


def test_stale_update_is_a_conflict_not_an_overwrite(parcel_a, akimat_a):
    parcel_update(user=akimat_a, parcel_id=parcel_a.pk, expected_version=1, data={"notes": "first"})
    with pytest.raises(ParcelConflict) as exc:
        parcel_update(user=akimat_a, parcel_id=parcel_a.pk, expected_version=1, data={"notes": "second"})
    assert exc.value.current_version == 2
    parcel_a.refresh_from_db()
    assert parcel_a.notes == "first"


def test_replace_keeps_history_on_the_facility(parcel_a, akimat_a, make_square, parcel_data):
    new = parcel_replace(
        user=akimat_a,
        parcel_id=parcel_a.pk,
        expected_version=1,
        geom=make_square(parcel_a.facility.location, 180, dx_m=400),
        data=parcel_data(declared_area_ha=Decimal("3.24")),
    ).obj
    parcel_a.refresh_from_db()
    assert parcel_a.status == "revoked" and parcel_a.replaced_by == new
    assert list(parcel_a.facility.parcels.order_by("id")) == [parcel_a, new]
    assert facility_parcel_status(facility_ids=[parcel_a.facility_id]) == {parcel_a.facility_id: "allocated"}


def test_link_restore(parcel_a, akimat_a):
    from parcels.services import link_restore

    link = link_create(
        user=akimat_a, parcel=parcel_a, utility=Utility.objects.get(code="water"), data={"status": "planned"}
    ).obj
    link_update(user=akimat_a, link_id=link.pk, expected_version=1, data={"status": "design", "provider": "Su"})
    first = link.events.order_by("pgh_id").first()
    restored = link_restore(user=akimat_a, link_id=link.pk, event_id=first.pgh_id, expected_version=2).obj
    assert (restored.status, restored.provider, restored.version) == ("planned", "", 3)
