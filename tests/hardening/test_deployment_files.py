"""docker-compose.yml, the Dockerfile and the upload limits of the production profile.

`docker compose config` is not available on the test machines, so the compose file is parsed with
PyYAML and checked for what a deployment needs: PostGIS, the web service built from the Dockerfile
with its secrets/hosts/database from the environment, media on a named volume.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_postgis_and_web_with_named_volumes():
    compose = _compose()
    services = compose["services"]
    assert set(services) >= {"db", "web"}
    db, web = services["db"], services["web"]
    assert db["image"].startswith("postgis/postgis:")
    assert any(v.split(":")[1] == "/var/lib/postgresql/data" for v in db["volumes"])
    assert "healthcheck" in db
    assert web["build"] in (".", {"context": "."}) or web["build"].get("context") == "."
    env = web["environment"]
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"):
        assert name in env, name
    # The secret has no default: compose refuses to start without it (${VAR:?message}).
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", env["SECRET_KEY"])
    assert "@db:5432/" in env["DATABASE_URL"] and env["DATABASE_URL"].startswith("postgis://")
    assert web["depends_on"]["db"]["condition"] == "service_healthy"
    named = set(compose["volumes"])
    mounts = {v.split(":")[0]: v.split(":")[1] for v in web["volumes"]}
    assert "media" in named and mounts.get("media") == "/srv/media"
    assert "pgdata" in named


def test_compose_variables_are_well_formed():
    text = (ROOT / "docker-compose.yml").read_text()
    for ref in re.findall(r"\$\{[^}]*\}?", text):
        assert re.fullmatch(r"\$\{[A-Z_][A-Z0-9_]*(:?[-?][^}]*)?\}", ref), ref


def test_dockerfile_installs_npm_assets_before_collectstatic_and_runs_production():
    lines = (ROOT / "Dockerfile").read_text()
    npm = lines.index("npm ci")
    collect = lines.index("collectstatic")
    assert npm < collect, "collectstatic needs Leaflet/OpenLayers from npm (STATICFILES_DIRS)"
    assert "DJANGO_SETTINGS_MODULE=gis_portal.settings.production" in lines
    assert "MEDIA_ROOT=/srv/media" in lines and "STATIC_ROOT=/srv/static" in lines
    assert re.search(r'CMD \["gunicorn"', lines)
    assert "USER portal" in lines


def test_uploads_are_outside_the_web_root_with_size_limits():
    media, static = (
        Path(settings.MEDIA_ROOT).resolve(),
        Path(settings.STATIC_ROOT or settings.BASE_DIR / "var" / "static"),
    )
    assert not media.is_relative_to(static.resolve()), "uploads must not be served by the static file server"
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE and settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 20 * 1024 * 1024
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE and settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= 10 * 1024 * 1024
    # per-upload limits of the apps that accept files
    assert settings.PARCEL_DOCUMENT_MAX_BYTES <= 50 * 1024 * 1024
    assert settings.PARCEL_IMPORT_MAX_BYTES <= 100 * 1024 * 1024
    assert settings.PARCEL_ZIP_MAX_UNCOMPRESSED and settings.PARCEL_ZIP_MAX_FILES
    from accessibility.services import SETTLEMENT_IMPORT_MAX_BYTES
    from tracking.forms import DOC_MAX_BYTES

    assert DOC_MAX_BYTES <= 50 * 1024 * 1024 and SETTLEMENT_IMPORT_MAX_BYTES <= 50 * 1024 * 1024
    from django.urls import Resolver404, resolve

    try:
        match = resolve(settings.MEDIA_URL + "x.pdf")
    except Resolver404:
        match = None
    assert match is None, "no URL serves MEDIA_ROOT directly"
