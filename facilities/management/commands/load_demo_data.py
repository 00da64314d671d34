from django.core.management.base import BaseCommand

from facilities.demo import demo_data_create
from facilities.selectors import demo_data_present

# Printed when --if-absent finds demo data; scripts/docker-entrypoint.sh looks for it.
ALREADY_PRESENT = "demo data already present: nothing loaded"


class Command(BaseCommand):
    help = "Replace the DEMO facilities (flagged is_demo) with a draft split of the quotas over regions."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=191)
        parser.add_argument(
            "--if-absent", action="store_true", help="do nothing when demo facilities exist (container restarts)"
        )

    def handle(self, *args, seed: int, if_absent: bool, **options):
        if if_absent and demo_data_present():
            self.stdout.write(ALREADY_PRESENT)
            return
        result = demo_data_create(seed=seed)
        self.stdout.write(f"demo facilities: {result.facilities} ({result.located} with a location)")
