"""Pages, permissions on pages, reminders and the e-mail digest, population loading."""

from datetime import date

import pytest
from django.core import mail
from django.core.management import call_command

from layers.models import PopulationFigure
from tracking.models import TrackedFacility
from tracking.selectors import reminders_for


@pytest.fixture
def population(db):
    call_command("load_population", verbosity=0)


def test_load_population_keeps_sources_and_labels_estimates(population):
    totals = PopulationFigure.objects.filter(indicator="total", district__isnull=True)
    assert totals.get(region__kato="710000000", year=2023).value == 1354507
    assert all("stat.gov.kz" in s for s in totals.values_list("source", flat=True))
    children = PopulationFigure.objects.filter(indicator="children_0_15")
    assert children.count() == 17 and children.get(region__kato="750000000").value == 240226 + 223279
    school = PopulationFigure.objects.filter(indicator="school_age_6_17")
    assert school.exists() and not school.filter(is_official=True).exists()
    assert all("ESTIMATE" in f.source and "12/16" in f.note for f in school)
    # Astana 2023: 1,354,507 × (180,670 + 171,255) / Astana's 2020 total × 12/16.
    astana_2020 = totals.get(region__kato="710000000", year=2020).value
    expected = round(1354507 * (180670 + 171255) / astana_2020 * 12 / 16)
    assert school.get(region__kato="710000000", year=2023).value == expected


def test_pages_render_for_a_planner(client, planner, plans, population):
    client.force_login(planner)
    t = TrackedFacility.objects.first()
    for url in [
        "/en/tracking/",
        "/ru/tracking/?as_of=2025-07-05",
        "/kk/tracking/region/710000000/",
        f"/en/tracking/facility/{t.id}/",
        "/en/tracking/plans/",
        f"/en/tracking/plans/{plans[13].id}/",
        "/en/tracking/measures/",
        "/en/tracking/kpi/",
        "/en/tracking/reports/",
        "/en/tracking/reminders/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
    page = client.get("/en/tracking/").content.decode()
    main = page.split("<main>", 1)[1].split("</main>", 1)[0]
    # Strict CSP: charts are inline SVG with presentation attributes only; no inline style or script.
    assert main.count("<svg") >= 4 and "style=" not in main and "<script" not in main
    assert "state expertise not passed 9 months before the deadline" in page
    kpi = client.get("/en/tracking/kpi/").content.decode()
    assert "ESTIMATE" in kpi
    xlsx = client.get("/en/tracking/reports/?kind=consolidated&as_of=2025-07-01&language=en&format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_akimat_sees_and_edits_only_its_region(client, akimat_a, plans, region_b):
    client.force_login(akimat_a)
    other = TrackedFacility.objects.filter(facility__region=region_b).first()
    own = TrackedFacility.objects.filter(facility__region__kato="710000000").first()
    assert client.get(f"/en/tracking/region/{region_b.kato}/").status_code == 403
    assert client.get(f"/en/tracking/facility/{other.id}/").status_code == 403
    assert client.post(f"/en/tracking/facility/{other.id}/", {"stage": "parcel"}).status_code == 403
    response = client.post(
        f"/en/tracking/facility/{own.id}/",
        {"stage": "parcel", "actual_date": "2024-03-01", "version": own.version},
    )
    assert response.status_code == 200 and b"document" in response.content  # form error, nothing saved
    assert not own.records.exists()
    response = client.post(
        f"/en/tracking/facility/{own.id}/",
        {
            "stage": "parcel",
            "actual_date": "2024-03-01",
            "doc_number": "7",
            "doc_date": "2024-03-01",
            "version": own.version,
        },
    )
    assert response.status_code == 302 and own.records.count() == 1
    page = client.get("/en/tracking/").content.decode()
    assert other.facility.name not in page
    assert client.post(f"/en/tracking/plans/{plans[13].id}/", {"action": "new_version"}).status_code == 403


def test_reminders_and_digest(plans, akimat_a, planner):
    akimat_a.email, planner.email = "a@example.kz", "p@example.kz"
    akimat_a.save()
    planner.save()
    today = date(2025, 6, 20)
    own = reminders_for(region_ids=[akimat_a.membership.region_id], is_ministry=False, today=today)
    assert any(r.due == date(2025, 7, 5) for r in own)  # the executor report
    assert not any(r.due == date(2025, 7, 20) for r in own)  # the ministry's report is not theirs
    assert all(r.region is None or r.region.id == akimat_a.membership.region_id for r in own)
    call_command("send_deadline_digest", "--today=2025-06-20", "--days=30", "--language=en", verbosity=0)
    to = sorted(m.to[0] for m in mail.outbox)
    assert to == ["a@example.kz", "p@example.kz"]
    body = next(m.body for m in mail.outbox if m.to == ["p@example.kz"])
    assert "2025-07-20" in body and "consolidated report" in body


def test_report_page_download_and_submit(client, akimat_a, region_a, plans):
    client.force_login(akimat_a)
    query = f"kind=region&region={region_a.id}&as_of=2025-07-01&language=kk"
    pdf = client.get(f"/kk/tracking/reports/?{query}&format=pdf")
    assert pdf.status_code == 200 and pdf.content[:4] == b"%PDF"
    page = client.get(f"/kk/tracking/reports/?{query}")
    assert b'value="submit"' in page.content
    submitted = client.post(
        "/kk/tracking/reports/",
        {"kind": "region", "region": region_a.id, "as_of": "2025-07-01", "language": "kk", "action": "submit"},
    )
    assert submitted.status_code == 302
    from tracking.models import Report

    report = Report.objects.get(region=region_a, as_of=date(2025, 7, 1), language="kk")
    assert report.known_at == date(2025, 7, 5)
    assert client.get(f"/kk/tracking/reports/{report.id}/xlsx/").status_code == 200
    # Another region's report is not the akimat's to make.
    other_region = TrackedFacility.objects.exclude(facility__region=region_a).first().facility.region_id
    other = client.get(
        f"/kk/tracking/reports/?kind=region&region={other_region}&as_of=2025-07-01&language=kk&format=csv"
    )
    assert other.status_code == 403


def test_plan_page_check_and_approve(client, planner, plans):
    client.force_login(planner)
    response = client.post(f"/en/tracking/plans/{plans[12].id}/", {"action": "new_version"})
    assert response.status_code == 302
    from tracking.models import Plan

    draft = Plan.objects.get(plan_measure_id=12, status="draft")
    item = draft.items.filter(measure_id=16).first()
    client.post(f"/en/tracking/plans/{draft.id}/", {"action": "delete", "item": item.id})
    page = client.post(f"/en/tracking/plans/{draft.id}/", {"action": "check"}, follow=True).content.decode()
    assert "measure 16: the plan has 22 objects, the order requires 23" in page
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_stage_document_upload_and_protected_download(client, akimat_a, akimat_b, plans):
    from django.core.files.uploadedfile import SimpleUploadedFile

    own = TrackedFacility.objects.filter(facility__region__kato="710000000").first()
    client.force_login(akimat_a)
    bad = client.post(
        f"/en/tracking/facility/{own.id}/",
        {
            "stage": "parcel",
            "actual_date": "2024-03-01",
            "doc_number": "7",
            "doc_date": "2024-03-01",
            "version": own.version,
            "doc_file": SimpleUploadedFile("act.exe", b"MZ"),
        },
    )
    assert bad.status_code == 200 and not own.records.exists()
    client.post(
        f"/en/tracking/facility/{own.id}/",
        {
            "stage": "parcel",
            "actual_date": "2024-03-01",
            "doc_number": "7",
            "doc_date": "2024-03-01",
            "version": own.version,
            "doc_file": SimpleUploadedFile("act.pdf", b"%PDF-1.4 test"),
        },
    )
    record = own.records.get()
    response = client.get(f"/en/tracking/files/stage/{record.id}/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 test"
    client.force_login(akimat_b)
    assert client.get(f"/en/tracking/files/stage/{record.id}/").status_code == 403
