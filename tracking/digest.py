"""The deadline digest: each user with a role and an e-mail address gets what falls due for them.

Run daily by the scheduler (`manage.py send_deadline_digest`). Each user's digest is written in
the user's own language (Membership.language) and sent at most once per day: a DigestDelivery
row is written in the same transaction as the sending, so a second run on the same day (a
restarted scheduler, two schedulers by mistake) sends nothing again, and a failed send leaves no
row behind and is retried by the next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import ngettext

from accounts.permissions import role_is_ministry
from tracking.models import DigestDelivery
from tracking.selectors import reminders_for


@dataclass(frozen=True)
class DigestOutcome:
    sent: int  # e-mails sent by this run
    already_sent: int  # users who had today's digest from an earlier run
    nothing_due: int  # users with nothing due (no e-mail)


def deadline_digest_send(*, today: date, days: int = 30, language: str | None = None) -> DigestOutcome:
    """Send today's digests; `language` forces one language for everyone (default: each user's own).

    Akimat users get their region's items; planners and administrators everything.
    """
    sent = already = nothing = 0
    done = set(DigestDelivery.objects.filter(day=today).values_list("user_id", flat=True))
    users = (
        get_user_model()
        .objects.filter(is_active=True, membership__isnull=False)
        .exclude(email="")
        .select_related("membership")
        .order_by("pk")
    )
    for user in users:
        if user.pk in done:
            already += 1
            continue
        membership = user.membership
        lang = language or membership.language
        # The membership's own role, not user_role(): a superuser with an akimat membership gets its region's items.
        is_ministry = role_is_ministry(membership.role)
        with translation.override(lang):
            items = reminders_for(
                region_ids=None if is_ministry else [membership.region_id],
                is_ministry=is_ministry,
                today=today,
                days=days,
            )
            if not items:
                nothing += 1
                continue
            lines = [f"{r.due:%Y-%m-%d}  {r.what}" + (f"  ({r.region.name})" if r.region else "") for r in items]
            subject = ngettext(
                "gis_portal: %(n)s item due by %(d)s", "gis_portal: %(n)s items due by %(d)s", len(items)
            ) % {
                "n": len(items),
                "d": today + timedelta(days=days),
            }
        message = EmailMessage(subject, "\n".join(lines), None, [user.email])
        try:
            with transaction.atomic():
                DigestDelivery.objects.create(user=user, day=today, items=len(items), language=lang)
                message.send(fail_silently=False)
        except IntegrityError:
            already += 1  # another run sent it meanwhile
            continue
        sent += 1
    return DigestOutcome(sent=sent, already_sent=already, nothing_due=nothing)
