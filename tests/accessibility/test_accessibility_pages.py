"""Pages under i18n_patterns: run list and form, run detail with map and tables, downloads, imports."""

import csv
import io
import re

import pytest
from django.urls import reverse
from django.utils import translation

from accessibility.models import AnalysisRun
from accessibility.services import analysis_run_create, analysis_run_execute
from layers.models import Settlement
from tests.accessibility.run_form import RUN_FORM


@pytest.fixture
def roadmap_run(astana_settlements, region_a):
    run = analysis_run_create(kind="roadmap", parameters={"region_ids": [region_a.id]}, enqueue=False, is_demo=True)
    return analysis_run_execute(run_id=run.pk)


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_run_list_and_form_for_planner(client, planner, lang):
    client.force_login(planner)
    with translation.override(lang):
        url = reverse("accessibility:run_list")
    assert url.startswith(f"/{lang}/")
    resp = client.get(url)
    assert resp.status_code == 200 and b'id="run-form"' in resp.content


def test_anonymous_is_sent_to_login_and_akimat_sees_no_form(client, akimat_a):
    resp = client.get("/en/accessibility/")
    assert resp.status_code == 302 and "/login/" in resp["Location"]
    client.force_login(akimat_a)
    resp = client.get("/en/accessibility/")
    assert resp.status_code == 200 and b'id="run-form"' not in resp.content
    assert client.post("/en/accessibility/", {"kind": "coverage"}).status_code == 403


def test_form_queues_a_run(client, planner, region_a):
    client.force_login(planner)
    data = RUN_FORM | {
        "scope": "open_or_planned",
        "purpose": "art_school",
        "region": region_a.pk,
        "site_kind": "art_school",
    }
    resp = client.post("/en/accessibility/", data)
    run = AnalysisRun.objects.get()
    assert resp.status_code == 302 and resp["Location"].endswith(f"/runs/{run.pk}/")
    assert run.parameters["radii"]["art_school"]["rural_m"] == 15000 and run.status == "queued"
    assert run.parameters["facilities"]["purpose"] == "art_school"  # one kind alone, not a whole purpose
    page = client.get(resp["Location"])
    assert b"run-progress" in page.content and b"fetch(" in page.content  # polls the progress


def test_roadmap_run_page_shows_both_scenarios_map_and_demo_label(client, planner, roadmap_run):
    client.force_login(planner)
    resp = client.get(f"/en/accessibility/runs/{roadmap_run.pk}/")
    html = resp.content.decode()
    assert resp.status_code == 200
    assert 'id="roadmap-effect"' in html and "DEMO" in html and "leaflet" in html.lower()
    assert "before the roadmap" in html and "all facilities of the plan open" in html
    resp = client.get(f"/en/accessibility/runs/{roadmap_run.pk}/districts/")
    assert resp.status_code == 200 and 'id="districts"' in resp.content.decode()


def test_downloads(client, planner, roadmap_run, region_a):
    client.force_login(planner)
    resp = client.get(f"/en/accessibility/runs/{roadmap_run.pk}/download/zones.csv")
    rows = list(csv.DictReader(io.StringIO(resp.content.decode())))
    assert {r["scenario"] for r in rows} == {"before", "after"} and rows[0]["is_demo"] == "True"
    resp = client.get(f"/en/accessibility/runs/{roadmap_run.pk}/download/districts.geojson?scenario=after")
    assert resp["Content-Type"] == "application/geo+json" and b'"FeatureCollection"' in resp.content
    resp = client.get(f"/en/accessibility/runs/{roadmap_run.pk}/download/settlements.csv")
    assert b"T1" in resp.content
    assert client.get(f"/en/accessibility/runs/{roadmap_run.pk}/download/distance.tif").status_code == 404


def test_settlement_import_form(client, planner):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(planner)
    bad = SimpleUploadedFile("s.csv", b"name,lon,lat,population\nA,71,51,abc\n", content_type="text/csv")
    resp = client.post("/en/accessibility/settlements/import/", {"file": bad, "source": "form test"})
    assert resp.status_code == 200 and "CSV line 2: field &#x27;population&#x27;" in resp.content.decode()
    good = SimpleUploadedFile("s.csv", b"name,lon,lat,population,child_population\nA,71,51,100,40\n")
    resp = client.post("/en/accessibility/settlements/import/", {"file": good, "source": "form test"})
    assert resp.status_code == 302 and Settlement.objects.filter(source="form test").count() == 1


def test_raster_upload_form(client, planner, utm_raster):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(planner)
    upload = SimpleUploadedFile("astana.tif", utm_raster.read_bytes(), content_type="image/tiff")
    resp = client.post(
        "/en/accessibility/rasters/",
        {"file": upload, "name": "Upload", "bands": "1", "year": 2024, "source": "test", "indicator": "children_0_17"},
    )
    assert resp.status_code == 302
    upload = SimpleUploadedFile("astana.tif", utm_raster.read_bytes(), content_type="image/tiff")
    resp = client.post(
        "/en/accessibility/rasters/",
        {"file": upload, "name": "Bad", "bands": "1,4", "year": 2024, "source": "test", "indicator": "children_0_17"},
    )
    assert resp.status_code == 200 and "bands [4] do not exist" in resp.content.decode()
    page = client.get("/en/accessibility/rasters/").content.decode()
    assert "Upload" in page and "Bad" not in page.split('id="rasters"')[1].split("</table>")[0]


def test_analysis_map_page_shows_our_layers(client, planner, db, region_a, astana_settlements):
    for kind, extra in (("underserved", {}), ("sites", {"sites": {"k": 1}}), ("coverage", {})):
        run = analysis_run_create(kind=kind, parameters={"region_ids": [region_a.id], **extra}, enqueue=False)
        analysis_run_execute(run_id=run.pk)
    client.force_login(planner)
    resp = client.get("/en/maps/analysis/")
    html = resp.content.decode()
    assert resp.status_code == 200 and "Underserved areas" in html and "Recommended sites" in html
    assert "Children in settlements" in html and "Catchments (rural radius)" in html
    assert re.search(r'"covered"\s*:\s*false', html)  # the settlement 40 km out


def test_best_sites_form_refuses_a_new_kind_of_another_purpose(client, planner):
    client.force_login(planner)
    form = client.get("/en/accessibility/").content.decode()
    # The defaults go together: recreation children, new health centres.
    assert '<option value="health_centre" selected>' in form and '<option value="recreation" selected>' in form
    data = RUN_FORM | {"kind": "sites", "site_kind": "art_school"}
    resp = client.post("/en/accessibility/", data)
    assert resp.status_code == 200 and not AnalysisRun.objects.exists()
    assert "does not serve the children chosen in" in resp.content.decode()
    resp = client.post("/en/accessibility/", {**data, "purpose": "education"})
    assert resp.status_code == 302 and AnalysisRun.objects.get().parameters["facilities"]["purpose"] == "education"
