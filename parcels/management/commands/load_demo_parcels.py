from django.core.management.base import BaseCommand

from parcels.demo import demo_parcels_create


class Command(BaseCommand):
    help = "Replace the DEMO land parcels and infrastructure links (flagged is_demo) around the demo facilities."

    def add_arguments(self, parser):
        parser.add_argument("--regions", default="", help="comma-separated region KATO codes (default: all)")
        parser.add_argument("--per-region", type=int, default=6)

    def handle(self, *args, regions: str, per_region: int, **options):
        katos = [k.strip() for k in regions.split(",") if k.strip()] or None
        result = demo_parcels_create(region_katos=katos, per_region=per_region)
        self.stdout.write(
            f"demo parcels: {result.parcels}, infrastructure links: {result.links}, skipped: {result.skipped}"
        )
