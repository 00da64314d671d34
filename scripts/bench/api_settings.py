"""Settings of the benchmark server: the portal's test profile plus the bench-only app."""

from gis_portal.settings.test import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "benchapp"]  # noqa: F405
ROOT_URLCONF = "benchapp.urls"
API_ANON_THROTTLE_RATE = "100000000/min"  # the load test comes from one address
