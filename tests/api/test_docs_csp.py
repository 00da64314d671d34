"""The policy of the API's documentation pages (gis_portal.csp): the site's own, plus blob: workers on ReDoc's
page alone (its search index runs in one). The browser test (test_docs_browser.py) loads the pages."""

from __future__ import annotations

import pytest
from django.test import Client

from gis_portal.csp import policy


def _directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def test_redoc_alone_may_start_blob_workers(db):
    redoc = Client().get("/api/v1/redoc/")
    assert redoc.status_code == 200
    directives = _directives(redoc)
    assert directives["worker-src"] == "'self' blob:"
    # Everything else is the site-wide policy of any page (same nonce put in for the comparison).
    nonce = directives["script-src"].split("'nonce-")[1].rstrip("'")
    site = dict(part.strip().split(" ", 1) for part in policy(nonce=nonce).split(";"))
    assert {k: v for k, v in directives.items() if k != "worker-src"} == site
    assert "fonts.googleapis.com" not in redoc.content.decode()


@pytest.mark.parametrize("url", ["/api/v1/docs/", "/ogc/?f=html", "/en/"])
def test_other_pages_keep_the_site_policy(db, url):
    response = Client().get(url)
    assert response.status_code == 200
    assert "worker-src" not in _directives(response)


def test_swagger_ui_shows_no_remote_validator_badge(db):
    # Swagger UI would load the badge as an image from validator.swagger.io on any host but localhost.
    assert '"validatorUrl": null' in Client().get("/api/v1/docs/").content.decode()
