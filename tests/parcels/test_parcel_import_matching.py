"""Parcel import without internal ids (issue 15): facilities found by reference or location, updates by
cadastral number with the differences shown, per-row choices in the preview, Repair, all problems at once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.gis.geos import GEOSGeometry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from facilities.models import Facility
from parcels.io import RawFeature
from parcels.models import Parcel, ParcelImportUpload
from parcels.services import parcels_import
from parcels.uploads import ImportChoicesRefused, import_choices_save
from tests.parcels.test_parcel_import import fc, feature

pytestmark = pytest.mark.django_db


def raw(geom, number: int = 1, **props) -> RawFeature:
    return RawFeature(number, geom, props)


def bowtie_around(point, d: float = 0.002) -> GEOSGeometry:
    """A self-intersecting "bow-tie" (EPSG:4326) whose right lobe holds `point`."""
    x, y = point.x - 0.8 * d, point.y - 0.5 * d
    ring = f"{x} {y},{x + d} {y + d},{x + d} {y},{x} {y + 1.6 * d},{x} {y}"
    return GEOSGeometry(f"SRID=4326;MULTIPOLYGON((({ring})))")


def upload_file(client, features: list) -> str:
    """Upload a GeoJSON file through the page; returns the preview's URL."""
    data = SimpleUploadedFile("p.geojson", fc(features), content_type="application/geo+json")
    response = client.post(reverse("parcels:import"), {"file": data, "srid": ""})
    assert response.status_code == 302, response.content.decode()[:500]
    return response["Location"]


def token_of(url: str) -> str:
    return url.rstrip("/").split("/")[-1]


def test_row_without_facility_id_is_matched_by_location(akimat_a, facility_a, facility_a2, make_square, settings):
    inside = raw(make_square(facility_a.location, 200), cadastral_number="01-500-500-500", declared_area_ha="4")
    # Drawn 300 m east of the facility: its location lies 200 m from the parcel, within the limit.
    settings.PARCEL_IMPORT_MATCH_DISTANCE_M = 400
    near = raw(make_square(facility_a2.location, 200, dx_m=300), 2, declared_area_ha="4")
    outcome = parcels_import(user=akimat_a, features=[inside, near], commit=True)
    assert outcome.committed and outcome.created == 2, [r.problems for r in outcome.rows]
    first, second = outcome.rows
    assert first.facility_id == facility_a.pk and first.match_text == "its location lies inside the parcel"
    assert second.facility_id == facility_a2.pk and second.match_text.endswith("m from the parcel")
    assert Parcel.objects.get(cadastral_number="01-500-500-500").facility == facility_a
    assert Parcel.objects.get(pk=second.parcel_id).facility == facility_a2


def test_row_matched_by_facility_reference(akimat_a, facility_a, facility_a2, make_square):
    assert facility_a2.reference.startswith("DEMO-")  # the demo loader gives every facility a reference
    Facility.objects.filter(pk=facility_a2.pk).update(reference="PLAN-17/2024")
    # The reference names facility_a2 although the parcel is drawn around facility_a: the reference wins.
    row = raw(make_square(facility_a.location, 200), facility_id="plan-17/2024", declared_area_ha="4")
    outcome = parcels_import(user=akimat_a, features=[row], commit=False)
    assert outcome.rows[0].facility_id == facility_a2.pk
    assert outcome.rows[0].match_text == "reference “plan-17/2024”"
    unknown = raw(make_square(facility_a.location, 200), facility_id="NO-SUCH-REF", declared_area_ha="4")
    outcome = parcels_import(user=akimat_a, features=[unknown], commit=True)
    warning = outcome.rows[0].problems[0]
    assert warning["severity"] == "warning" and "NO-SUCH-REF" in warning["message"]
    assert outcome.committed and outcome.rows[0].facility_id == facility_a.pk  # matching went on by location


def test_facility_reference_is_unique_when_given(facility_a, facility_a2):
    from django.db import IntegrityError, transaction

    Facility.objects.filter(pk__in=[facility_a.pk, facility_a2.pk]).update(reference="")  # empty: many allowed
    Facility.objects.filter(pk=facility_a.pk).update(reference="R-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Facility.objects.filter(pk=facility_a2.pk).update(reference="R-1")


def test_ambiguous_row_offers_candidates_and_keeps_the_choice(
    client, akimat_a, parcel_a, facility_a, facility_a2, facility_b, make_square, settings
):
    """Several facilities within the distance: the preview asks; a facility that is not a candidate is refused."""
    settings.PARCEL_IMPORT_MATCH_DISTANCE_M = 50_000
    client.force_login(akimat_a)
    geom = make_square(facility_a.location, 200, dy_m=600)  # 500 m from parcel_a, touching no facility
    url = upload_file(client, [feature(geom, cadastral_number="01-600-600-600", declared_area_ha=4)])
    page = client.get(url).content.decode()
    assert 'name="facility_1"' in page and f'value="{facility_a2.pk}"' in page and "choose the facility" in page
    assert f'value="{facility_a.pk}"' not in page  # facility_a has its parcel already
    assert "Save the import" not in page
    choices = reverse("parcels:import_choices", args=[token_of(url)])
    for wrong in (facility_a.pk, facility_b.pk):  # has a parcel / another region's
        refused = client.post(choices, {"facility_1": str(wrong)})
        assert refused.status_code == 400 and f"#{wrong}" in refused.content.decode()
    assert ParcelImportUpload.objects.get(token=token_of(url)).choices == {}
    assert client.post(choices, {"facility_1": str(facility_a2.pk)}).status_code == 302
    page = client.get(url).content.decode()
    assert "chosen by you" in page and "Save the import" in page
    assert client.post(reverse("parcels:import_confirm", args=[token_of(url)])).status_code == 302
    assert Parcel.objects.get(cadastral_number="01-600-600-600").facility == facility_a2


def test_choices_service_refuses_a_row_not_in_the_file(akimat_a, facility_a, make_square, tmp_path):
    upload = ParcelImportUpload.objects.create(
        token="a" * 32, user=akimat_a, filename="p.geojson", file="parcel_imports/x.geojson", size_bytes=1
    )
    features = [raw(make_square(facility_a.location, 200), declared_area_ha="4")]
    with pytest.raises(ImportChoicesRefused, match="Row 7 is not in the file"):
        import_choices_save(user=akimat_a, upload=upload, features=features, choices={"rows": {"7": {"skip": True}}})
    outcome = import_choices_save(
        user=akimat_a, upload=upload, features=features, choices={"rows": {"1": {"skip": True}}}
    )
    assert outcome.skipped == 1 and ParcelImportUpload.objects.get(pk=upload.pk).choices["rows"]["1"]["skip"]


def test_row_with_an_existing_cadastral_number_updates_that_parcel(client, akimat_a, parcel_a, make_square):
    client.force_login(akimat_a)
    version, events = parcel_a.version, parcel_a.events.count()
    bigger = make_square(parcel_a.facility.location, 220)  # 200 × 200 m → 220 × 220 m: 4.84 ha, 10 m further out
    row = feature(
        bigger, cadastral_number=parcel_a.cadastral_number, act_number="A-77", act_date="2024-05-01", area_ha=4.84
    )
    url = upload_file(client, [row])
    page = client.get(url).content.decode()
    assert "update" in page and f"updates parcel {parcel_a.cadastral_number}" in page
    assert "act number: — → A-77" in page and "act date: — → May 1, 2024" in page
    assert "declared area, ha: 4.0000 → 4.8400" in page
    assert "boundary: 4.0000 ha → 4.8400 ha (+0.8400 ha, +21.0 %), moved by up to 14 m" in page
    assert client.post(reverse("parcels:import_confirm", args=[token_of(url)])).status_code == 302
    parcel_a.refresh_from_db()
    assert parcel_a.version == version + 1 and parcel_a.events.count() > events
    assert parcel_a.events.order_by("-pgh_id").first().act_number == "A-77"  # the history holds the new version
    events = parcel_a.events.count()
    assert parcel_a.act_number == "A-77" and abs(parcel_a.computed_area_ha - Decimal("4.84")) < Decimal("0.01")
    assert Parcel.objects.filter(cadastral_number=parcel_a.cadastral_number).count() == 1
    # The same file again: nothing differs, nothing is written.
    outcome = parcels_import(
        user=akimat_a,
        features=[raw(bigger, cadastral_number=parcel_a.cadastral_number, act_number="A-77", area_ha="4,84")],
        commit=True,
    )
    assert outcome.committed and outcome.unchanged == 1 and outcome.saved == 0, outcome.rows[0].problems
    parcel_a.refresh_from_db()
    assert parcel_a.version == version + 1 and parcel_a.events.count() == events


def test_a_row_reports_all_its_problems_while_its_facility_is_unknown(akimat_a, facility_a, make_square):
    bad = raw(bowtie_around(make_square(facility_a.location, 10, dy_m=-20_000).centroid), declared_area_ha="four")
    huge = raw(make_square(facility_a.location, 1600, dy_m=-20_000), 2, declared_area_ha="1")  # 256 ha
    outcome = parcels_import(user=akimat_a, features=[bad, huge], commit=True)
    assert not outcome.committed
    first, second = outcome.rows
    assert first.action == "choose" and second.action == "choose"
    assert {p["code"] for p in first.problems} >= {"declared_area", "invalid"} and first.repairable
    assert {p["code"] for p in second.problems} >= {"implausible_size", "area_mismatch"}
    assert "Repair" not in next(p["message"] for p in first.problems if p["code"] == "invalid")


def test_repair_in_the_preview(client, akimat_a, facility_a2):
    client.force_login(akimat_a)
    url = upload_file(client, [feature(bowtie_around(facility_a2.location), declared_area_ha=1.5)])
    page = client.get(url).content.decode()
    assert 'name="repair_1"' in page and "Self-intersection" in page and "Save the import" not in page
    assert '"dashArray": "6 4"' not in page
    token = token_of(url)
    assert client.post(reverse("parcels:import_choices", args=[token]), {"repair_1": "1"}).status_code == 302
    page = client.get(url).content.decode()
    assert "repaired: 0.9331 ha → 2.1293 ha (+1.1962 ha, +128.2 %)" in page
    assert '"dashArray": "6 4"' in page  # the boundary as drawn, dashed under the repaired one
    assert "Self-intersection" not in page and "Save the import" in page
    assert client.post(reverse("parcels:import_confirm", args=[token])).status_code == 302
    parcel = Parcel.objects.get(facility=facility_a2)
    assert parcel.geom.valid and parcel.computed_area_ha > 0


def test_repair_shows_the_area_change_in_percent(akimat_a, facility_a2):
    d = 0.002
    x, y = facility_a2.location.x - 0.8 * d, facility_a2.location.y - 0.5 * d
    # The left lobe is larger than the right one: drawn "area" is their difference, repaired their sum.
    ring = f"{x} {y},{x + d} {y + d},{x + d} {y},{x} {y + 1.6 * d},{x} {y}"
    geom = GEOSGeometry(f"SRID=4326;MULTIPOLYGON((({ring})))")
    outcome = parcels_import(
        user=akimat_a,
        features=[raw(geom, declared_area_ha="2")],
        commit=False,
        choices={"rows": {"1": {"repair": True}}},
    )
    row = outcome.rows[0]
    assert row.repair is not None and row.repair.new_ha > row.repair.old_ha > 0
    assert "%" in row.repair.area_text and row.geom.valid and row.original_geom.equals_exact(geom)


def test_akimat_never_matches_another_regions_parcels_or_facilities(
    akimat_a, admin_user_role, parcel_b, facility_b, region_a, make_square
):
    geom = make_square(facility_b.location, 200)
    row = raw(geom, facility_id=facility_b.reference or str(facility_b.pk), cadastral_number=parcel_b.cadastral_number)
    outcome = parcels_import(user=akimat_a, features=[row], commit=False)
    result = outcome.rows[0]
    assert result.action == "choose" and result.parcel_id is None and result.facility_id is None
    regions = set(Facility.objects.filter(pk__in=result.candidate_ids).values_list("region_id", flat=True))
    assert regions <= {region_a.pk}
    assert result.problems[0]["field"] == "facility_id" and result.problems[0]["severity"] == "warning"
    # A facility of region B without a parcel, inside the drawn parcel: an administrator's match, never an akimat's.
    free_b = Facility.objects.filter(region=facility_b.region, location__isnull=False).exclude(pk=facility_b.pk).first()
    inside_b = raw(make_square(free_b.location, 200), declared_area_ha="4")
    assert parcels_import(user=admin_user_role, features=[inside_b], commit=False).rows[0].facility_id == free_b.pk
    akimat = parcels_import(user=akimat_a, features=[inside_b], commit=False).rows[0]
    assert akimat.action == "choose" and free_b.pk not in akimat.candidate_ids
    # For an administrator the first row is an update of parcel_b (its facility has that parcel).
    admin = parcels_import(user=admin_user_role, features=[row], commit=False)
    assert admin.rows[0].parcel_id == parcel_b.pk and admin.rows[0].action in ("update", "unchanged")


def test_confirm_message_counts_rows_with_plurals(client, akimat_a, parcel_a, facility_a2, make_square):
    client.force_login(akimat_a)
    rows = [
        feature(make_square(facility_a2.location, 200), declared_area_ha=4),
        feature(parcel_a.geom, cadastral_number=parcel_a.cadastral_number),
        feature(make_square(facility_a2.location, 200, dy_m=-20_000), declared_area_ha=4),
    ]
    url = upload_file(client, rows)
    token = token_of(url)
    assert client.post(reverse("parcels:import_choices", args=[token]), {"skip_3": "1"}).status_code == 302
    response = client.post(reverse("parcels:import_confirm", args=[token]), follow=True)
    text = response.content.decode()
    assert "1 parcel created; 1 row unchanged; 1 row skipped" in text, text[:3000]


def test_upload_page_explains_matching_with_the_configured_distance(client, akimat_a, settings):
    settings.PARCEL_IMPORT_MATCH_DISTANCE_M = 2500
    client.force_login(akimat_a)
    page = client.get(reverse("parcels:import")).content.decode()
    assert "facility_id (optional" in page and "within 2500 m in its district" in page
