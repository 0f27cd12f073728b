#!/usr/bin/env bash
# Makes a PostgreSQL available for development, tests and the demo: the one on
# 127.0.0.1:5432 when it accepts the postgres user without a password,
# otherwise a throw-away cluster made with initdb/pg_ctl from Debian's
# postgresql package under var/postgres (installed when missing).
# Prints POSTGRES_URL=… (an admin URL to the postgres database) on stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root=$(repo_root)
port=${POSTGRES_PORT:-5432}

usable() { psql "postgres://postgres@127.0.0.1:$1/postgres?sslmode=disable&connect_timeout=3" -tAc 'select 1' 2>/dev/null | grep -q 1; }

ensure_pkg psql postgresql-client
if usable "$port"; then
  say "postgres: using the server on 127.0.0.1:$port"
  echo "POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  exit 0
fi

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ]; then
  install_pkg postgresql
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
if ! port_free "$port"; then port=15432; fi
data="$root/var/postgres"
# The postgres user must reach the data directory; a checkout under a
# private home directory does not allow that, so fall back to /tmp.
if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$root/var" 2>/dev/null; then
  data="/tmp/exchange-connector-postgres-$(echo "$root" | md5sum | cut -c1-8)"
fi
# initdb and postgres refuse to run as root: run them as the postgres user
# (created by the Debian package) or as ourselves when we are not root.
run() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ ! -f "$data/PG_VERSION" ]; then
  say "postgres: creating a throw-away cluster in $data"
  mkdir -p "$data"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
  run "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >&2
fi
if ! usable "$port"; then
  say "postgres: starting it on 127.0.0.1:$port"
  run "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-h 127.0.0.1 -p $port -k /tmp -c fsync=off -c synchronous_commit=off -c max_connections=200" start >&2
  wait_for 30 usable "$port" || { say "postgres: did not start; see $data/server.log"; exit 1; }
fi
echo "POSTGRES_URL=postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
