import os

from django.core.management.base import BaseCommand

from accounts.services import demo_users_ensure


class Command(BaseCommand):
    help = (
        "Create the administrator (ADMIN_USERNAME/ADMIN_PASSWORD from the environment, or a generated "
        "password printed once) and one demo user per role (DEMO_PASSWORD, or generated)."
    )

    def handle(self, *args, **options):
        users = demo_users_ensure(
            admin_username=os.environ.get("ADMIN_USERNAME", "admin"),
            admin_password=os.environ.get("ADMIN_PASSWORD") or None,
            demo_password=os.environ.get("DEMO_PASSWORD") or None,
        )
        for user in users:
            where = f" ({user.region})" if user.region else ""
            if user.password:
                self.stdout.write(f"created {user.role}{where}: {user.username} / {user.password}  <- shown once")
            else:
                self.stdout.write(f"exists  {user.role}{where}: {user.username} (password unchanged)")
