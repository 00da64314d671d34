from django.core.management.base import BaseCommand

from facilities.services import demo_data_create


class Command(BaseCommand):
    help = "Replace the DEMO facilities (flagged is_demo) with a draft split of the quotas over regions."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=191)

    def handle(self, *args, seed: int, **options):
        result = demo_data_create(seed=seed)
        self.stdout.write(f"demo facilities: {result.facilities} ({result.located} with a location)")
