"""pgRouting in the database, where the server has it (Debian: postgresql-15-pgrouting).

Where the package is absent the migration only warns: the rest of the portal works without it, and
loading or routing a road network then fails with an error naming the package
(roads.services.pgrouting_check). scripts/dbsetup.py creates the extension too, as a superuser, before
migrating: pgRouting is not a trusted extension, so an ordinary database owner cannot create it.
"""

import warnings

from django.db import migrations


def pgrouting_create(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("select 1 from pg_available_extensions where name = 'pgrouting'")
        if cursor.fetchone() is None:
            warnings.warn(
                "pgRouting is not installed on the database server (Debian package postgresql-15-pgrouting): "
                "road networks cannot be loaded or routed until it is and `CREATE EXTENSION pgrouting` "
                "has been run as a superuser (scripts/dbsetup.py runs it).",
                stacklevel=1,
            )
            return
        cursor.execute("create extension if not exists pgrouting")


class Migration(migrations.Migration):
    dependencies = []

    operations = [migrations.RunPython(pgrouting_create, migrations.RunPython.noop, elidable=False)]
