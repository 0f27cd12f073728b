# Shared helpers for the deploy/local scripts. Source it; do not run it.
# Scripts print KEY=VALUE lines on stdout (for var/services.env) and talk to
# people on stderr.

say() { printf '%s\n' "$*" >&2; }

# repo_root: the repository's top folder (two levels above this file).
repo_root() { cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd; }

# ensure_pkg CMD PACKAGE: install the Debian package when CMD is missing.
ensure_pkg() {
  command -v "$1" >/dev/null 2>&1 || install_pkg "$2"
}

# install_pkg PACKAGE...: install Debian packages with apt-get.
install_pkg() {
  say "installing $* with apt-get"
  if [ "$(id -u)" -ne 0 ]; then
    say "need root to install $*; install by hand: apt-get install $*"
    return 1
  fi
  if [ -z "${APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    export APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

# port_free PORT: true when nothing listens on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for SECONDS CMD...: retry CMD until it succeeds or time runs out.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then return 1; fi
    sleep 0.2
  done
}
