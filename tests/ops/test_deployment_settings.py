"""Deployment choices read from the environment (gis_portal/settings/env.py): cache, storage, replica."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from gis_portal.settings.env import cache_from_url, flag, replica_database, storages_from_env

STATIC = "django.contrib.staticfiles.storage.StaticFilesStorage"


def test_cache_urls():
    assert cache_from_url("db://")["BACKEND"] == "gis_portal.cache.PostgresCache"  # Django's, one statement a set
    assert cache_from_url("db://")["LOCATION"] == "portal_cache"
    redis = cache_from_url("redis://cache.internal:6379/2")
    assert redis == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://cache.internal:6379/2",
    }
    assert cache_from_url("locmem://")["BACKEND"].endswith("LocMemCache")
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL must start with"):
        cache_from_url("memcached://x")


def test_filesystem_storage_by_default():
    storages = storages_from_env({}, staticfiles_backend=STATIC)
    assert storages["default"] == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    assert storages["staticfiles"] == {"BACKEND": STATIC}


def test_s3_storage_is_selected_by_environment_variables():
    env = {
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": "portal-media",
        "S3_ENDPOINT_URL": "https://minio.internal:9000",
        "S3_REGION": "kz-1",
        "S3_ACCESS_KEY_ID": "AK",
        "S3_SECRET_ACCESS_KEY": "SK",
    }
    default = storages_from_env(env, staticfiles_backend=STATIC)["default"]
    assert default["BACKEND"] == "storages.backends.s3.S3Storage"
    assert default["OPTIONS"] == {
        "bucket_name": "portal-media",
        "location": "media",
        "default_acl": None,
        "file_overwrite": False,
        "querystring_auth": True,
        "endpoint_url": "https://minio.internal:9000",
        "region_name": "kz-1",
        "access_key": "AK",
        "secret_key": "SK",
    }
    # django-storages accepts exactly these options (building the storage contacts no server).
    storage = import_string(default["BACKEND"])(**default["OPTIONS"])
    assert storage.bucket_name == "portal-media" and storage.location == "media"
    assert storage.file_overwrite is False and storage.default_acl is None


def test_bad_storage_settings_are_named():
    with pytest.raises(ImproperlyConfigured, match="S3_BUCKET"):
        storages_from_env({"STORAGE_BACKEND": "s3"}, staticfiles_backend=STATIC)
    with pytest.raises(ImproperlyConfigured, match="STORAGE_BACKEND must be"):
        storages_from_env({"STORAGE_BACKEND": "nfs"}, staticfiles_backend=STATIC)


def test_replica_database_mirrors_the_primary_in_tests():
    primary = {"OPTIONS": {"prepare_threshold": 5}}
    assert replica_database({}, primary=primary) is None
    replica = replica_database(
        {"DATABASE_REPLICA_URL": "postgis://ro@replica.internal:5432/gis_portal"}, primary=primary
    )
    assert replica["HOST"] == "replica.internal" and replica["NAME"] == "gis_portal"
    assert replica["ENGINE"] == "django.contrib.gis.db.backends.postgis"
    assert replica["OPTIONS"]["prepare_threshold"] == 5 and replica["TEST"] == {"MIRROR": "default"}


def test_flags():
    assert flag({}, "BEHIND_TLS", True) is True
    assert flag({"BEHIND_TLS": "0"}, "BEHIND_TLS", True) is False
    with pytest.raises(ImproperlyConfigured, match="BEHIND_TLS must be 0 or 1"):
        flag({"BEHIND_TLS": "no"}, "BEHIND_TLS", True)
