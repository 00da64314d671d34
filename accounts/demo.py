"""The demo accounts, removed with the demo data (gis_portal.demo): last, after the rows they recorded."""

from django.contrib.auth import get_user_model

from gis_portal.demo import register

register(
    label="accounts.User",
    order=95,
    rows=lambda: get_user_model().objects.filter(membership__is_demo=True),
)
