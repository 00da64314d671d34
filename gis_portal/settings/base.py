"""Settings shared by every profile (dev, test, production).

Everything that differs between deployments comes from the environment.
"""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# The open data shipped beside the repository (../shared/data); deployments
# point SHARED_DATA_DIR / BOUNDARIES_PATH at their own copies.
SHARED_DATA_DIR = Path(os.environ.get("SHARED_DATA_DIR", BASE_DIR.parent / "shared" / "data"))
BOUNDARIES_PATH = Path(os.environ.get("BOUNDARIES_PATH", SHARED_DATA_DIR / "geokz"))

SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "gis_portal",
    "accounts",
    "layers",
    "facilities",
    "pgtrigger",
    "pghistory",
    "parcels",
    "maps",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Puts the signed-in user and URL into the history context of every tracked write.
    "pghistory.middleware.HistoryMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gis_portal.urls"
WSGI_APPLICATION = "gis_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "gis_portal.context_processors.portal",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgis://root@127.0.0.1:5432/gis_portal"),
        engine="django.contrib.gis.db.backends.postgis",
        conn_max_age=60,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Kazakh first: it is the language of the order; Russian and English follow.
LANGUAGE_CODE = "kk"
LANGUAGES = [("kk", _("Kazakh")), ("ru", _("Russian")), ("en", _("English"))]
# Each app (gis_portal included) keeps its own locale/ folder: makemessages runs per app.
TIME_ZONE = "Asia/Almaty"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))
# Uploads (act scans, rasters) live outside the web root and are served by
# views that check permissions, never by the static file server.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
MEDIA_URL = "/media/"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# Base map: deployments may be offline or use a national base map.
BASEMAP_TILES_URL = os.environ.get("BASEMAP_TILES_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
BASEMAP_ATTRIBUTION = os.environ.get("BASEMAP_ATTRIBUTION", "&copy; OpenStreetMap contributors (ODbL)")
# Maps load Leaflet and its plugins from the application's static files (installed from npm
# by scripts/_setup.sh into maps/assets/node_modules), never from a CDN; False falls back to folium's CDN links.
MAP_ASSETS_LOCAL = os.environ.get("MAP_ASSETS_LOCAL", "1") == "1"
MAP_ASSETS_DIR = BASE_DIR / "maps" / "assets" / "node_modules"
STATICFILES_DIRS = [
    ("vendor/leaflet", MAP_ASSETS_DIR / "leaflet" / "dist"),
    ("vendor/leaflet.markercluster", MAP_ASSETS_DIR / "leaflet.markercluster" / "dist"),
    ("vendor/leaflet-draw", MAP_ASSETS_DIR / "leaflet-draw" / "dist"),
]
BOUNDARIES_ATTRIBUTION = "Boundaries: geokz v1.0.2 (A. Rodionov), from UN OCHA COD-AB Kazakhstan, CC BY 4.0"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# GDAL 3.6 (Debian 12) cannot block file/network access from a spatial reference
# given as WKT/PROJ text. Mitigation: the portal never builds a SpatialReference
# from user-supplied text — only from EPSG codes in an allow-list, or from a
# file's own .prj through OGR — so the warning is silenced here on purpose.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

# Land parcels (issue 3). Distances in metres, areas in hectares, sizes in bytes.
PARCEL_ROUTE_MAX_GAP_M = float(os.environ.get("PARCEL_ROUTE_MAX_GAP_M", "50"))
PARCEL_AREA_MIN_HA = 0.05
PARCEL_AREA_MAX_HA = 200.0
PARCEL_AREA_WARN_RATIO = 0.05
PARCEL_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
PARCEL_IMPORT_MAX_BYTES = 50 * 1024 * 1024
PARCEL_IMPORT_MAX_FEATURES = 5000
PARCEL_IMPORT_MAX_VERTICES = 200_000
PARCEL_ZIP_MAX_UNCOMPRESSED = 200 * 1024 * 1024
PARCEL_ZIP_MAX_FILES = 50
