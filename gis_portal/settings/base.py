"""Settings shared by every profile (dev, test, production).

Everything that differs between deployments comes from the environment.
"""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from gis_portal.settings.env import cache_from_url, replica_database, storages_from_env

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# The open data the portal needs ships in the repository (data/, sources and licences in
# data/NOTICE.md); a deployment may point SHARED_DATA_DIR / BOUNDARIES_PATH at its own copies
# laid out the same way. Nothing outside the repository is read unless these say so.
DATA_DIR = BASE_DIR / "data"
SHARED_DATA_DIR = Path(os.environ.get("SHARED_DATA_DIR") or DATA_DIR)
BOUNDARIES_PATH = Path(os.environ.get("BOUNDARIES_PATH") or SHARED_DATA_DIR / "geokz")
# The order's official Kazakh text, which facilities/data/roadmap.json is checked against.
ORDER_TEXT_PATH = DATA_DIR / "order" / "roadmap-191-o.txt"

SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h]

INSTALLED_APPS = [
    # First, so its templates (admin/base_site.html with the language switcher) win.
    "gis_portal",
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
    "corsheaders",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "accounts",
    "layers",
    "facilities",
    "api",
    "pgtrigger",
    "pghistory",
    "parcels",
    "maps",
    "tracking",
    "django_tasks",
    "django_tasks_db",
    "roads",
    "accessibility",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # 400 for a NUL character in the query string (PostgreSQL text cannot hold it; issue 8).
    "gis_portal.middleware.RejectNulInQueryMiddleware",
    # Content-Security-Policy (nonce-based, as the map pages) on every HTML page (issue 8).
    "gis_portal.csp.ContentSecurityPolicyMiddleware",
    # CORS headers for public API reads (CORS_URLS_REGEX); before CommonMiddleware as its docs require.
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Django's, but /api/, /ogc/, /tiles/ speak English unless the client asks for a language (Kazakh stays
    # the pages' default).
    "gis_portal.middleware.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Audit and throttling of sign-ins (django-axes); needs the authenticated user, so after auth.
    "axes.middleware.AxesMiddleware",
    # Puts the signed-in user and URL into the history context of every tracked write.
    "pghistory.middleware.HistoryMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# Outermost: /healthz and /readyz answer load balancers before host validation and the SSL
# redirect (probes come by IP over plain HTTP); then every request gets an id, a log line with
# its duration and user, and (when a replica is configured) read-only pages read from it.
MIDDLEWARE = [
    "gis_portal.health.HealthCheckMiddleware",
    "gis_portal.observability.RequestLogMiddleware",
    "gis_portal.db_router.ReadReplicaMiddleware",
    *MIDDLEWARE,
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
# The reads every API request runs are prepared statements (gis_portal/db.py); Django's own
# cursors bind on the client and are never prepared, whatever this says. 0 behind a
# transaction-mode connection pooler that cannot keep prepared statements.
DATABASE_PREPARED_READS = os.environ.get("DATABASE_PREPARED_READS", "1") != "0"
DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5 if DATABASE_PREPARED_READS else None
# A streaming replica (DATABASE_REPLICA_URL) serves the read-only API and the public map pages
# (gis_portal/db_router.py); writes, sessions, sign-in and tokens always use the primary.
_replica = replica_database(os.environ, primary=DATABASES["default"])
if _replica:
    DATABASES["replica"] = _replica
    DATABASE_ROUTERS = ["gis_portal.db_router.ReadReplicaRouter"]
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
# Uploaded documents, stage photos and frozen reports go through STORAGES["default"]: MEDIA_ROOT
# (a shared file system for several nodes) or an S3-compatible store (STORAGE_BACKEND=s3).
STORAGES = storages_from_env(os.environ, staticfiles_backend="django.contrib.staticfiles.storage.StaticFilesStorage")
# Cache (API pages, throttling counters): shared by every worker and node. db:// keeps it in
# PostgreSQL (table created by `manage.py createcachetable`), redis://… in Redis.
CACHES = {"default": cache_from_url(os.environ.get("CACHE_URL", "db://"))}
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

AUTHENTICATION_BACKENDS = [
    # AxesStandaloneBackend first: it refuses sign-in attempts while a lockout is in force.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Sign-ins and failed sign-ins are logged (axes AccessLog / AccessAttempt tables and the
# "axes" logger); after AXES_FAILURE_LIMIT failures for one username from one address,
# further attempts get HTTP 429 for AXES_COOLOFF_TIME hours.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True

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
# Above this many features a working map draws the parcels / facilities layer from the vector
# tiles (/tiles/, Leaflet.VectorGrid) instead of embedding its GeoJSON in the page.
MAP_VECTOR_TILES_THRESHOLD = int(os.environ.get("MAP_VECTOR_TILES_THRESHOLD", "5000"))
STATICFILES_DIRS = [
    ("vendor/leaflet", MAP_ASSETS_DIR / "leaflet" / "dist"),
    ("vendor/leaflet.markercluster", MAP_ASSETS_DIR / "leaflet.markercluster" / "dist"),
    ("vendor/leaflet-draw", MAP_ASSETS_DIR / "leaflet-draw" / "dist"),
    ("vendor/leaflet.vectorgrid", MAP_ASSETS_DIR / "leaflet.vectorgrid" / "dist"),
    # OpenLayers for the GeoDjango map widgets of the admin (gis_portal.widgets), instead of Django's CDN links.
    ("vendor/ol", MAP_ASSETS_DIR / "ol"),
]
BOUNDARIES_ATTRIBUTION = "Boundaries: geokz v1.0.2 (A. Rodionov), from UN OCHA COD-AB Kazakhstan, CC BY 4.0"
# The licence of the public data the portal publishes (the public table's downloads, issue 20); the
# operator sets the one the ministry grants. Written into every downloaded file with the attribution.
PUBLIC_DATA_LICENCE = os.environ.get(
    "PUBLIC_DATA_LICENCE", "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/): reuse with attribution"
)

REST_FRAMEWORK = {
    # Token first: its challenge (`WWW-Authenticate: Token`) makes a request without credentials a
    # 401; 403 is for a signed-in caller who is not allowed. A token that is not valid is a 401,
    # never an anonymous read.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TokenAuthentication",  # DRF's, with the role in the same query
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Every error as RFC 9457 problem details (api/errors.py).
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    # Fair use: one policy for /api/v1/, /ogc/ and /tiles/ (api/throttling.py), limits below.
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.FairUseThrottle"],
}

# GeoJSON REST API, OGC API – Features and vector tiles (issue 6, app `api`).
API_MAX_LIMIT = 10_000  # features per page
API_EXACT_COUNT_MAX = 50_000  # above this many matches numberMatched is PostgreSQL's estimate
# Item pages are cached (default cache) under their ETag; 0 turns it off. Bytes per cached page at most.
API_RESPONSE_CACHE_SECONDS = int(os.environ.get("API_RESPONSE_CACHE_SECONDS", "300"))
API_RESPONSE_CACHE_MAX_BYTES = 2_000_000
# The public map's page shell and facilities GeoJSON (maps.public_views) in the shared cache; they are
# keyed by the public data's version, this only bounds how long untracked edits (kind or region names,
# base layers) take to show.
PUBLIC_MAP_CACHE_SECONDS = int(os.environ.get("PUBLIC_MAP_CACHE_SECONDS", "300"))
API_DOWNLOAD_MAX = int(os.environ.get("API_DOWNLOAD_MAX", "100000"))  # features per ?format= download
# Fair use (api/throttling.py): requests per period ("n/s", "n/min", "n/hour", "n/day") per anonymous
# client address, per signed-in user and per API token's user; over it, 429 with Retry-After. An empty
# value (compose passes each through, README "Production") means the default.
API_ANON_THROTTLE_RATE = os.environ.get("API_ANON_THROTTLE_RATE") or "600/min"
API_USER_THROTTLE_RATE = os.environ.get("API_USER_THROTTLE_RATE") or "3000/min"
API_TOKEN_THROTTLE_RATE = os.environ.get("API_TOKEN_THROTTLE_RATE") or "6000/min"
# Each process reuses an API token's user and role for this long (accounts.selectors._token_row): a revoked
# token, a deactivated user or a changed role takes effect within it on every node. 0: read on every request.
API_TOKEN_CACHE_SECONDS = float(os.environ.get("API_TOKEN_CACHE_SECONDS") or "1")
# Proxies in front of the portal whose X-Forwarded-For is trusted to name the client (DRF's
# NUM_PROXIES rule). 0: the connection's address, X-Forwarded-For ignored (a client could forge it).
# Production defaults to 1 when BEHIND_TLS (a TLS proxy in front, which must append X-Forwarded-For).
API_TRUSTED_PROXIES = int(os.environ.get("API_TRUSTED_PROXIES") or "0")
# Public reads may be fetched from other origins (web maps, QGIS web clients); no credentials.
CORS_URLS_REGEX = r"^/(api/v1|ogc|tiles)/.*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_EXPOSE_HEADERS = ["ETag", "Last-Modified", "Content-Crs"]
SPECTACULAR_SETTINGS = {
    "TITLE": "gis_portal API",
    "DESCRIPTION": "GeoJSON REST API (/api/v1/), OGC API – Features (/ogc/) and vector tiles (/tiles/) of the "
    "children's recreation roadmap 2024–2026 (Order No. 191-ө). Geometry in EPSG:4326 (RFC 7946) unless `crs` "
    "asks for another; anonymous clients read public fields only.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc assets come from drf-spectacular-sidecar, served locally (no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No "validator" badge: Swagger UI would load it as an image from validator.swagger.io (blocked by the CSP).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "OAS_VERSION": "3.0.3",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.openapi.postprocess_schema",
    ],
    # Several resources have a `status` with their own choices: name each set after its model.
    "ENUM_NAME_OVERRIDES": {
        "ParcelStatusEnum": "parcels.models.ParcelStatus",
        "LinkStatusEnum": "parcels.models.LinkStatus",
    },
}

# Logs go to standard output, one line per record: plain text in development, JSON in
# production (LOG_FORMAT=json|plain). Every record made while a request is served carries its
# request id and user id (gis_portal/observability.py), and each request logs one line with its
# status and duration: at WARNING ("slow request") above SLOW_REQUEST_MS.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
SLOW_REQUEST_MS = int(os.environ.get("SLOW_REQUEST_MS", "1000"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "gis_portal.observability.RequestContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s",
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_context"],
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # Django's own request logger would repeat each 4xx/5xx that gis_portal.request already logs.
    "loggers": {"django.request": {"level": "ERROR"}},
}

# Load balancers: /healthz (the process answers) and /readyz (database reachable, migrations
# applied, the oldest queued background job younger than READYZ_MAX_QUEUE_AGE_SECONDS).
READYZ_MAX_QUEUE_AGE_SECONDS = int(os.environ.get("READYZ_MAX_QUEUE_AGE_SECONDS", "900"))

# Periodic jobs (`manage.py run_scheduler`, the `scheduler` service of docker-compose.yml):
# crontab lines in TIME_ZONE; an empty value switches a job off.
SCHEDULE = {
    "deadline_digest": os.environ.get("SCHEDULE_DEADLINE_DIGEST", "0 8 * * 1-5"),
    "cleanup_uploads": os.environ.get("SCHEDULE_CLEANUP_UPLOADS", "17 * * * *"),
    "backup": os.environ.get("SCHEDULE_BACKUP", "30 2 * * *"),
}
DEADLINE_DIGEST_DAYS = int(os.environ.get("DEADLINE_DIGEST_DAYS", "30"))
# An import preview that is not confirmed within this many hours is discarded with its upload.
PARCEL_IMPORT_PREVIEW_MAX_AGE_HOURS = float(os.environ.get("PARCEL_IMPORT_PREVIEW_MAX_AGE_HOURS", "24"))
# Backups (`manage.py backup`): pg_dump of the database and an archive of MEDIA_ROOT, the newest
# BACKUP_KEEP of each kept in BACKUP_DIR.
BACKUP_DIR = Path(os.environ.get("BACKUP_DIR") or BASE_DIR / "var" / "backups")
BACKUP_KEEP = int(os.environ.get("BACKUP_KEEP", "14"))

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
# Parcel import without a facility reference: a planned facility (no active parcel) whose location lies
# inside the imported parcel is its facility; otherwise the nearest within this many metres (measured in
# the parcel's UTM zone) in the parcel's district. Several or none: the preview asks the user to choose.
PARCEL_IMPORT_MATCH_DISTANCE_M = float(os.environ.get("PARCEL_IMPORT_MATCH_DISTANCE_M", "3000"))

# Background jobs (accessibility analyses): django-tasks with its database backend on the
# same PostgreSQL, no broker; run workers with `manage.py db_worker`.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
