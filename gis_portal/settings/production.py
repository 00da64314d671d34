"""Production profile: refuses to start without secrets and hosts from the environment.

BEHIND_TLS (default 1) says whether clients reach the portal over HTTPS (TLS in a proxy or load
balancer in front, which sets X-Forwarded-Proto). Then cookies are Secure, plain HTTP is
redirected and HSTS is sent. BEHIND_TLS=0 serves plain HTTP with ordinary cookies, so signing in
works on a LAN host without TLS; passwords and sessions then cross the network in clear text,
which is acceptable on a closed network and never on the internet (README, "Production").
"""

import logging
import os

from django.core.exceptions import ImproperlyConfigured

from gis_portal.settings.env import flag, storages_from_env

from .base import *  # noqa: F403

if not os.environ.get("SECRET_KEY"):
    raise ImproperlyConfigured("SECRET_KEY must be set in the environment for production.")
if not os.environ.get("ALLOWED_HOSTS"):
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in the environment for production (comma-separated).")

DEBUG = False
BEHIND_TLS = flag(os.environ, "BEHIND_TLS", True)
if BEHIND_TLS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # A proxy that redirects HTTP to HTTPS itself may set SECURE_SSL_REDIRECT=0.
    SECURE_SSL_REDIRECT = flag(os.environ, "SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
else:
    SECURE_SSL_REDIRECT = False
    SESSION_COOKIE_SECURE = False
    CSRF_COOKIE_SECURE = False
    SECURE_HSTS_SECONDS = 0
    # `check --deploy` would flag exactly what BEHIND_TLS=0 chose; the choice is logged at start instead.
    SILENCED_SYSTEM_CHECKS = [
        *SILENCED_SYSTEM_CHECKS,  # noqa: F405
        "security.W004",
        "security.W008",
        "security.W012",
        "security.W016",
    ]
    logging.getLogger("gis_portal.settings").warning(
        "BEHIND_TLS=0: serving plain HTTP with non-Secure cookies; never expose this to the internet"
    )
# The TLS proxy in front (BEHIND_TLS) names the client in X-Forwarded-For: the API throttle counts per that address.
API_TRUSTED_PROXIES = int(os.environ.get("API_TRUSTED_PROXIES") or ("1" if BEHIND_TLS else "0"))
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
STORAGES = storages_from_env(os.environ, staticfiles_backend="whitenoise.storage.CompressedManifestStaticFilesStorage")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = flag(os.environ, "EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "gis_portal@localhost")
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
LOGGING["handlers"]["console"]["formatter"] = "json" if LOG_FORMAT == "json" else "plain"  # noqa: F405
