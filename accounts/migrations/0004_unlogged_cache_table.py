"""The shared cache's table (CACHE_URL=db://, gis_portal.settings.env.CACHE_TABLE) as an UNLOGGED table.

Every API request writes its fair-use counter there (api/throttling.py). In a logged table each of
those writes waits at COMMIT for the WAL to reach the disk: the largest fixed cost of a request
(7.4 ms of get + set against 1.9 ms unlogged on the bench machine, scripts/bench/api.py). A cache
needs no durability: after a crash PostgreSQL empties an unlogged table, which here means the
counters and cached pages start afresh. Unlogged tables are not streamed to a replica either, and
the cache is read on the primary only (gis_portal.db_router.REPLICA_APPS does not hold it).

The columns and index are those `manage.py createcachetable` creates (Django's DatabaseCache);
that command, run after migrate (scripts/run, scripts/docker-entrypoint.sh), then finds the table
and leaves it as it is. A table it created before this migration is switched to unlogged.
"""

from django.db import migrations

from gis_portal.settings.env import CACHE_TABLE

CREATE = f"""
CREATE UNLOGGED TABLE IF NOT EXISTS "{CACHE_TABLE}" (
    "cache_key" varchar(255) NOT NULL PRIMARY KEY,
    "value" text NOT NULL,
    "expires" timestamp with time zone NOT NULL
);
CREATE INDEX IF NOT EXISTS "{CACHE_TABLE}_expires" ON "{CACHE_TABLE}" ("expires");
ALTER TABLE "{CACHE_TABLE}" SET UNLOGGED;
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_membership_is_demo")]

    operations = [
        migrations.RunSQL(CREATE, reverse_sql=f'ALTER TABLE "{CACHE_TABLE}" SET LOGGED;'),
    ]
