# Helpers of deploy/local/chaos.sh: private Redis and PostgreSQL, the
# simulator and the connector per scenario, mail injection, and the checks.
# Source it after deploy/local/lib.sh, from the repository root.

CH="$root/var/chaos"
CONNECTOR="$CH/bin/connector"
GRAPHSIM="$CH/bin/graphsim"
TENANT=84bd8158-6d4d-4958-8b9f-9d6445542f95
CLIENT=3f6c1b0e-5d2a-4c7e-9a1b-2e8f4d6c9a10
# Three of the demo CRM's mailboxes receive the load; the senders are known
# contacts of demo customers, so every injected mail must become an activity.
MAILBOXES=(anna.berger@dedenet.de peter.kraus@dedenet.de julia.schaefer@dedenet.de)
SENDERS=("Sabine Schulz|sabine.schulz@schulz-technik.com" "Thomas Müller|t.mueller@mueller-bau.de"
  "Jürgen Schulz|juergen.schulz@schulz-technik.com" "Birgit Krämer|birgit.kraemer@mueller-bau.de")
# The five enabled mailboxes of configs/demo/crm.json each get a subscription.
ENABLED_MAILBOXES=5

PIDS=()        # every process started here (simulator, connector roles, loaders)
REDIS_PID=""   # private Redis
PG_DATA=""     # private PostgreSQL cluster

free_port() { local p=$1; while ! port_free "$p"; do p=$((p + 1)); done; echo "$p"; }
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { d = b - a; if (d < 0) d = 0; printf "%.1f", d }'; }
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# stop_pid PID [SECONDS]: SIGTERM, wait (bounded), then SIGKILL.
stop_pid() {
  local pid=$1 limit=${2:-30} i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < limit * 5; i++)); do alive "$pid" || break; sleep 0.2; done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
}

chaos_cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do alive "$pid" && kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null || true
  if [ -f "$CH/redis/redis.pid" ]; then
    pid=$(cat "$CH/redis/redis.pid" 2>/dev/null || true)
    # Only the private server started here (its pid file, its port).
    if alive "$pid" && grep -q "redis-server" "/proc/$pid/cmdline" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  if [ -n "$PG_DATA" ] && [ -f "$PG_DATA/postmaster.pid" ]; then
    run_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 20 stop >/dev/null 2>&1 || true
  fi
}

# ---------------------------------------------------------------- Redis ----

# The private Redis keeps the queues in an append-only file: appendonly yes,
# appendfsync everysec, as docs/OPERATIONS.md recommends for production. A
# SIGKILL of the process loses nothing that Redis already wrote to the AOF
# (write(2) happens before the reply is sent); everysec only bounds the loss
# of an OS crash or power cut to about a second.
RPORT=""
redis_up() {
  redis-server --daemonize yes --bind 127.0.0.1 --port "$RPORT" --dir "$CH/redis" \
    --appendonly yes --appendfsync everysec --save "" \
    --logfile "$CH/redis/redis.log" --pidfile "$CH/redis/redis.pid" >&2
  wait_for 20 redis_ping || { say "chaos: private redis did not start; see $CH/redis/redis.log"; return 1; }
  REDIS_PID=$(cat "$CH/redis/redis.pid")
}
redis_ping() { [ "$(redis-cli -h 127.0.0.1 -p "$RPORT" ping 2>/dev/null)" = PONG ]; }
rcli() { redis-cli -h 127.0.0.1 -p "$RPORT" "$@"; }

start_private_redis() {
  RPORT=$(free_port 16420)
  rm -rf "$CH/redis"
  mkdir -p "$CH/redis"
  say "== private redis on 127.0.0.1:$RPORT (AOF, appendfsync everysec) in $CH/redis"
  redis_up
}

# kill_redis: SIGKILL of the private server, no shutdown, no final fsync.
kill_redis() {
  kill -KILL "$REDIS_PID"
  local i
  for ((i = 0; i < 50; i++)); do alive "$REDIS_PID" || break; sleep 0.1; done
}

# ----------------------------------------------------------- PostgreSQL ----

PPORT=""
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
run_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_admin_url() { echo "postgres://postgres@127.0.0.1:$PPORT/postgres?sslmode=disable&connect_timeout=3"; }
pg_usable() { psql "$(pg_admin_url)" -tAc 'select 1' 2>/dev/null | grep -q 1; }
pg_start() {
  run_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 30 \
    -o "-h 127.0.0.1 -p $PPORT -k $PG_DATA -c max_connections=200" start >/dev/null
}
pg_stop_fast() { run_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null; }

start_private_postgres() {
  [ -n "$PG_BIN" ] || { say "chaos: no PostgreSQL server binaries (apt-get install postgresql)"; return 1; }
  PPORT=$(free_port 15460)
  PG_DATA="$CH/pg"
  if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$CH" 2>/dev/null; then
    PG_DATA="/tmp/exchange-connector-chaos-pg-$(echo "$root" | md5sum | cut -c1-8)"
  fi
  rm -rf "$PG_DATA"
  mkdir -p "$PG_DATA"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PG_DATA"
  say "== private postgres on 127.0.0.1:$PPORT in $PG_DATA"
  run_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust -E UTF8 >/dev/null
  pg_start
  wait_for 30 pg_usable || { say "chaos: private postgres did not start; see $PG_DATA/server.log"; return 1; }
}

# ------------------------------------------------ simulator and connector ----

SD="" SIM_PORT="" WEB_PORT="" WEB_METRICS_PORT="" WRK_PORT="" SIM_PID="" WEB_PID="" WRK_PID="" DBURL="" NEXT=1

sim() { # sim METHOD PATH [JSON]
  if [ -n "${3:-}" ]; then
    curl -sS --max-time 10 --cacert "$SD/graphsim-ca.pem" -X "$1" -H 'Content-Type: application/json' \
      --data "$3" "https://127.0.0.1:$SIM_PORT$2"
  else
    curl -sS --max-time 10 --cacert "$SD/graphsim-ca.pem" -X "$1" "https://127.0.0.1:$SIM_PORT$2"
  fi
}
faults() { sim POST /_sim/faults "$1" >/dev/null; }
sim_subscriptions() { sim GET /_sim/state | jq '[.subscriptions // [] | .[]] | length'; }
sim_notes() { sim GET /_sim/state | jq -c '.notifications // {}'; }

start_web() {
  CONNECTOR_LISTEN="127.0.0.1:$WEB_PORT" CONNECTOR_METRICS_LISTEN="127.0.0.1:$WEB_METRICS_PORT" \
    "$CONNECTOR" serve --role=web >>"$SD/web.log" 2>&1 &
  WEB_PID=$!
  PIDS+=("$WEB_PID")
  wait_for 30 curl -sf "http://127.0.0.1:$WEB_PORT/healthz"
}
start_worker() {
  # A worker serves /healthz and /metrics on metrics_listen only.
  CONNECTOR_METRICS_LISTEN="127.0.0.1:$WRK_PORT" "$CONNECTOR" serve --role=worker >>"$SD/worker.log" 2>&1 &
  WRK_PID=$!
  PIDS+=("$WRK_PID")
  wait_for 30 curl -sf "http://127.0.0.1:$WRK_PORT/healthz"
}

# env_up N: a fresh simulator (a tenant with the demo CRM's users), a
# fresh database chaos_sN with the demo CRM and credentials, an empty Redis,
# the web and worker roles, and subscriptions plus backfill done.
env_up() {
  local n=$1
  SD="$CH/s$n"
  rm -rf "$SD"
  mkdir -p "$SD"
  NEXT=1
  SIM_PORT=$(free_port $((18600 + n * 10)))
  WEB_PORT=$(free_port $((SIM_PORT + 1)))
  WRK_PORT=$(free_port $((WEB_PORT + 1)))
  WEB_METRICS_PORT=$(free_port $((WRK_PORT + 1)))
  local secret
  secret="chaos~$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
  printf '%s' "$secret" >"$SD/client-secret"
  chmod 600 "$SD/client-secret"
  "$GRAPHSIM" --listen "127.0.0.1:$SIM_PORT" --tenant-id "$TENANT" --client-id "$CLIENT" --client-secret "$secret" \
    --ca-out "$SD/graphsim-ca.pem" --allow-http-notify >"$SD/graphsim.log" 2>&1 &
  SIM_PID=$!
  PIDS+=("$SIM_PID")
  wait_for 30 curl -sf --cacert "$SD/graphsim-ca.pem" "https://127.0.0.1:$SIM_PORT/_sim/state" || { say "graphsim did not start"; return 1; }
  # Graph knows only existing users (404 ErrorInvalidUser otherwise): the demo CRM's mailboxes.
  local m
  for m in $(grep -o '"exchange_mailbox": *"[^"]*"' configs/demo/crm.json | cut -d'"' -f4); do
    sim POST /_sim/users "{\"mail\":\"$m\"}" >/dev/null
  done

  psql "$(pg_admin_url)" -qc "DROP DATABASE IF EXISTS chaos_s$n" -c "CREATE DATABASE chaos_s$n" >/dev/null 2>&1
  rcli flushall >/dev/null
  DBURL="postgres://postgres@127.0.0.1:$PPORT/chaos_s$n?sslmode=disable"
  export CONNECTOR_DATABASE_URL="$DBURL"
  export CONNECTOR_REDIS_URL="redis://127.0.0.1:$RPORT/0"
  export CONNECTOR_MASTER_KEY_FILE="$SD/master.key"
  export CONNECTOR_DOCUMENTS_URL="file://$SD/documents"
  export CONNECTOR_GRAPH_URL="https://127.0.0.1:$SIM_PORT/v1.0"
  export CONNECTOR_AUTHORITY_URL="https://127.0.0.1:$SIM_PORT"
  export CONNECTOR_EXTRA_CA_FILE="$SD/graphsim-ca.pem"
  export CONNECTOR_LISTEN="127.0.0.1:$WEB_PORT"
  export CONNECTOR_PUBLIC_URL="http://127.0.0.1:$WEB_PORT"
  export CONNECTOR_OPS_PASSWORD_FILE="$SD/ops-password"
  printf 'chaos-%s\n' "$RUN" | "$CONNECTOR" ops password --out "$CONNECTOR_OPS_PASSWORD_FILE" >/dev/null
  "$CONNECTOR" migrate >/dev/null 2>>"$SD/setup.log"
  "$CONNECTOR" import --crm configs/demo/crm.json >/dev/null 2>>"$SD/setup.log"
  "$CONNECTOR" credentials set --tenant-id "$TENANT" --client-id "$CLIENT" --secret-file "$SD/client-secret" \
    --expires "$(date -u -d '+45 days' +%F)" >/dev/null 2>>"$SD/setup.log"
  start_web || { say "web role did not start; see $SD/web.log"; return 1; }
  start_worker || { say "worker role did not start; see $SD/worker.log"; return 1; }
  "$CONNECTOR" report --wait-synced 60s >"$SD/report-start.txt" 2>&1 || { say "no subscriptions/backfill; see $SD/worker.log"; return 1; }
  local subs
  subs=$(sim_subscriptions)
  [ "$subs" = "$ENABLED_MAILBOXES" ] || { say "expected $ENABLED_MAILBOXES subscriptions at the simulator, found $subs"; return 1; }
}

env_down() {
  stop_pid "$WEB_PID" 30
  stop_pid "$WRK_PID" 30
  stop_pid "$SIM_PID" 10
}

# ------------------------------------------------------------------ load ----

# inject N COUNT RATE: COUNT tagged mails at about RATE per second, round
# robin over MAILBOXES and SENDERS. A mail counts as sent once the simulator
# answered 201 (stored, notification queued); its internetMessageId goes to
# $SD/acked. Bounded by COUNT and by curl's --max-time. INJ_FOLDER=sentitems
# injects the mailbox's sent mails to those contacts instead (outbound).
inject() {
  local n=$1 count=$2 rate=$3 first=$NEXT i mb sender name addr imid subj body code gap folder=${INJ_FOLDER:-inbox}
  local from_name from_addr to_addr
  NEXT=$((NEXT + count))
  gap=$(awk -v r="$rate" 'BEGIN { printf "%.3f", 1 / r }')
  for ((i = first; i < first + count; i++)); do
    mb=${MAILBOXES[$((i % ${#MAILBOXES[@]}))]}
    sender=${SENDERS[$((i % ${#SENDERS[@]}))]}
    name=${sender%%|*} addr=${sender##*|}
    from_name=$name from_addr=$addr to_addr=$mb
    if [ "$folder" = sentitems ]; then from_name=${mb%%@*} from_addr=$mb to_addr=$addr; fi
    imid="<chaos-$RUN-s$n-$i@chaos.test>"
    subj="[chaos $RUN s$n $i] Anfrage Wartungsvertrag"
    body=$(printf '{"mailbox":"%s","folder":"%s","message":{"subject":"%s","internetMessageId":"%s","from":{"emailAddress":{"name":"%s","address":"%s"}},"toRecipients":[{"emailAddress":{"address":"%s"}}],"body":{"contentType":"text","content":"Guten Tag, bitte um Rückruf. Mail %s"}}}' \
      "$mb" "$folder" "$subj" "$imid" "$from_name" "$from_addr" "$to_addr" "$i")
    code=$(curl -sS --max-time 10 --cacert "$SD/graphsim-ca.pem" -o /dev/null -w '%{http_code}' -X POST \
      -H 'Content-Type: application/json' --data "$body" "https://127.0.0.1:$SIM_PORT/_sim/messages" 2>>"$SD/inject.err" || true)
    if [ "$code" = 201 ]; then echo "$imid" >>"$SD/acked"; else echo "$imid $code" >>"$SD/inject.err"; fi
    sleep "$gap"
  done
}
# inject_bg N COUNT RATE: inject in the background; INJ_PID is its pid.
inject_bg() { inject "$@" & INJ_PID=$!; PIDS+=("$INJ_PID"); }

# ---------------------------------------------------------------- checks ----

q() { psql "$DBURL" -tAqX -c "$1" 2>/dev/null; }
present() { q "SELECT internet_message_id FROM activities WHERE internet_message_id LIKE '<chaos-$RUN-s$1-%' ORDER BY 1" | sort -u; }
expected() { sort -u "$SD/acked" 2>/dev/null; }
lost_ids() { comm -23 <(expected) <(present "$1"); }
# duplicates: activities sharing an injected subject (a mail stored twice
# under another key) plus mailbox links of one Graph message to two activities.
duplicates() {
  q "SELECT coalesce(sum(c - 1), 0) FROM (SELECT subject, count(*) c FROM activities WHERE subject LIKE '[chaos $RUN s$1 %' GROUP BY subject) x"
}
dup_links() {
  q "SELECT coalesce(sum(c - 1), 0) FROM (SELECT am.employee_id, am.graph_message_id, count(*) c FROM activity_mailboxes am JOIN activities a ON a.id = am.activity_id WHERE a.internet_message_id LIKE '<chaos-$RUN-s$1-%' GROUP BY 1, 2) x"
}

# queues_left: "critical:pending=3 …" for every non-empty asynq state. The
# CRM webhook dispatcher's tick (task IDs crmhook:dispatch:<second>, enqueued
# by every worker every 2 s and done in milliseconds) is not work left over.
queues_left() {
  local qn st n out=""
  for qn in critical default low; do
    for st in pending active; do
      n=$(rcli lrange "asynq:{$qn}:$st" 0 -1 2>/dev/null | grep -cv -e '^crmhook:dispatch:' -e '^$' || true)
      [ "$n" = 0 ] || out+="$qn:$st=$n "
    done
    for st in scheduled retry archived; do
      n=$(rcli zrange "asynq:{$qn}:$st" 0 -1 2>/dev/null | grep -cv -e '^crmhook:dispatch:' -e '^$' || true)
      [ "$n" = 0 ] || out+="$qn:$st=$n "
    done
  done
  echo "${out% }"
}

# wait_complete N LIMIT: until every acked mail has its activity; prints the
# completion time (epoch) or nothing when LIMIT seconds ran out.
wait_complete() {
  local n=$1 deadline=$((SECONDS + $2)) lost
  while [ "$SECONDS" -lt "$deadline" ]; do
    lost=$(lost_ids "$n" | wc -l)
    if [ "$lost" -eq 0 ]; then now; return 0; fi
    sleep 1
  done
  return 1
}
# wait_sim_quiet LIMIT: until the simulator has no delivery still to come
# (notifications held by latency, late duplicates, failed POSTs awaiting a
# retry: .notifications.inFlight), so that the queues are judged only after
# the last webhook could arrive.
wait_sim_quiet() {
  local deadline=$((SECONDS + $1))
  while [ "$SECONDS" -lt "$deadline" ]; do
    [ "$(sim GET /_sim/state | jq '.notifications.inFlight // 0')" = 0 ] && return 0
    sleep 1
  done
  return 1
}
# wait_drained LIMIT: until no task is pending, active, scheduled, in retry or archived.
wait_drained() {
  local deadline=$((SECONDS + $1))
  while [ "$SECONDS" -lt "$deadline" ]; do
    [ -z "$(queues_left)" ] && return 0
    sleep 1
  done
  return 1
}

# finish N NAME FAULT FAULT_END LIMIT [NOTE]: wait for the activities and the
# queues, then record the scenario's row in results.tsv.
finish() {
  local n=$1 name=$2 fault=$3 fault_end=$4 limit=$5 note=${6:-}
  local done_at rec="-" sent acts lost dup links left status=PASS
  if done_at=$(wait_complete "$n" "$limit"); then rec="$(elapsed "$fault_end" "$done_at") s"; fi
  wait_sim_quiet "${DRAIN:-60}" || note+=" the simulator still had deliveries in flight;"
  wait_drained "${DRAIN:-60}" || true
  sleep 2 # a late duplicate would show up now
  sent=$(expected | wc -l)
  acts=$(present "$n" | wc -l)
  lost=$(lost_ids "$n" | wc -l)
  dup=$(duplicates "$n")
  links=$(dup_links "$n")
  left=$(queues_left)
  [ "$sent" -gt 0 ] || { status=FAIL; note+=" no mail was accepted by the simulator;"; }
  [ "$lost" -eq 0 ] || { status=FAIL; note+=" lost: $(lost_ids "$n" | head -3 | tr '\n' ' ');"; }
  [ "${dup:-x}" = 0 ] && [ "${links:-x}" = 0 ] || { status=FAIL; note+=" duplicates: subjects=$dup links=$links;"; }
  [ -z "$left" ] || { status=FAIL; note+=" tasks left: $left;"; }
  note+=" sim notifications: $(sim_notes);"
  note+=" worker restarts/errors: $(grep -c level=ERROR "$SD/worker.log" 2>/dev/null || true) error lines;"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$name" "$fault" "$sent" "$acts" "$lost" "$((dup + links))" \
    "$rec" "${left:-none}" "$status" "$note" >>"$CH/results.tsv"
  say "-- s$n $name: sent=$sent activities=$acts lost=$lost dup=$((dup + links)) recovery=$rec left=${left:-none} => $status"
  env_down
}

# fail_setup N NAME FAULT: record a scenario that could not even start.
fail_setup() {
  printf '%s\t%s\t%s\t0\t0\t-\t-\t-\t-\tFAIL\tsetup failed (see %s)\n' "$1" "$2" "$3" "$SD" >>"$CH/results.tsv"
  say "-- s$1 $2: setup failed => FAIL (see $SD)"
  env_down
}

# --------------------------------------------------------------- results ----

print_table() {
  printf '| # | scenario | fault | mails | activities | lost | dup | recovery | tasks left | result |\n'
  printf '|---|---|---|---:|---:|---:|---:|---:|---|---|\n'
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | **%s** |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }' "$CH/results.tsv"
}

# kept_rows DOC row|note|run: the table rows and notes of the previous
# results in the doc whose scenarios this run did not run (a selection keeps
# the others), or the run they come from.
kept_rows() {
  local doc=$1 kind=$2 ran
  ran=" $(cut -f1 "$CH/results.tsv" | tr '\n' ' ') "
  [ -f "$doc" ] || return 0
  awk -v kind="$kind" -v ran="$ran" '
    /chaos:results:begin/ { f = 1; next }
    /chaos:results:end/ { f = 0 }
    !f { next }
    kind == "row" && /^\| [0-9]+ \|/ { split($0, a, " "); if (index(ran, " " a[2] " ") == 0) print }
    kind == "note" && /^- [0-9]+ / { split($0, a, " "); if (index(ran, " " a[2] " ") == 0) print }
    kind == "run" && /^Run `/ { run = $0; sub(/^Run /, "", run) }
    kind == "run" && /^\(the oldest: `/ { origin = $0; sub(/^\(the oldest: /, "", origin); sub(/\)\.$/, "", origin) }
    END { if (kind == "run") print (origin != "" ? origin : run) }' "$doc"
}

write_doc() {
  local doc=docs/RELIABILITY.md tmp kept
  tmp=$(mktemp)
  kept=$(kept_rows "$doc" row)
  {
    echo "<!-- chaos:results:begin (written by deploy/local/chaos.sh; edit outside the markers) -->"
    echo "Run \`$RUN_CMD\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $((SECONDS - T0)) s in all."
    if [ -n "$kept" ]; then
      echo "Scenarios $(cut -f1 "$CH/results.tsv" | tr '\n' ' ')ran now; the other rows are kept from earlier runs"
      echo "(the oldest: $(kept_rows "$doc" run))."
    fi
    echo "Machine: $(uname -srm), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')),"
    echo "$(awk '/MemTotal/ { printf "%.0f GB RAM", $2 / 1048576 }' /proc/meminfo); $(go version | cut -d' ' -f3),"
    echo "$(redis-server --version | cut -d' ' -f1-3) (AOF, appendfsync everysec), $("$PG_BIN/postgres" --version)."
    echo
    # awk, not head: head would close the pipe early, and SIGPIPE under pipefail ends the script.
    { print_table | awk 'NR <= 2'; { print_table | awk 'NR > 2'; [ -z "$kept" ] || echo "$kept"; } | sort -t'|' -k2,2n; }
    echo
    echo "Per scenario (raw notes):"
    echo
    { awk -F'\t' '{ printf "- %s %s: %s\n", $1, $2, $11 }' "$CH/results.tsv"; kept_rows "$doc" note; } | sort -k2,2n
    echo "<!-- chaos:results:end -->"
  } >"$tmp"
  if [ -f "$doc" ] && grep -q 'chaos:results:begin' "$doc"; then
    awk -v f="$tmp" '
      /chaos:results:begin/ { while ((getline l < f) > 0) print l; skip = 1; next }
      /chaos:results:end/ { skip = 0; next }
      !skip { print }' "$doc" >"$doc.tmp" && mv "$doc.tmp" "$doc"
  else
    { echo "# Reliability under faults"; echo; cat "$tmp"; } >>"$doc"
  fi
  rm -f "$tmp"
  say "results written to $doc"
}
RUN_CMD=${RUN_CMD:-${CHAOS_SCENARIOS:+CHAOS_SCENARIOS=\"$CHAOS_SCENARIOS\" }make chaos}

. "$root/deploy/local/chaos/scenarios.sh"
