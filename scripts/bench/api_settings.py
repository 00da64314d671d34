"""Settings of the benchmark server: the portal's test profile plus the bench-only app.

The cache is the deployed one (CACHE_URL, which scripts/bench/api.py sets to db:// unless told
otherwise) and throttling is on as in production, at rates the bench's one address and one token
never reach: the fair-use throttle's cost is measured, its refusals are not.
"""

from gis_portal.settings.test import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "benchapp"]  # noqa: F405
ROOT_URLCONF = "benchapp.urls"
API_ANON_THROTTLE_RATE = "100000000/min"  # the load test comes from one address
API_USER_THROTTLE_RATE = "100000000/min"
API_TOKEN_THROTTLE_RATE = "100000000/min"  # the bench's planner reads with one token
