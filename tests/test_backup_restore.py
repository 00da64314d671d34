"""scripts/backup and scripts/restore: a restore into a fresh database gives the same rows and geometries."""

import os
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
GEOMETRY_TABLES = {
    "layers_region": "geom",
    "layers_district": "geom",
    "facilities_facility": "location",
    "layers_settlement": "location",
}


def _url(dbname: str) -> str:
    s = connection.settings_dict
    host = s["HOST"] or "%2Fvar%2Frun%2Fpostgresql"
    if host.startswith("/"):
        host = host.replace("/", "%2F")
    port = f":{s['PORT']}" if s["PORT"] else ""
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "") + "@" if s["USER"] else ""
    return f"postgis://{auth}{host}{port}/{dbname}"


def _fingerprint(url: str) -> dict[str, tuple]:
    conninfo = "postgresql://" + url.split("://", 1)[1]
    with psycopg.connect(conninfo) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables "
                "where table_schema='public' and table_type='BASE TABLE' and table_name not like 'spatial_ref_sys'"
            )
        ]
        result = {}
        for table in tables:
            count = conn.execute(f'select count(*) from "{table}"').fetchone()[0]  # noqa: S608 - catalogue names
            checksum = None
            if table in GEOMETRY_TABLES:
                col = GEOMETRY_TABLES[table]
                checksum = conn.execute(
                    f"select md5(string_agg(encode(ST_AsEWKB(\"{col}\"), 'hex'), ',' order by id)) from \"{table}\""  # noqa: S608
                ).fetchone()[0]
            result[table] = (count, checksum)
        return result


@pytest.mark.django_db
def test_backup_then_restore_into_a_fresh_database(tmp_path):
    source = _url(connection.settings_dict["NAME"])
    env = {**os.environ, "DATABASE_URL": source, "MEDIA_ROOT": str(tmp_path / "media")}
    (tmp_path / "media" / "acts").mkdir(parents=True)
    (tmp_path / "media" / "acts" / "act-1.pdf").write_bytes(b"%PDF-1.4 test")
    out = subprocess.run(
        [str(ROOT / "scripts" / "backup"), str(tmp_path / "backups")],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    dump, media_tar = out
    target_name = f"restore_{uuid.uuid4().hex[:8]}"
    target = _url(target_name)
    restored_media = tmp_path / "restored-media"
    try:
        subprocess.run(
            [str(ROOT / "scripts" / "restore"), dump, media_tar],
            env={**os.environ, "DATABASE_URL": target, "MEDIA_ROOT": str(restored_media)},
            check=True,
            capture_output=True,
            text=True,
        )
        before, after = _fingerprint(source), _fingerprint(target)
        assert before["facilities_facility"][0] > 0
        assert after == before
        assert (restored_media / "acts" / "act-1.pdf").read_bytes() == b"%PDF-1.4 test"
    finally:
        with psycopg.connect(
            "postgresql://" + source.split("://", 1)[1].rsplit("/", 1)[0] + "/postgres", autocommit=True
        ) as conn:
            conn.execute(f'drop database if exists "{target_name}" with (force)')


def test_restore_names_a_missing_dump(tmp_path):
    result = subprocess.run(
        [str(ROOT / "scripts" / "restore"), str(tmp_path / "nope.dump")], capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "no such dump" in result.stderr
