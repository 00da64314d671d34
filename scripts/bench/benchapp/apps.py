from django.apps import AppConfig


class BenchAppConfig(AppConfig):
    name = "benchapp"
    label = "benchapp"

    def ready(self):
        from api.registry import Collection, Filter, register
        from benchapp.models import BenchParcel

        register(
            Collection(
                id="bench-parcels",
                title="Bench parcels (synthetic)",
                description="10 000 synthetic parcel-like polygons for scripts/bench/api.py.",
                selector=BenchParcel.objects.all,
                geometry="geom",
                geometry_type="MultiPolygon",
                public_properties={
                    "cadastral_number": "cadastral_number",
                    "status": "status",
                    "area_ha": "area_ha",
                    "region_id": "region_id",
                },
                filters={"status": Filter(("status",), "code")},
                ordering={"id": "pk"},
                updated_field="updated_at",
            )
        )
