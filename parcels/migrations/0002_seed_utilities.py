from django.db import migrations

UTILITIES = [
    # code, kk, ru, en, units
    ("water", "Сумен жабдықтау", "Водоснабжение", "Water supply", ["m3/day", "l/s"]),
    ("sewerage", "Су бұру (кәріз)", "Водоотведение (канализация)", "Sewerage", ["m3/day", "l/s"]),
    ("electricity", "Электрмен жабдықтау", "Электроснабжение", "Electricity", ["kW", "kVA"]),
    ("gas", "Газбен жабдықтау", "Газоснабжение", "Gas supply", ["m3/h"]),
    ("heat", "Жылумен жабдықтау", "Теплоснабжение", "Heat supply", ["Gcal/h", "kW"]),
    ("telecom", "Телекоммуникациялар", "Телекоммуникации", "Telecommunications", ["Mbit/s", "lines"]),
    ("road", "Кіреберіс жол", "Подъездная дорога", "Road access", ["m", "lanes"]),
]


def seed(apps, schema_editor):
    Utility = apps.get_model("parcels", "Utility")
    for order, (code, kk, ru, en, units) in enumerate(UTILITIES):
        Utility.objects.update_or_create(
            code=code,
            defaults={"name_kk": kk, "name_ru": ru, "name_en": en, "capacity_units": units, "sort_order": order},
        )


class Migration(migrations.Migration):
    dependencies = [("parcels", "0001_parcels_links_documents")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
