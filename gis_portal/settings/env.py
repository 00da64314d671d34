"""Deployment choices read from the environment: cache, file storage, database replica, TLS.

Each function turns documented variables (README, "Production") into a Django setting and
refuses a value it does not understand, so a typo stops the process at start instead of
silently falling back to a per-node default.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

# The table of the PostgreSQL cache backend (created by `manage.py createcachetable`).
CACHE_TABLE = "portal_cache"


def flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A 0/1 variable; anything else is an error that names the variable."""
    value = env.get(name, "").strip()
    if value == "":
        return default
    if value in ("0", "1"):
        return value == "1"
    raise ImproperlyConfigured(f"{name} must be 0 or 1, not {value!r}")


def cache_from_url(url: str) -> dict:
    """The default cache from CACHE_URL.

    - ``db://`` — PostgreSQL (the portal's own database, table ``portal_cache``): shared by every
      worker and node with no extra service;
    - ``redis://host:6379/0`` (or ``rediss://``) — Redis, shared and faster under load;
    - ``locmem://`` — one process's memory: development and tests only, never shared.
    """
    scheme = urlsplit(url).scheme
    if scheme == "db":
        return {"BACKEND": "gis_portal.cache.PostgresCache", "LOCATION": CACHE_TABLE}
    if scheme in ("redis", "rediss"):
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "gis_portal"}
    raise ImproperlyConfigured(f"CACHE_URL must start with db://, redis://, rediss:// or locmem://, not {url!r}")


def storages_from_env(env: Mapping[str, str], *, staticfiles_backend: str) -> dict:
    """STORAGES: uploaded documents, stage photos and frozen reports go to the "default" storage.

    STORAGE_BACKEND=filesystem (default): MEDIA_ROOT, which must be a shared file system when
    more than one node serves the portal. STORAGE_BACKEND=s3: an S3-compatible object store
    through django-storages (S3_BUCKET required; S3_ENDPOINT_URL for a non-AWS store such as
    MinIO or Ceph; S3_REGION, S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY or the usual AWS
    credential chain; S3_PREFIX, default "media"). Objects stay private: the portal serves
    them through its own permission-checked views, never by public URL.
    """
    backend = env.get("STORAGE_BACKEND", "filesystem").strip() or "filesystem"
    staticfiles = {"BACKEND": staticfiles_backend}
    if backend == "filesystem":
        return {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}, "staticfiles": staticfiles}
    if backend != "s3":
        raise ImproperlyConfigured(f"STORAGE_BACKEND must be filesystem or s3, not {backend!r}")
    bucket = env.get("S3_BUCKET", "").strip()
    if not bucket:
        raise ImproperlyConfigured("STORAGE_BACKEND=s3 needs S3_BUCKET")
    options = {
        "bucket_name": bucket,
        "location": env.get("S3_PREFIX", "media"),
        "default_acl": None,
        "file_overwrite": False,
        "querystring_auth": True,
    }
    optional = {
        "endpoint_url": "S3_ENDPOINT_URL",
        "region_name": "S3_REGION",
        "access_key": "S3_ACCESS_KEY_ID",
        "secret_key": "S3_SECRET_ACCESS_KEY",
    }
    options.update({key: env[name] for key, name in optional.items() if env.get(name)})
    return {"default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}, "staticfiles": staticfiles}


def replica_database(env: Mapping[str, str], *, primary: dict) -> dict | None:
    """DATABASES["replica"] from DATABASE_REPLICA_URL (a streaming replica of the primary), or None.

    In tests it mirrors the primary (Django's TEST MIRROR), so test data is visible through it.
    """
    url = env.get("DATABASE_REPLICA_URL", "").strip()
    if not url:
        return None
    replica = dj_database_url.parse(url, engine="django.contrib.gis.db.backends.postgis", conn_max_age=60)
    replica["OPTIONS"] = {**primary.get("OPTIONS", {}), **replica.get("OPTIONS", {})}
    replica["TEST"] = {"MIRROR": "default"}
    return replica
