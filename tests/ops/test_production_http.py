"""The production profile served by gunicorn: TLS or plain HTTP (BEHIND_TLS), JSON request logs.

A sign-in over plain HTTP from a LAN host name works when BEHIND_TLS=0 (ordinary cookies), and is
impossible when BEHIND_TLS=1 (Secure cookies, which a browser never sends over http; plain
HTTP is redirected to HTTPS). Every request is logged as one JSON line with its request id,
user id and duration; above SLOW_REQUEST_MS at WARNING as a slow request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings

from accounts.models import Membership
from accounts.services import user_with_role_ensure
from gis_portal.settings.env import cache_from_url
from tests.live_server import gunicorn_server

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "prod-http-pw-12345!"
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "gis_portal.settings.production",
    "SECRET_KEY": "k3y-" + "f00dbabe42" * 6,
    "ALLOWED_HOSTS": "portal.lan,127.0.0.1",
    "CACHE_URL": "db://",
}


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> str:
    """collectstatic as the image runs it (hashed names, the manifest that production needs)."""
    target = tmp_path_factory.mktemp("static")
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**_base_env(), **PRODUCTION, "STATIC_ROOT": str(target)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return str(target)


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL")}


@pytest.fixture(scope="module")
def lan_user(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with override_settings(CACHES={"default": cache_from_url("db://")}):
            call_command("createcachetable", verbosity=0)
        user_with_role_ensure(username="lan_planner", role=Membership.Role.PLANNER, password=PASSWORD)
        user = get_user_model().objects.get(username="lan_planner")
        # Hashed as production checks it (the test profile's fast MD5 hasher is not in production's list).
        with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
            user.set_password(PASSWORD)
        user.save()
        return user.pk


def _server(name: str, django_db_blocker, static_root: str, **env: str):
    return gunicorn_server(
        name=name,
        ports=range(8211, 8230),
        ready_path="/healthz",
        django_db_blocker=django_db_blocker,
        extra_env={**PRODUCTION, "STATIC_ROOT": static_root, **env},
        workers=1,
    )


def _log_records(name: str) -> list[dict]:
    lines = (ROOT / "test-artifacts" / f"{name}-server.log").read_text(encoding="utf-8").splitlines()
    records = []
    for line in lines:
        if line.startswith("{"):
            records.append(json.loads(line))
    return records


def test_plain_http_sign_in_on_a_lan_host_when_tls_is_declared_absent(django_db_blocker, static_root, lan_user):
    name = "prod-plain-http"
    with _server(name, django_db_blocker, static_root, BEHIND_TLS="0", SLOW_REQUEST_MS="60000") as base:
        browser = requests.Session()
        browser.headers["Host"] = "portal.lan"
        login = browser.get(base + "/en/accounts/login/", timeout=30)
        assert login.status_code == 200
        assert "secure" not in login.headers["Set-Cookie"].lower()
        signed_in = browser.post(
            base + "/en/accounts/login/",
            data={"username": "lan_planner", "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
            allow_redirects=False,
            timeout=30,
        )
        assert signed_in.status_code == 302, signed_in.text[:300]
        assert "secure" not in signed_in.headers["Set-Cookie"].lower()
        page = browser.get(base + "/en/tracking/", headers={"X-Request-ID": "lb-0123456789"}, timeout=30)
        assert page.status_code == 200 and page.headers["X-Request-ID"] == "lb-0123456789"
        assert "Strict-Transport-Security" not in page.headers
    records = [r for r in _log_records(name) if r.get("logger") == "gis_portal.request"]
    line = next(r for r in records if r.get("path") == "/en/tracking/")
    assert line["request_id"] == "lb-0123456789" and line["user_id"] == lan_user
    assert line["status"] == 200 and line["method"] == "GET" and line["level"] == "INFO"
    assert isinstance(line["duration_ms"], float) and line["slow"] is False
    assert line["message"].startswith("request GET /en/tracking/ 200")
    anonymous = next(r for r in records if r.get("path") == "/en/accounts/login/")
    assert anonymous["user_id"] is None and len(anonymous["request_id"]) == 32


def test_behind_tls_cookies_are_secure_and_plain_http_is_redirected(django_db_blocker, static_root, lan_user):
    name = "prod-behind-tls"
    with _server(name, django_db_blocker, static_root, BEHIND_TLS="1", SLOW_REQUEST_MS="0") as base:
        browser = requests.Session()
        browser.headers["Host"] = "portal.lan"
        plain = browser.get(base + "/en/accounts/login/", allow_redirects=False, timeout=30)
        assert plain.status_code == 301 and plain.headers["Location"].startswith("https://portal.lan/")
        # Through the TLS proxy (which sets X-Forwarded-Proto): Secure cookies and HSTS.
        proxied = browser.get(base + "/en/accounts/login/", headers={"X-Forwarded-Proto": "https"}, timeout=30)
        assert proxied.status_code == 200
        assert "secure" in proxied.headers["Set-Cookie"].lower()
        assert "max-age=31536000" in proxied.headers["Strict-Transport-Security"]
        # Probes come over plain HTTP and are not redirected.
        assert browser.get(base + "/readyz", allow_redirects=False, timeout=30).status_code == 200
    slow = [r for r in _log_records(name) if r.get("logger") == "gis_portal.request" and r.get("slow")]
    assert slow and all(r["level"] == "WARNING" and r["message"].startswith("slow request") for r in slow)


def test_a_malformed_tls_switch_stops_the_process():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**_base_env(), **PRODUCTION, "BEHIND_TLS": "yes"},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "BEHIND_TLS must be 0 or 1" in result.stderr
