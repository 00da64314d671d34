"""The shared cache's values (CACHE_URL=db://) compressed with lz4 instead of PostgreSQL's default pglz.

Every API request rewrites its caller's fair-use history in this table (api/throttling.py): one
timestamp per request of the window, so at a few requests a second the value is tens of kB, and
PostgreSQL compresses every value over ~2 kB on each write. pglz made that write the larger part
of the throttle's cost; lz4 compresses as well for this data several times faster (bench database,
get + set of the history, medians of 60: 8 000 times 3.05-3.40 ms with pglz, 2.08-2.19 ms with
lz4; 1 000 times 0.77 ms and 0.59-0.66 ms), and cached API pages stay compressed. Values written
before keep their pglz form until rewritten; both are read alike.

lz4 needs PostgreSQL 14 or later built with it (the usual packages are); on a server without it
the column keeps pglz and nothing else changes.
"""

from django.db import migrations

from gis_portal.settings.env import CACHE_TABLE


def _set_compression(method: str) -> str:
    return f"""
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
        ALTER TABLE "{CACHE_TABLE}" ALTER COLUMN "value" SET COMPRESSION {method};
    END IF;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_unlogged_cache_table")]

    operations = [
        migrations.RunSQL(_set_compression("lz4"), reverse_sql=_set_compression("pglz")),
    ]
