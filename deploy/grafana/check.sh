#!/usr/bin/env bash
# check.sh: `promtool check rules` on the alert rules (make lint, make test).
# Installs Debian's prometheus package (which has promtool) when missing.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../local/lib.sh"
ensure_pkg promtool prometheus
promtool check rules "$(repo_root)/deploy/grafana/alerts.yml"
