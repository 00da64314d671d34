"""Create the database named in DATABASE_URL and the postgis extension, if missing; pgrouting too where the
server has it (Debian's postgresql-15-pgrouting; road networks need it, the rest of the portal does not)."""

import os
import sys

import dj_database_url
import psycopg
from psycopg import sql


def main() -> int:
    url = os.environ.get("DATABASE_URL", "postgis://root@127.0.0.1:5432/gis_portal")
    cfg = dj_database_url.parse(url)
    params = {
        "host": cfg.get("HOST") or None,
        "port": cfg.get("PORT") or None,
        "user": cfg.get("USER") or None,
        "password": cfg.get("PASSWORD") or None,
    }
    params = {k: v for k, v in params.items() if v}
    name = cfg["NAME"]
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            print(f"created database {name}")
    with psycopg.connect(dbname=name, autocommit=True, **params) as conn:
        conn.execute("create extension if not exists postgis")
        if conn.execute("select 1 from pg_available_extensions where name = 'pgrouting'").fetchone():
            conn.execute("create extension if not exists pgrouting")
        else:
            print("warning: pgRouting is not installed on the server (postgresql-15-pgrouting): no road networks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
