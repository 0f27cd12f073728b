#!/usr/bin/env bash
# Makes every service the tests and the demo need available and writes
# their addresses to var/services.env (KEY=VALUE, for `set -a; . file`).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root=$(repo_root)
mkdir -p "$root/var"
here=$(dirname "$0")
{
  "$here/redis.sh"
  "$here/postgres.sh"
  "$here/webdav.sh" start
} > "$root/var/services.env.tmp"
mv "$root/var/services.env.tmp" "$root/var/services.env"
# The status page is tested in a real headless browser.
ensure_pkg chromium chromium
# The alert rules are checked with promtool (internal/metrics, deploy/grafana/check.sh).
ensure_pkg promtool prometheus
cat "$root/var/services.env" >&2
