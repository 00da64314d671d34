"""Permission matrix: an akimat user of region A gets no read and no write of region B through any route.

Routes: pages (list, detail, form, links, documents, import, export), admin, API.
Planner: reads all, writes none. Anonymous: nothing. Admin: everything.
"""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from parcels.models import InfrastructureLink, Parcel, ParcelDocument, Utility
from parcels.services import document_add


@pytest.fixture
def link_b(parcel_b, admin_user_role):
    return InfrastructureLink.objects.create(
        parcel=parcel_b, utility=Utility.objects.get(code="water"), region=parcel_b.region, status="planned"
    )


@pytest.fixture
def document_b(parcel_b, admin_user_role):
    return document_add(
        user=admin_user_role,
        parcel=parcel_b,
        uploaded_file=SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20),
        title="plan",
        kind="plan",
        max_bytes=10_000,
    )


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def test_pages_of_region_b_are_invisible_to_akimat_a(client, akimat_a, parcel_a, parcel_b, link_b, document_b):
    client.force_login(akimat_a)
    listing = client.get(reverse("parcels:list")).content.decode()
    assert parcel_a.cadastral_number in listing and parcel_b.cadastral_number not in listing
    for url in [
        reverse("parcels:detail", args=[parcel_b.pk]),
        reverse("parcels:edit", args=[parcel_b.pk]),
        reverse("parcels:link_create", args=[parcel_b.pk]),
        reverse("parcels:link_edit", args=[parcel_b.pk, link_b.pk]),
        reverse("parcels:document_download", args=[document_b.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    for url, data in [
        (reverse("parcels:edit", args=[parcel_b.pk]), {"notes": "x"}),
        (reverse("parcels:revoke", args=[parcel_b.pk]), {"version": parcel_b.version}),
        (reverse("parcels:restore", args=[parcel_b.pk]), {"version": parcel_b.version, "event": 1}),
        (reverse("parcels:link_delete", args=[parcel_b.pk, link_b.pk]), {}),
        (reverse("parcels:document_upload", args=[parcel_b.pk]), {"title": "x", "kind": "act"}),
    ]:
        assert client.post(url, data).status_code == 404, url
    parcel_b.refresh_from_db()
    assert parcel_b.status == "allocated" and parcel_b.version == 1
    assert InfrastructureLink.objects.filter(pk=link_b.pk).exists()


def test_form_offers_only_own_region_facilities(client, akimat_a, facility_a, facility_b, make_square):
    client.force_login(akimat_a)
    page = client.get(reverse("parcels:create")).content.decode()
    assert f'value="{facility_a.pk}"' in page and f'value="{facility_b.pk}"' not in page
    post = {
        "facility": facility_b.pk,
        "declared_area_ha": "4",
        "land_category": "settlement",
        "right_type": "temporary_free",
        "status": "candidate",
        "geom": make_square(facility_b.location, 200).json,
    }
    response = client.post(reverse("parcels:create"), post)
    assert response.status_code == 200 and not Parcel.objects.filter(facility=facility_b).exists()


def test_import_for_region_b_facility_saves_nothing(client, akimat_a, facility_b, make_square):
    client.force_login(akimat_a)
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": json.loads(make_square(facility_b.location, 200).json),
                "properties": {"facility_id": facility_b.pk, "declared_area_ha": 4},
            }
        ],
    }
    response = client.post(
        reverse("parcels:import"), {"file": SimpleUploadedFile("p.geojson", json.dumps(fc).encode())}
    )
    preview = client.get(response["Location"]).content.decode()
    assert "no facility" in preview
    client.post(response["Location"] + "confirm/")
    assert not Parcel.objects.filter(facility=facility_b).exists()


@pytest.mark.parametrize("fmt", ["geojson", "csv", "gpkg", "shp"])
def test_exports_are_scoped(client, akimat_a, parcel_a, parcel_b, fmt):
    from parcels.io import read_parcel_file

    client.force_login(akimat_a)
    response = client.get(reverse("parcels:export"), {"format": fmt})
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    import tempfile
    from pathlib import Path

    name = {"geojson": "x.geojson", "csv": "x.csv", "gpkg": "x.gpkg", "shp": "x.zip"}[fmt]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(content)
        read = read_parcel_file(path=path, filename=name, chosen_srid=None)
    numbers = [f.properties["cadastral"] for f in read.features]
    assert numbers == [parcel_a.cadastral_number]
    # Round trip: the same area comes back (7 decimals ≈ 1 cm; rings may be re-oriented counter-clockwise).
    back = read.features[0].geom
    assert back.sym_difference(parcel_a.geom).area < 1e-4 * parcel_a.geom.area


def test_region_filter_cannot_widen_the_scope(client, akimat_a, parcel_b):
    client.force_login(akimat_a)
    response = client.get(reverse("parcels:export"), {"format": "geojson", "region": parcel_b.region.kato})
    assert json.loads(response.content)["features"] == []


def test_admin_scoping(client, akimat_a, parcel_a, parcel_b, link_b):
    client.force_login(akimat_a)
    listing = client.get(reverse("admin:parcels_parcel_changelist")).content.decode()
    assert parcel_a.cadastral_number in listing and parcel_b.cadastral_number not in listing
    assert client.get(reverse("admin:parcels_parcel_change", args=[parcel_b.pk])).status_code in (302, 404)
    response = client.post(reverse("admin:parcels_parcel_change", args=[parcel_b.pk]), {"notes": "x"})
    assert response.status_code in (302, 403, 404)
    assert client.get(reverse("admin:parcels_infrastructurelink_change", args=[link_b.pk])).status_code in (302, 404)
    parcel_b.refresh_from_db()
    assert parcel_b.notes == ""
    own = client.get(reverse("admin:parcels_parcel_change", args=[parcel_a.pk]))
    assert own.status_code == 200 and b"geom" in own.content


def test_admin_change_goes_through_checks_and_version(client, akimat_a, parcel_a):
    client.force_login(akimat_a)
    data = {
        "geom": parcel_a.geom.ewkt,
        "cadastral_number": "bad-number",
        "declared_area_ha": "4",
        "land_category": "settlement",
        "right_type": "temporary_free",
        "status": "allocated",
        "term_years": "49",
        "expected_version": str(parcel_a.version),
    }
    response = client.post(reverse("admin:parcels_parcel_change", args=[parcel_a.pk]), data)
    assert response.status_code == 200 and "NN-NNN-NNN-NNN" in response.content.decode()
    response = client.post(
        reverse("admin:parcels_parcel_change", args=[parcel_a.pk]), {**data, "cadastral_number": "01-001-001-009"}
    )
    assert response.status_code == 302
    parcel_a.refresh_from_db()
    assert parcel_a.cadastral_number == "01-001-001-009" and parcel_a.version == 2
    stale = client.post(
        reverse("admin:parcels_parcel_change", args=[parcel_a.pk]), {**data, "cadastral_number": "01-001-001-008"}
    )
    assert stale.status_code == 200 and "Somebody else changed" in stale.content.decode()


def test_planner_reads_all_writes_nothing(
    client, planner, parcel_a, parcel_b, link_b, document_b, facility_a, make_square
):
    client.force_login(planner)
    listing = client.get(reverse("parcels:list")).content.decode()
    assert parcel_a.cadastral_number in listing and parcel_b.cadastral_number in listing
    assert client.get(reverse("parcels:detail", args=[parcel_b.pk])).status_code == 200
    assert client.get(reverse("parcels:document_download", args=[document_b.pk])).status_code == 200
    assert client.get(reverse("parcels:edit", args=[parcel_b.pk])).status_code == 403
    assert client.get(reverse("parcels:create")).status_code == 403
    assert client.post(reverse("parcels:revoke", args=[parcel_b.pk]), {"version": 1}).status_code == 403
    assert client.get(reverse("parcels:import")).status_code == 403
    assert api(planner).get("/api/v1/parcels/").status_code == 200
    assert (
        api(planner).patch(f"/api/v1/parcels/{parcel_b.pk}/", {"notes": "x", "version": 1}, format="json").status_code
        == 403
    )
    response = client.post(reverse("admin:parcels_parcel_change", args=[parcel_b.pk]), {"notes": "x"})
    assert response.status_code == 403
    parcel_b.refresh_from_db()
    assert parcel_b.notes == "" and parcel_b.version == 1


def test_anonymous_gets_nothing(client, parcel_a, document_b):
    for url in [
        reverse("parcels:list"),
        reverse("parcels:detail", args=[parcel_a.pk]),
        reverse("parcels:export") + "?format=geojson",
        reverse("parcels:compliance"),
        reverse("parcels:document_download", args=[document_b.pk]),
    ]:
        assert client.get(url).status_code == 302, url  # to the sign-in page
    assert api().get("/api/v1/parcels/").status_code in (401, 403)
    assert api().get(f"/api/v1/parcels/{parcel_a.pk}/").status_code in (401, 403)


def test_api_scoping_for_akimat(akimat_a, parcel_a, parcel_b, link_b):
    client = api(akimat_a)
    features = json.loads(client.get("/api/v1/parcels/").content)["features"]
    assert [f["id"] for f in features] == [parcel_a.pk]
    assert client.get(f"/api/v1/parcels/{parcel_b.pk}/").status_code == 404
    assert (
        client.patch(f"/api/v1/parcels/{parcel_b.pk}/", {"notes": "x", "version": 1}, format="json").status_code == 404
    )
    assert client.get(f"/api/v1/parcels/{parcel_b.pk}/links/").status_code == 404
    assert client.post(f"/api/v1/parcels/{parcel_b.pk}/links/", {"utility": "gas"}, format="json").status_code == 404
    assert client.delete(f"/api/v1/parcels/{parcel_b.pk}/links/{link_b.pk}/").status_code == 404
    assert InfrastructureLink.objects.filter(pk=link_b.pk).exists()


def test_document_checks_type_and_size(client, akimat_a, parcel_a, settings):
    client.force_login(akimat_a)
    url = reverse("parcels:document_upload", args=[parcel_a.pk])
    fake = SimpleUploadedFile("act.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    client.post(url, {"title": "act", "kind": "act", "file": fake})
    assert not ParcelDocument.objects.filter(parcel=parcel_a).exists()
    settings.PARCEL_DOCUMENT_MAX_BYTES = 100
    big = SimpleUploadedFile("act.pdf", b"%PDF-" + b"0" * 200)
    client.post(url, {"title": "act", "kind": "act", "file": big})
    assert not ParcelDocument.objects.filter(parcel=parcel_a).exists()
    settings.PARCEL_DOCUMENT_MAX_BYTES = 10_000
    jpeg = SimpleUploadedFile("scan.exe", b"\xff\xd8\xff\xe0" + b"0" * 50)
    client.post(url, {"title": "scan", "kind": "act", "file": jpeg})
    doc = ParcelDocument.objects.get(parcel=parcel_a)
    assert doc.content_type == "image/jpeg" and doc.file.name.endswith(".jpg")
    assert str(settings.MEDIA_ROOT) in doc.file.path
    download = client.get(reverse("parcels:document_download", args=[doc.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "image/jpeg"
    assert download["X-Content-Type-Options"] == "nosniff"
