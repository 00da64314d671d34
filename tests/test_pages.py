"""Home page, language switch and the admin's region scoping, through Django's test client."""

import pytest

from facilities.models import Facility


@pytest.mark.parametrize(
    ("lang", "phrase"),
    [("kk", "Жол картасы"), ("ru", "Дорожная карта"), ("en", "Roadmap")],
)
def test_home_page_in_three_languages(db, client, lang, phrase):
    response = client.get(f"/{lang}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<html lang="{lang}">' in html
    assert phrase in html
    assert html.count("data-measure=") == 26
    assert html.count("data-kato=") == 20


def test_home_page_labels_demo_data(db, client):
    html = client.get("/en/").content.decode()
    assert "DEMO DATA" in html
    Facility.objects.filter(is_demo=True).delete()
    assert "DEMO DATA" not in client.get("/en/").content.decode()


def test_kazakh_titles_are_those_of_the_order(db, client):
    from facilities.models import Measure

    html = client.get("/kk/").content.decode()
    assert Measure.objects.get(number=5).title_kk in html


def test_language_switch_redirects_to_the_chosen_language(db, client):
    response = client.post("/i18n/setlang/", {"language": "ru", "next": "/"})
    assert response.status_code == 302
    follow = client.get(response["Location"], follow=True)
    assert follow.request["PATH_INFO"].startswith("/ru/")


def test_root_redirects_to_kazakh(db, client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/kk/")


def test_admin_facility_list_is_scoped_to_the_akimat_region(client, akimat_a, region_a, region_b):
    client.force_login(akimat_a)
    response = client.get("/en/admin/facilities/facility/")
    assert response.status_code == 200
    own = Facility.objects.filter(region=region_a).first()
    other = Facility.objects.filter(region=region_b).first()
    assert client.get(f"/en/admin/facilities/facility/{own.pk}/change/").status_code == 200
    # Another region's facility does not exist for this user.
    assert client.get(f"/en/admin/facilities/facility/{other.pk}/change/").status_code == 302
    # Akimats place their facilities (location, district) but may not re-plan them: the plan data are read-only.
    response = client.post(f"/en/admin/facilities/facility/{own.pk}/change/", {"places": 1})
    assert response.status_code != 302
    own.refresh_from_db()
    assert own.places != 1


def test_admin_pages_open_for_the_administrator(client, admin_user_role):
    client.force_login(admin_user_role)
    for url in [
        "/en/admin/",
        "/en/admin/facilities/measure/",
        "/en/admin/facilities/measure/14/change/",
        "/en/admin/layers/region/",
        "/kk/admin/facilities/facility/",
    ]:
        assert client.get(url).status_code == 200, url


def test_admin_has_a_language_switcher_and_the_demo_label(client, admin_user_role):
    client.force_login(admin_user_role)
    html = client.get("/ru/admin/").content.decode()
    assert 'name="language" value="kk"' in html and 'name="language" value="en"' in html
    assert "ДЕМОНСТРАЦИОННЫЕ ДАННЫЕ" in html
    assert "Дорожная карта" in html


def test_admin_map_widget_loads_openlayers_from_our_static_files(client, admin_user_role):
    from facilities.models import Facility

    client.force_login(admin_user_role)
    facility = Facility.objects.first()
    html = client.get(f"/en/admin/facilities/facility/{facility.pk}/change/").content.decode()
    assert "/static/vendor/ol/dist/ol.js" in html
    assert "cdn.jsdelivr.net" not in html
    assert client.get("/static/vendor/ol/dist/ol.js").status_code == 200
