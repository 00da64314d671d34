"""The default speed table (roads/data/default_speeds.yaml, each value with its reasoning); adds missing rows only."""

from django.db import migrations

from roads.speeds import default_speed_rows


def speeds_add(apps, schema_editor):
    RoadSpeed = apps.get_model("roads", "RoadSpeed")
    for row in default_speed_rows():
        key = {k: row[k] for k in ("kind", "road_class", "surface")}
        RoadSpeed.objects.get_or_create(**key, defaults={k: v for k, v in row.items() if k not in key})


class Migration(migrations.Migration):
    dependencies = [("roads", "0002_road_networks")]

    operations = [migrations.RunPython(speeds_add, migrations.RunPython.noop)]
