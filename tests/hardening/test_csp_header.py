"""gis_portal.csp: every HTML page carries the nonce-based policy; map pages keep their own."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/en/", "/kk/accounts/login/", "/en/admin/login/", "/api/v1/docs/"])
def test_html_pages_get_a_nonce_based_policy(client, path):
    response = client.get(path)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    script_src = csp.split("script-src")[1].split(";")[0]
    assert "'self'" in script_src and "'nonce-" in script_src and "unsafe-inline" not in script_src
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    html = response.content.decode()
    # every inline script of the page carries this response's nonce
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or f'nonce="{nonce}"' in tag or 'type="application/json"' in tag, tag


def test_the_nonce_changes_per_response(client):
    first = client.get("/en/")["Content-Security-Policy"]
    second = client.get("/en/")["Content-Security-Policy"]
    assert first != second


def test_json_responses_get_no_page_policy(client):
    response = client.get("/api/v1/facilities/")
    assert response.status_code == 200
    assert "Content-Security-Policy" not in response


def test_admin_map_widget_script_carries_the_nonce(client, admin_user_role):
    from facilities.models import Facility

    client.force_login(admin_user_role)
    facility = Facility.objects.filter(location__isnull=False).first()
    response = client.get(f"/en/admin/facilities/facility/{facility.pk}/change/")
    assert response.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    html = response.content.decode()
    assert "new MapWidget(options)" in html
    assert f'<script nonce="{nonce}">' in html
