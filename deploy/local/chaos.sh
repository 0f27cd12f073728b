#!/usr/bin/env bash
# Fault runs against the whole product (`make chaos`): the Graph simulator,
# `connector serve --role=web` and `--role=worker` as separate processes, a
# PRIVATE Redis (AOF on) and a PRIVATE PostgreSQL cluster, both started here
# under var/chaos on their own ports and stopped again at the end. The
# machine's own Redis (6379) and PostgreSQL (5432) are never touched.
#
# Each scenario injects tagged mails from known CRM contacts into three demo
# mailboxes through the simulator's control API, injects one fault, and then
# asserts that the set of activities equals the set of injected mails
# (nothing lost, nothing twice) and that no asynq task is left pending,
# active, scheduled, in retry or archived after a drain period.
#
#   deploy/local/chaos.sh                 all scenarios
#   CHAOS_SCENARIOS="1 4" deploy/local/chaos.sh   a selection
#   CHAOS_NO_DOC=1 …                      do not rewrite docs/RELIABILITY.md
#
# Exit status: 0 when every scenario passed, 1 otherwise.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"
. deploy/local/chaos/lib.sh

SCENARIOS=${CHAOS_SCENARIOS:-"1 2 3 4 5 6 7 8 9 10 11 12"}
RUN=$(date -u +%H%M%S)
T0=$SECONDS

trap chaos_cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$CH/s"* "$CH/results.tsv"
mkdir -p "$CH"
: >"$CH/results.tsv"

say "== building connector and graphsim into $CH/bin"
go build -o "$CH/bin/" ./cmd/connector ./cmd/graphsim

start_private_redis
start_private_postgres

for n in $SCENARIOS; do
  "scenario_$n" || true
done

say ""
say "== results (total $((SECONDS - T0)) s)"
print_table >&2
if [ "${CHAOS_NO_DOC:-0}" != 1 ]; then write_doc; fi
if grep -q $'\tFAIL\t' "$CH/results.tsv"; then
  say "chaos: at least one scenario FAILED"
  exit 1
fi
say "chaos: all scenarios passed"
