#!/bin/sh
# Container start: migrate and load the roadmap's reference data (idempotent), then run the command.
set -e
python manage.py migrate --noinput
python manage.py load_reference_data
if [ -d "${BOUNDARIES_PATH:-/nonexistent}" ]; then
  python manage.py load_default_boundaries
else
  echo "BOUNDARIES_PATH not mounted: regions have no polygons until boundaries are loaded" >&2
fi
if [ "${LOAD_DEMO_DATA:-0}" = "1" ]; then
  python manage.py load_demo_data
fi
exec "$@"
