"""History of facilities (django-pghistory), and a first snapshot of every existing facility.

Without the snapshot the state of a facility before its first change after this migration would
be lost: an update event holds the new row only.
"""

import django.contrib.gis.db.models.fields
import django.db.models.deletion
import pgtrigger.compiler
import pgtrigger.migrations
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("facilities", "0003_updated_at_index"),
        ("layers", "0003_boundaries_stored_geojson"),
        ("pghistory", "0007_auto_20250421_0444"),
    ]

    operations = [
        migrations.CreateModel(
            name="FacilityEvent",
            fields=[
                ("pgh_id", models.AutoField(primary_key=True, serialize=False)),
                ("pgh_created_at", models.DateTimeField(auto_now_add=True)),
                ("pgh_label", models.TextField(help_text="The event label.")),
                ("id", models.BigIntegerField()),
                ("name_kk", models.CharField(max_length=300, verbose_name="name (Kazakh)")),
                ("name_ru", models.CharField(max_length=300, verbose_name="name (Russian)")),
                ("name_en", models.CharField(max_length=300, verbose_name="name (English)")),
                ("places", models.PositiveIntegerField(verbose_name="places (capacity)")),
                ("is_ppp", models.BooleanField(default=False, verbose_name="public-private partnership")),
                (
                    "location",
                    django.contrib.gis.db.models.fields.PointField(
                        blank=True, null=True, srid=4326, verbose_name="location"
                    ),
                ),
                ("planned_year", models.PositiveSmallIntegerField(verbose_name="planned year")),
                (
                    "is_demo",
                    models.BooleanField(
                        default=False,
                        help_text="Invented for demonstration, not an official record.",
                        verbose_name="demo data",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "abstract": False,
            },
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="facility",
            trigger=pgtrigger.compiler.Trigger(
                name="insert_insert",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "facilities_facilityevent" ("created_at", "district_id", "id", "is_demo", "is_ppp", "kind_id", "location", "measure_id", "name_en", "name_kk", "name_ru", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "places", "planned_year", "region_id", "updated_at") VALUES (NEW."created_at", NEW."district_id", NEW."id", NEW."is_demo", NEW."is_ppp", NEW."kind_id", NEW."location", NEW."measure_id", NEW."name_en", NEW."name_kk", NEW."name_ru", _pgh_attach_context(), NOW(), \'insert\', NEW."id", NEW."places", NEW."planned_year", NEW."region_id", NEW."updated_at"); RETURN NULL;',
                    hash="8a1e489ab64cdca3e70180df5864debe8e9ec920",
                    operation="INSERT",
                    pgid="pgtrigger_insert_insert_cccf6",
                    table="facilities_facility",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="facility",
            trigger=pgtrigger.compiler.Trigger(
                name="update_update",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    condition="WHEN (OLD.* IS DISTINCT FROM NEW.*)",
                    func='INSERT INTO "facilities_facilityevent" ("created_at", "district_id", "id", "is_demo", "is_ppp", "kind_id", "location", "measure_id", "name_en", "name_kk", "name_ru", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "places", "planned_year", "region_id", "updated_at") VALUES (NEW."created_at", NEW."district_id", NEW."id", NEW."is_demo", NEW."is_ppp", NEW."kind_id", NEW."location", NEW."measure_id", NEW."name_en", NEW."name_kk", NEW."name_ru", _pgh_attach_context(), NOW(), \'update\', NEW."id", NEW."places", NEW."planned_year", NEW."region_id", NEW."updated_at"); RETURN NULL;',
                    hash="4ef2abc728af770334d80c0b023512904c952e3f",
                    operation="UPDATE",
                    pgid="pgtrigger_update_update_0d9d6",
                    table="facilities_facility",
                    when="AFTER",
                ),
            ),
        ),
        pgtrigger.migrations.AddTrigger(
            model_name="facility",
            trigger=pgtrigger.compiler.Trigger(
                name="delete_delete",
                sql=pgtrigger.compiler.UpsertTriggerSql(
                    func='INSERT INTO "facilities_facilityevent" ("created_at", "district_id", "id", "is_demo", "is_ppp", "kind_id", "location", "measure_id", "name_en", "name_kk", "name_ru", "pgh_context_id", "pgh_created_at", "pgh_label", "pgh_obj_id", "places", "planned_year", "region_id", "updated_at") VALUES (OLD."created_at", OLD."district_id", OLD."id", OLD."is_demo", OLD."is_ppp", OLD."kind_id", OLD."location", OLD."measure_id", OLD."name_en", OLD."name_kk", OLD."name_ru", _pgh_attach_context(), NOW(), \'delete\', OLD."id", OLD."places", OLD."planned_year", OLD."region_id", OLD."updated_at"); RETURN NULL;',
                    hash="607912e42e6a9bca7eb8780cae2ff63839b0288e",
                    operation="DELETE",
                    pgid="pgtrigger_delete_delete_1f9a9",
                    table="facilities_facility",
                    when="AFTER",
                ),
            ),
        ),
        migrations.AddField(
            model_name="facilityevent",
            name="district",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="layers.district",
            ),
        ),
        migrations.AddField(
            model_name="facilityevent",
            name="kind",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="facilities.facilitykind",
            ),
        ),
        migrations.AddField(
            model_name="facilityevent",
            name="measure",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="facilities.measure",
            ),
        ),
        migrations.AddField(
            model_name="facilityevent",
            name="pgh_context",
            field=models.ForeignKey(
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="pghistory.context",
            ),
        ),
        migrations.AddField(
            model_name="facilityevent",
            name="pgh_obj",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="events",
                to="facilities.facility",
            ),
        ),
        migrations.AddField(
            model_name="facilityevent",
            name="region",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                related_query_name="+",
                to="layers.region",
            ),
        ),
        # The starting point of each existing facility's history (restorable like any event).
        migrations.RunSQL(
            sql=(
                'INSERT INTO "facilities_facilityevent" ("created_at", "district_id", "id", "is_demo", "is_ppp", '
                '"kind_id", "location", "measure_id", "name_en", "name_kk", "name_ru", "pgh_context_id", '
                '"pgh_created_at", "pgh_label", "pgh_obj_id", "places", "planned_year", "region_id", "updated_at") '
                'SELECT "created_at", "district_id", "id", "is_demo", "is_ppp", "kind_id", "location", "measure_id", '
                '"name_en", "name_kk", "name_ru", NULL, NOW(), \'snapshot\', "id", "places", "planned_year", '
                '"region_id", "updated_at" FROM "facilities_facility"'
            ),
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
