from django.core.management.base import BaseCommand, CommandError

from gis_portal.demo import demo_counts, demo_remove


class Command(BaseCommand):
    help = (
        "Count (--dry-run) or remove (--remove) every demonstration row of every app (flagged is_demo) in one "
        "transaction, with the files they own. Run it once the real data are loaded: the demo banner then goes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--remove", action="store_true", help="delete the demo rows")
        parser.add_argument("--dry-run", action="store_true", help="only count what --remove would delete")

    def handle(self, *args, remove: bool, dry_run: bool, **options):
        if not remove and not dry_run:
            raise CommandError("say --dry-run (count) or --remove (delete)")
        counts = demo_remove() if remove and not dry_run else demo_counts()
        verb = "removed" if remove and not dry_run else "would remove"
        for label, n in counts.items():
            self.stdout.write(f"{verb} {n} {label}")
        self.stdout.write(f"total: {sum(counts.values())}")
