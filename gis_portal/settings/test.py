"""pytest profile: the real PostGIS database, fast password hashing."""

import os

from gis_portal.settings.env import cache_from_url, storages_from_env

from .base import *  # noqa: F403

SECRET_KEY = "test-only-key"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = storages_from_env(os.environ, staticfiles_backend="django.contrib.staticfiles.storage.StaticFilesStorage")
# One process's memory unless CACHE_URL says otherwise: the query-count assertions of the list
# endpoints count SQL statements, which a database cache would add to. Tests of the shared cache
# start server processes with CACHE_URL=db:// or redis://.
CACHES = {"default": cache_from_url(os.environ.get("CACHE_URL", "locmem://"))}
# Static files come from the apps' folders through the finders; no collectstatic in tests.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# django-axes needs `request` in authenticate(); Client.login() passes none. Tests of the
# sign-in audit switch it on with override_settings(AXES_ENABLED=True).
AXES_ENABLED = False
