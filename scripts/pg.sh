#!/usr/bin/env bash
# Usage: scripts/pg.sh start|stop|status [--port P] [--dir D]
#
# A throwaway PostgreSQL 15 cluster on 127.0.0.1 for tests and the demo (TOOLCHAIN.md,
# "PostgreSQL 15 as root, no systemd").
#
#   start   initdb (first time) and start the cluster in D, create role and database
#           `tidemark` (password `tidemark`) with pg_trgm, and print its URL as the last
#           line of stdout; the URL is also written to D/url. Idempotent: a cluster already
#           running in D just prints its URL.
#   stop    stop the cluster (fast shutdown) and delete D.
#   status  print "running <url>" (exit 0) or "stopped" (exit 3).
#
#   --port P  TCP port on 127.0.0.1 (default 55432)
#   --dir D   cluster folder (default /tmp/tidemark-pg-P); D/data is the data directory,
#             D holds the unix socket, the server log (D/postgres.log) and D/url
#
# As root the server runs as the `postgres` user (initdb and pg_ctl refuse root); as any other
# user it runs as that user. Works from any working directory.
set -euo pipefail

readonly PG_BIN=/usr/lib/postgresql/15/bin
readonly DB_USER=tidemark DB_PASSWORD=tidemark DB_NAME=tidemark

die() {
  echo "pg.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}

(($# >= 1)) || usage
command=$1
shift
port=55432
dir=
while (($# > 0)); do
  case "$1" in
    --port) port=${2:?--port needs a value}; shift 2 ;;
    --dir) dir=${2:?--dir needs a value}; shift 2 ;;
    -h | --help) usage ;;
    *) echo "pg.sh: unknown option '$1'" >&2; usage ;;
  esac
done
[[ "$port" =~ ^[0-9]+$ ]] || die "--port must be a number, got '$port'"
dir=$(realpath -m "${dir:-/tmp/tidemark-pg-$port}")
readonly data="$dir/data" log="$dir/postgres.log"
readonly url="postgresql://$DB_USER:$DB_PASSWORD@127.0.0.1:$port/$DB_NAME"

# Runs a PostgreSQL tool as the cluster's owner, from `/` so that a working directory the
# owner cannot read (/root) does not matter.
as_owner() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

is_running() {
  [[ -f "$data/PG_VERSION" ]] && as_owner "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# psql over the unix socket as the superuser (local connections are trusted).
superuser_psql() {
  local database=$1
  shift
  as_owner env PGOPTIONS='-c client_min_messages=warning' "$PG_BIN/psql" -X -q \
    -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d "$database" "$@"
}

init_cluster() {
  local owner=postgres
  ((EUID == 0)) || owner=$(id -un)
  if ((EUID == 0)); then
    install -d -o postgres -g postgres -m 700 "$dir"
  else
    install -d -m 700 "$dir"
  fi
  # The superuser's password only guards TCP logins nobody makes; the socket is trusted.
  local pwfile="$dir/pwfile"
  (umask 077 && head -c 18 /dev/urandom | base64 >"$pwfile")
  ((EUID != 0)) || chown postgres:postgres "$pwfile"
  if ! as_owner "$PG_BIN/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 --pwfile="$pwfile" --no-sync \
    >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    die "initdb failed in $data (owner $owner)"
  fi
  rm -f "$pwfile"
  cat >>"$data/postgresql.conf" <<CONF

# --- tidemark throwaway test cluster (scripts/pg.sh) ---
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
# Durability is switched off: this cluster is deleted after the tests. Never copy these
# three settings to a database whose data matters.
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
}

create_database() {
  superuser_psql postgres <<SQL
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', '$DB_USER', '$DB_PASSWORD')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER')\gexec
SELECT format('CREATE DATABASE %I OWNER %I', '$DB_NAME', '$DB_USER')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME')\gexec
SQL
  superuser_psql "$DB_NAME" -c 'CREATE EXTENSION IF NOT EXISTS pg_trgm'
}

start() {
  [[ -x "$PG_BIN/pg_ctl" ]] || die "PostgreSQL 15 not found in $PG_BIN (run scripts/install-deps.sh)"
  if ! is_running; then
    port_in_use && die "port $port on 127.0.0.1 is taken by another server; pick --port"
    [[ -f "$data/PG_VERSION" ]] || init_cluster
    if ! as_owner "$PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null; then
      tail -n 30 "$log" >&2 || true
      die "the server in $data did not start (log: $log)"
    fi
  fi
  create_database
  echo "$url" >"$dir/url"
  echo "$url"
}

stop() {
  if is_running; then
    as_owner "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null
  fi
  # Only delete what looks like one of our clusters, whatever --dir was given.
  if [[ -f "$data/PG_VERSION" || -f "$dir/url" || -f "$dir/initdb.log" ]]; then
    rm -rf "$dir"
  fi
  echo "pg.sh: stopped cluster in $dir" >&2
}

status() {
  if is_running; then
    echo "running $url"
  else
    echo "stopped"
    exit 3
  fi
}

case "$command" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
