#!/bin/sh
# Container start for every service of docker-compose.yml (web, worker, scheduler), then the command.
#
# SETUP=1 (the web service; default): migrate, create the cache table, and load the roadmap's
# reference data, the bundled boundaries and the official population figures. Every step is
# idempotent, so a restart changes nothing. Demo data only with LOAD_DEMO_DATA=1.
# SETUP=0 (worker, scheduler): wait until the web service has applied every migration
# (`migrate --check`), at most SETUP_WAIT_SECONDS, then start.
set -e
if [ "${SETUP:-1}" = "1" ]; then
  python manage.py migrate --noinput
  python manage.py createcachetable
  python manage.py load_reference_data
  python manage.py load_default_boundaries
  python manage.py load_population
  # Demo data once: a restart keeps what is there (and its ids) instead of replacing it.
  if [ "${LOAD_DEMO_DATA:-0}" = "1" ]; then
    out="$(python manage.py load_demo_data --if-absent)"
    echo "$out"
    case "$out" in
      "demo data already present"*) ;;
      *) python manage.py load_demo_parcels && python manage.py load_demo_tracking ;;
    esac
  fi
else
  waited=0
  until python manage.py migrate --check >/dev/null 2>&1; do
    if [ "$waited" -ge "${SETUP_WAIT_SECONDS:-600}" ]; then
      echo "migrations still not applied after ${waited} s: is the web service (SETUP=1) running?" >&2
      exit 1
    fi
    sleep 5
    waited=$((waited + 5))
  done
fi
exec "$@"
