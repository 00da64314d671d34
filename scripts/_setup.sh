# Shared set-up for scripts/run and scripts/test. Sourced, not executed.
# Idempotent: installs only what is missing, creates only what does not exist.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

log() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root (or sudo) to run: $*"; fi
}

APT_UPDATED=0
apt_ensure() {
  # apt_ensure PKG... : install the Debian/Ubuntu packages that are not installed yet.
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get: install them by hand"
  log "installing system packages: ${missing[*]}"
  if [ "$APT_UPDATED" -eq 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

system_packages() {
  local pkgs=(gdal-bin libgdal-dev libgeos-dev libproj-dev gettext postgresql-client)
  # DejaVu: a Unicode TTF (Kazakh, Russian) for the PDF reports of tracking.
  pkgs+=(fonts-dejavu-core)
  # Only a machine that will run its own server needs the server package; PostGIS and pgRouting
  # (road networks, roads/) must be installed next to whichever local server we use.
  pkgs+=(postgresql-15 postgresql-15-postgis-3 postgresql-15-pgrouting)
  command -v python3.11 >/dev/null || pkgs+=(python3 python3-venv python3-dev)
  local py
  py="$(base_python)" && "$py" -c 'import venv, ensurepip' 2>/dev/null || pkgs+=(python3-venv)
  apt_ensure "${pkgs[@]}" "$@"
}

base_python() {
  # The interpreter .venv is made from: the distribution's python3.11 when there is one, else the first
  # python3.11 or python3 on PATH. Debian's, like the Docker image's (python:3.11-slim), is compiled with
  # PGO and LTO; one compiled locally with default options (pyenv's, often first on PATH) runs the same
  # Python code slower (README "Benchmarks"). An existing .venv keeps the interpreter it was made from.
  # DISTRO_PYTHON names another path for the distribution's interpreter (tests/ops/test_setup_script.py).
  local candidate
  for candidate in "${DISTRO_PYTHON:-/usr/bin/python3.11}" "$(command -v python3.11 || true)" \
    "$(command -v python3 || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

python_env() {
  # python_env [REQUIREMENTS_FILE...] : .venv with the pinned runtime requirements (default), or the
  # files given (scripts/test adds requirements-dev.txt: test, bench, fuzz and lint tools).
  local py files=("$@")
  [ ${#files[@]} -gt 0 ] || files=(requirements.txt)
  py="$(base_python)" || die "no python3.11 or python3 found"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Python 3.11+ required, found $($py --version)"
  [ -x "$PY" ] || { log "creating virtualenv .venv"; "$py" -m venv "$VENV"; }
  local stamp="$VENV/.requirements.sha256" sum args=()
  sum="$(cat requirements.txt "${files[@]}" | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    log "installing pinned Python requirements (${files[*]})"
    "$PY" -m pip install -q --upgrade pip
    for f in "${files[@]}"; do args+=(-r "$f"); done
    "$PY" -m pip install -q "${args[@]}"
    echo "$sum" > "$stamp"
  fi
}

redis_ensure() {
  # Debian's redis-server on 127.0.0.1:6379, started when none answers there. scripts/test always
  # needs it (the shared-cache tests run against a real Redis); scripts/run only when CACHE_URL chooses it.
  if redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then return 0; fi
  apt_ensure redis-server redis-tools
  log "starting redis-server on 127.0.0.1:6379"
  as_root redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && return 0; sleep 0.5; done
  die "redis-server did not start"
}

map_assets() {
  # Leaflet and its plugins for the maps, pinned in maps/assets/package-lock.json, from npm; with the
  # devDependencies (axe-core, for tests/maps/test_public_a11y.py).
  command -v npm >/dev/null || apt_ensure nodejs npm
  local dir="$ROOT/maps/assets" stamp="$ROOT/maps/assets/node_modules/.lock.sha256" sum
  sum="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    log "installing map assets (npm ci)"
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    echo "$sum" > "$stamp"
  fi
}

postgres_ensure() {
  # Use DATABASE_URL when given; else a server on 127.0.0.1:5432; else start the local cluster.
  if [ -n "${DATABASE_URL:-}" ]; then return 0; fi
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    export DATABASE_URL="postgis://${PGUSER:-$(id -un)}@127.0.0.1:5432/gis_portal"
    return 0
  fi
  log "no PostgreSQL on 127.0.0.1:5432: starting the local cluster"
  local ver=15
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1,$2}' | grep -q "^$ver main$"; then
    as_root pg_createcluster "$ver" main >/dev/null
  fi
  as_root pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || as_root pg_ctlcluster "$ver" main start
  for _ in $(seq 1 30); do pg_isready -q && break; sleep 1; done
  pg_isready -q || die "PostgreSQL did not start; see /var/log/postgresql/"
  local me
  me="$(id -un)"
  if ! as_root runuser -u postgres -- psql -Atqc "select 1 from pg_roles where rolname='$me'" | grep -q 1; then
    as_root runuser -u postgres -- createuser --superuser "$me"
  fi
  # Unix socket with peer authentication as the current OS user.
  export DATABASE_URL="postgis://${me}@%2Fvar%2Frun%2Fpostgresql/gis_portal"
}

database_ensure() {
  "$PY" scripts/dbsetup.py
}

messages_compile() {
  "$PY" manage.py compilemessages --ignore=.venv -v0
}
