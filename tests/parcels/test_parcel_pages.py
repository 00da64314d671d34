"""Pages: list, detail (history, readiness), form with map, repair preview, import preview/confirm, compliance."""

from __future__ import annotations

import json
from decimal import Decimal

from django.urls import reverse

from parcels.models import Parcel


def test_list_detail_and_form_render_with_map(client, akimat_a, parcel_a):
    client.force_login(akimat_a)
    page = client.get(reverse("parcels:list"))
    assert page.status_code == 200 and parcel_a.cadastral_number.encode() in page.content
    detail = client.get(reverse("parcels:detail", args=[parcel_a.pk]))
    assert detail.status_code == 200
    assert b'id="readiness"' in detail.content and b'id="history"' in detail.content
    form = client.get(reverse("parcels:edit", args=[parcel_a.pk]))
    assert form.status_code == 200 and b"leaflet.draw" in form.content and b"id_geom" in form.content


def test_create_through_form_then_stale_edit_gets_conflict(client, akimat_a, facility_a2, make_square):
    client.force_login(akimat_a)
    geom = make_square(facility_a2.location, 150)
    post = {
        "facility": facility_a2.pk,
        "cadastral_number": "01-100-100-100",
        "declared_area_ha": "2.25",
        "land_category": "settlement",
        "right_type": "temporary_free",
        "status": "allocated",
        "geom": geom.json,
    }
    response = client.post(reverse("parcels:create"), post)
    assert response.status_code == 302, response.content.decode()[-3000:]
    parcel = Parcel.objects.get(cadastral_number="01-100-100-100")
    assert parcel.created_at and abs(parcel.computed_area_ha - Decimal("2.25")) < Decimal("0.01")
    edit = {**post, "notes": "first", "version": parcel.version}
    assert client.post(reverse("parcels:edit", args=[parcel.pk]), edit).status_code == 302
    stale = client.post(reverse("parcels:edit", args=[parcel.pk]), {**edit, "notes": "second"})
    assert stale.status_code == 200 and "Somebody else changed this record" in stale.content.decode()
    parcel.refresh_from_db()
    assert parcel.notes == "first" and parcel.version == 2


def test_form_shows_geometry_problem_and_repair_preview(client, akimat_a, facility_a2):
    client.force_login(akimat_a)
    x, y, d = facility_a2.location.x, facility_a2.location.y, 0.002
    bowtie = {"type": "Polygon", "coordinates": [[[x, y], [x + d, y + d], [x + d, y], [x, y + d], [x, y]]]}
    post = {
        "facility": facility_a2.pk,
        "declared_area_ha": "2",
        "land_category": "settlement",
        "right_type": "temporary_free",
        "status": "candidate",
        "geom": json.dumps(bowtie),
    }
    before = Parcel.objects.count()
    response = client.post(reverse("parcels:create"), post)
    assert response.status_code == 200 and "Self-intersection" in response.content.decode()
    repaired = client.post(reverse("parcels:create"), {**post, "repair": "1"})
    assert repaired.status_code == 200 and "MultiPolygon" in repaired.content.decode()
    assert Parcel.objects.count() == before


def test_import_via_web_preview_then_confirm(client, akimat_a, facility_a2, make_square):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(akimat_a)
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": json.loads(make_square(facility_a2.location, 200).json),
                "properties": {
                    "facility_id": facility_a2.pk,
                    "cadastral_number": "01-200-200-200",
                    "declared_area_ha": 4,
                },
            }
        ],
    }
    upload = SimpleUploadedFile("p.geojson", json.dumps(fc).encode(), content_type="application/geo+json")
    response = client.post(reverse("parcels:import"), {"file": upload, "srid": ""})
    assert response.status_code == 302
    preview = client.get(response["Location"])
    assert preview.status_code == 200 and b"import-rows" in preview.content
    assert not Parcel.objects.filter(cadastral_number="01-200-200-200").exists()
    confirm = client.post(response["Location"] + "confirm/")
    assert confirm.status_code == 302
    assert Parcel.objects.filter(cadastral_number="01-200-200-200", region=facility_a2.region).exists()


def test_compliance_lists_facilities_without_act(client, planner, parcel_a):
    from parcels.selectors import measure5_compliance

    measure, overdue, rows = measure5_compliance(user=planner)
    assert measure.number == 5 and str(measure.deadline_end) == "2024-03-31"
    row = next(r for r in rows if r.region == parcel_a.region)
    assert parcel_a.facility in row.missing  # allocated, act not issued yet
    Parcel.objects.filter(pk=parcel_a.pk).update(
        status="act_issued", act_number="12-A", act_date="2024-02-01", cadastral_number="01-001-001-001"
    )
    _, _, rows = measure5_compliance(user=planner)
    row = next(r for r in rows if r.region == parcel_a.region)
    assert parcel_a.facility not in row.missing and row.with_act == 1
    assert row.planned == row.with_act + len(row.missing)
    client.force_login(planner)
    page = client.get(reverse("parcels:compliance"))
    assert page.status_code == 200 and b'id="compliance"' in page.content


def test_pages_are_translated(client, akimat_a, parcel_a):
    from django.utils import translation

    client.force_login(akimat_a)
    with translation.override("kk"):
        kk = client.get(reverse("parcels:detail", args=[parcel_a.pk])).content.decode()
    with translation.override("ru"):
        ru = client.get(reverse("parcels:detail", args=[parcel_a.pk])).content.decode()
    assert "Инженерлік инфрақұрылым" in kk and "Инженерная инфраструктура" in ru
