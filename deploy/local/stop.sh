#!/usr/bin/env bash
# Stops the private Redis and PostgreSQL that redis.sh/postgres.sh started
# under var/ (never the machine's own services).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
root=$(repo_root)
if [ -f "$root/var/redis/redis.pid" ]; then
  kill "$(cat "$root/var/redis/redis.pid")" 2>/dev/null && say "redis: stopped"
fi
for data in "$root/var/postgres" "/tmp/exchange-connector-postgres-$(echo "$root" | md5sum | cut -c1-8)"; do
  [ -f "$data/postmaster.pid" ] || continue
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$bindir/pg_ctl" -D "$data" stop -m fast >&2
  else "$bindir/pg_ctl" -D "$data" stop -m fast >&2; fi
done
"$(dirname "$0")/webdav.sh" stop
