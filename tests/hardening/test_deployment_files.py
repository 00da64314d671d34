"""docker-compose.yml, the Dockerfile, the requirement files and the upload limits of the production profile.

Docker's engine does not run on the test machines, but Debian's docker-compose validates the file
(`docker-compose config`) without one; the services are then checked for what a deployment needs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
# Test, bench, fuzz and lint tools: never in the runtime requirements (the production image).
DEV_ONLY = {
    "pytest", "pytest-django", "pytest-xdist", "playwright", "schemathesis", "hypothesis", "ruff", "pypdf",
    "polib", "openapi-spec-validator", "greenlet", "import-linter",
}  # fmt: skip


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _readme_compose_variables() -> set[str]:
    """The variables the README's production section says compose reads."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = text[text.index("Compose reads only these") :].split("\n\n", 1)[0]
    return set(re.findall(r"`([A-Z][A-Z0-9_]+)`", paragraph))


def _compose_cli() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    pytest.fail(
        "neither docker-compose nor `docker compose` is installed; scripts/test installs Debian's docker-compose"
    )


def test_compose_is_valid_with_only_the_variables_the_readme_lists(tmp_path):
    listed = _readme_compose_variables()
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", (ROOT / "docker-compose.yml").read_text()))
    assert used <= listed, f"compose reads variables the README does not list: {used - listed}"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "SECRET_KEY": "s" * 40}
    result = subprocess.run([*_compose_cli(), "config", "-q"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    missing = subprocess.run(
        [*_compose_cli(), "config", "-q"], cwd=ROOT, env={**env, "SECRET_KEY": ""}, capture_output=True, text=True
    )
    assert missing.returncode != 0 and "SECRET_KEY" in missing.stderr, "compose must refuse to start without it"


def test_compose_runs_web_worker_and_scheduler_from_one_image():
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"db", "redis", "web", "worker", "scheduler"}
    db = services["db"]
    # PostGIS 15 with pgRouting: the official postgis image plus Debian's package (docker/db/Dockerfile).
    assert db["build"] == "docker/db"
    db_dockerfile = (ROOT / "docker" / "db" / "Dockerfile").read_text()
    assert re.search(r"^FROM postgis/postgis:15-", db_dockerfile, re.MULTILINE)
    assert "postgresql-15-pgrouting" in db_dockerfile
    assert any(v.split(":")[1] == "/var/lib/postgresql/data" for v in db["volumes"]) and "healthcheck" in db
    app = [services[name] for name in ("web", "worker", "scheduler")]
    assert {s["image"] for s in app} == {"gis_portal:latest"}
    assert all(s["build"] in (".", {"context": "."}) for s in app)
    for service in app:
        env = service["environment"]
        assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]+\}", env["SECRET_KEY"])
        assert "@db:5432/" in env["DATABASE_URL"] and env["CACHE_URL"] == "redis://redis:6379/0"
        assert "media:/srv/media" in service["volumes"]
    web, worker, scheduler = app
    assert web["environment"]["SETUP"] == "1" and worker["environment"]["SETUP"] == "0"
    assert scheduler["environment"]["SETUP"] == "0"
    assert worker["command"] == ["python", "manage.py", "db_worker"]
    assert scheduler["command"] == ["python", "manage.py", "run_scheduler"]
    assert "/readyz" in " ".join(web["healthcheck"]["test"])
    assert "backups:/srv/backups" in scheduler["volumes"]
    assert web["environment"]["BEHIND_TLS"].startswith("${BEHIND_TLS")
    assert {"pgdata", "media", "backups"} <= set(compose["volumes"])


def test_compose_variables_are_well_formed():
    text = (ROOT / "docker-compose.yml").read_text()
    for ref in re.findall(r"\$\{[^}]*\}?", text):
        assert re.fullmatch(r"\$\{[A-Z_][A-Z0-9_]*(:?[-?][^}]*)?\}", ref), ref


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-r ")):
            continue
        package, _, version = line.partition("==")
        assert version, f"{name}: {line} is not pinned"
        pins[package.lower().replace("_", "-")] = version
    return pins


def test_requirements_are_split_by_purpose_and_pinned():
    runtime, dev = _pins("requirements.txt"), _pins("requirements-dev.txt")
    assert not DEV_ONLY & set(runtime), f"test tools in the runtime requirements: {DEV_ONLY & set(runtime)}"
    assert DEV_ONLY <= set(dev)
    assert not set(runtime) & set(dev), "a package is pinned in both files"
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()
    for package in ("django", "apscheduler", "python-json-logger", "redis", "django-storages", "gunicorn"):
        assert package in runtime, package


def test_dockerfile_installs_runtime_only_and_npm_assets_before_collectstatic():
    lines = (ROOT / "Dockerfile").read_text()
    assert "requirements-dev" not in lines and "pip install --no-cache-dir -r requirements.txt" in lines
    npm = lines.index("npm ci")
    collect = lines.index("collectstatic")
    assert npm < collect, "collectstatic needs Leaflet/OpenLayers from npm (STATICFILES_DIRS)"
    assert "DJANGO_SETTINGS_MODULE=gis_portal.settings.production" in lines
    assert "MEDIA_ROOT=/srv/media" in lines and "STATIC_ROOT=/srv/static" in lines
    assert "postgresql-client" in lines, "pg_dump for the scheduled backups"
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
