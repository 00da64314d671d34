from django.core.management.base import BaseCommand

from facilities.services import reference_data_load


class Command(BaseCommand):
    help = "Load the roadmap of Order No. 191-ө (regions, bodies, measures, quotas, KPIs) from facilities/data."

    def handle(self, *args, **options):
        counts = reference_data_load()
        self.stdout.write(", ".join(f"{k}: {v}" for k, v in counts.items()))
