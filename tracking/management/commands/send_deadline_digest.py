from datetime import date

from django.core.management.base import BaseCommand
from django.utils import timezone, translation

from tracking.services import deadline_digest_send


class Command(BaseCommand):
    help = "E-mail each user with a role and an e-mail address the deadlines due in the next N days."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)")
        parser.add_argument("--language", default="ru", choices=["kk", "ru", "en"])

    def handle(self, *args, **options):
        with translation.override(options["language"]):
            sent = deadline_digest_send(today=options["today"] or timezone.localdate(), days=options["days"])
        self.stdout.write(f"digests sent: {sent}")
