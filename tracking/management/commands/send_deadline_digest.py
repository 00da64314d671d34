from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from tracking.digest import deadline_digest_send


class Command(BaseCommand):
    help = (
        "E-mail each user with a role and an e-mail address, in the user's language, the deadlines due in the "
        "next N days. At most once per user and day: run it as often as you like."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.DEADLINE_DIGEST_DAYS)
        parser.add_argument("--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--language", default=None, choices=["kk", "ru", "en"], help="one language for all (default: each user's)"
        )

    def handle(self, *args, **options):
        outcome = deadline_digest_send(
            today=options["today"] or timezone.localdate(), days=options["days"], language=options["language"]
        )
        self.stdout.write(
            f"digests sent: {outcome.sent}; already sent today: {outcome.already_sent}; "
            f"nothing due: {outcome.nothing_due}"
        )
