#!/usr/bin/env bash
# Makes a Redis available for development, tests and the demo: the one on
# 127.0.0.1:6379 when it answers, otherwise a private one started from
# Debian's redis-server under var/redis (installed when missing).
# Prints REDIS_URL=… on stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root=$(repo_root)
port=${REDIS_PORT:-6379}

ping() { [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]; }

ensure_pkg redis-cli redis-tools
if ping "$port"; then
  say "redis: using the server on 127.0.0.1:$port"
  echo "REDIS_URL=redis://127.0.0.1:$port/0"
  exit 0
fi
ensure_pkg redis-server redis-server
if ! port_free "$port"; then port=16379; fi
dir="$root/var/redis"
mkdir -p "$dir"
if ! ping "$port"; then
  say "redis: starting a private server on 127.0.0.1:$port (data in $dir)"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$dir" \
    --save "" --appendonly "${REDIS_APPENDONLY:-no}" \
    --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" >&2
  wait_for 20 ping "$port" || { say "redis: did not start; see $dir/redis.log"; exit 1; }
fi
echo "REDIS_URL=redis://127.0.0.1:$port/0"
