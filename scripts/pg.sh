#!/usr/bin/env bash
# The private PostgreSQL cluster of cpx, for a machine where no server is configured:
# initdb into a folder of the project's, listening on a unix socket only (no TCP port to
# collide with anything), started and stopped by the run and test commands.
#
#   scripts/pg.sh start   initdb when needed, start, create the database; prints its URL
#   scripts/pg.sh stop    stop it (fast shutdown; the data stays)
#   scripts/pg.sh url     print the connection URL
#   scripts/pg.sh status  exit 0 when it is running
#
# PostgreSQL refuses to run as root, so as root the cluster belongs to Debian's
# "postgres" system user (created by the postgresql package) and runs as that user;
# otherwise it runs as whoever calls this. CPX_PG_DIR moves the folder (default
# build/pg); when the postgres user cannot reach it, a folder under /tmp is used.
set -euo pipefail
cd "$(dirname "$0")/.."

bindir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -z "${bindir}" ] || [ ! -x "${bindir}/initdb" ]; then
  echo "pg.sh: PostgreSQL's server programs are missing; run scripts/setup.sh" >&2
  exit 1
fi

base="${CPX_PG_DIR:-build/pg}"
mkdir -p "${base}"
base="$(cd "${base}" && pwd)"

as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  as_owner=(runuser -u postgres --)
  # Every folder above the cluster must be searchable by the postgres user.
  if ! runuser -u postgres -- test -x "${base}"; then
    base="/tmp/cpx-pg-$(printf '%s' "${base}" | sha256sum | cut -c1-12)"
    mkdir -p "${base}"
  fi
  chown postgres: "${base}"
fi

data="${base}/data"
sock="${base}/run"
port=5432
user=cpx
db=cpx
url="postgresql:///${db}?host=${sock}&port=${port}&user=${user}"

run_owner() { "${as_owner[@]}" "$@"; }

is_running() {
  [ -f "${data}/postmaster.pid" ] && run_owner "${bindir}/pg_ctl" -D "${data}" status >/dev/null 2>&1
}

start() {
  if [ ! -f "${data}/PG_VERSION" ]; then
    run_owner mkdir -p "${data}" "${sock}"
    run_owner "${bindir}/initdb" -D "${data}" -U "${user}" --auth=trust -E UTF8 \
      --locale=C.UTF-8 >"${base}/initdb.log" 2>&1 || {
      cat "${base}/initdb.log" >&2
      exit 1
    }
    # Durability stays on (fsync, synchronous_commit): the journal's acknowledgements
    # depend on it. The rest sizes the server for an exchange's write load.
    run_owner tee -a "${data}/postgresql.conf" >/dev/null <<EOF
listen_addresses = ''
unix_socket_directories = '${sock}'
port = ${port}
max_connections = 100
shared_buffers = 256MB
wal_buffers = 16MB
max_wal_size = 4GB
checkpoint_timeout = 15min
fsync = on
synchronous_commit = on
logging_collector = off
EOF
  fi
  run_owner mkdir -p "${sock}"
  if ! is_running; then
    run_owner "${bindir}/pg_ctl" -D "${data}" -l "${base}/server.log" -w -t 60 start >/dev/null || {
      tail -20 "${base}/server.log" >&2
      exit 1
    }
  fi
  if ! psql "postgresql:///postgres?host=${sock}&port=${port}&user=${user}" -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '${db}'" | grep -q 1; then
    psql "postgresql:///postgres?host=${sock}&port=${port}&user=${user}" -qc "CREATE DATABASE ${db}"
  fi
  echo "${url}"
}

stop() {
  if is_running; then
    run_owner "${bindir}/pg_ctl" -D "${data}" -m fast -w stop >/dev/null
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) echo "${url}" ;;
  status) is_running ;;
  *)
    echo "usage: scripts/pg.sh start|stop|url|status" >&2
    exit 2
    ;;
esac
