"""WSGI entry point (gunicorn gis_portal.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gis_portal.settings.production")
application = get_wsgi_application()
