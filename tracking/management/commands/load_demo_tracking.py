from django.core.management.base import BaseCommand

from tracking.demo import demo_kpi_measurements_create, demo_tracking_create


class Command(BaseCommand):
    help = (
        "DEMO: approve consolidated plans from the demo facilities and invent stage histories and "
        "measured KPI values (flagged demo)."
    )

    def handle(self, *args, **options):
        result = demo_tracking_create()
        self.stdout.write(f"DEMO tracking: {result['facilities']} facilities, {result['records']} records")
        kpis = demo_kpi_measurements_create()
        self.stdout.write(f"DEMO measured KPI values: {kpis}")
