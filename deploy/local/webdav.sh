#!/usr/bin/env bash
# A real WebDAV server for the tests of internal/documents: `rclone serve
# webdav` from Debian's rclone package (installed with apt-get when missing),
# serving var/webdav/data on a free port of 127.0.0.1 with Basic auth.
#
#   deploy/local/webdav.sh install   make sure rclone is on PATH
#   deploy/local/webdav.sh start     start (or reuse) the server; prints
#                                    TEST_WEBDAV_URL=http://user:pass@127.0.0.1:PORT/
#   deploy/local/webdav.sh stop      stop the server this script started
#   deploy/local/webdav.sh status    print the URL when it runs, fail otherwise
#
# The tests start their own rclone when TEST_WEBDAV_URL is unset and rclone is
# on PATH; `start` is for a shared server (services.sh) and manual poking.
# WEBDAV_PORT picks the first port to try (default 18080).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root=$(repo_root)
dir="$root/var/webdav"
pidfile="$dir/rclone.pid"
urlfile="$dir/url"

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }
answers() { curl -fsS -o /dev/null -u "$1" -X PROPFIND -H 'Depth: 0' "http://127.0.0.1:$2/"; }

cmd_install() { ensure_pkg rclone rclone; ensure_pkg curl curl; }

cmd_start() {
  cmd_install
  if running && [ -f "$urlfile" ]; then
    say "webdav: using the rclone server started earlier (pid $(cat "$pidfile"))"
    echo "TEST_WEBDAV_URL=$(cat "$urlfile")"
    return
  fi
  mkdir -p "$dir/data"
  : > "$dir/rclone.conf"
  local port=${WEBDAV_PORT:-18080}
  while ! port_free "$port"; do port=$((port + 1)); done
  local user=connector pass
  pass=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  say "webdav: starting rclone serve webdav on 127.0.0.1:$port (data in $dir/data)"
  RCLONE_CONFIG="$dir/rclone.conf" nohup rclone serve webdav "$dir/data" \
    --addr "127.0.0.1:$port" --user "$user" --pass "$pass" \
    --log-file "$dir/rclone.log" >/dev/null 2>&1 &
  echo $! > "$pidfile"
  wait_for 20 answers "$user:$pass" "$port" || { say "webdav: did not start; see $dir/rclone.log"; exit 1; }
  echo "http://$user:$pass@127.0.0.1:$port/" > "$urlfile"
  chmod 600 "$urlfile"
  echo "TEST_WEBDAV_URL=$(cat "$urlfile")"
}

cmd_stop() {
  if running; then
    kill "$(cat "$pidfile")" && say "webdav: stopped"
  fi
  rm -f "$pidfile" "$urlfile"
}

cmd_status() {
  running && [ -f "$urlfile" ] || { say "webdav: not running"; exit 1; }
  echo "TEST_WEBDAV_URL=$(cat "$urlfile")"
}

case "${1:-start}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) say "usage: $0 install|start|stop|status"; exit 2 ;;
esac
