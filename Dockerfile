# gis_portal image for every service of docker-compose.yml (web, worker, scheduler): Debian 12
# (bookworm) GDAL/GEOS/PROJ and the pinned runtime requirements only (no test, bench or lint tools).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=gis_portal.settings.production \
    STATIC_ROOT=/srv/static MEDIA_ROOT=/srv/media

# postgresql-client: pg_dump for the scheduled backups (same major version as the server, 15).
RUN apt-get update \
 && apt-get install -y --no-install-recommends gdal-bin libgdal32 libgeos-c1v5 libproj25 gettext \
    postgresql-client fonts-dejavu-core nodejs npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# Leaflet, its plugins and OpenLayers come from npm (pinned in maps/assets/package-lock.json);
# the test-only devDependencies (axe-core) stay out of the image.
RUN cd maps/assets && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
# collectstatic and compilemessages need settings but no database or secrets of the deployment.
RUN SECRET_KEY=build-only ALLOWED_HOSTS=build python manage.py compilemessages --ignore=.venv -v0 \
 && SECRET_KEY=build-only ALLOWED_HOSTS=build python manage.py collectstatic --noinput -v0

RUN useradd --system --home /srv portal && mkdir -p /srv/media /srv/backups && chown -R portal /srv/media /srv/backups
USER portal
EXPOSE 8000
ENTRYPOINT ["scripts/docker-entrypoint.sh"]
# Requests are logged by the portal itself (JSON lines with request id, user and duration).
CMD ["gunicorn", "gis_portal.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4"]
