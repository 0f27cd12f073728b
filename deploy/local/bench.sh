#!/usr/bin/env bash
# The load suite (make bench): the real binaries against each other on this
# machine, measured against DESIGN §9.
#   1. intake    wrk (-t2 -c64, one notification per request, a new message
#                each) against a bare 202 handler (loadgen bare), the floor
#                (the bare handler plus one pipelined enqueue: loadgen bare
#                --enqueue) and `connector serve --role=web` with the real
#                Redis, side by side in each round
#   2. pipeline  graphsim + `connector serve --role=all`, loadgen injecting
#                mail as fast as possible, then at a steady 50/s, on
#                PostgreSQL and on SQLite; worker RSS (VmHWM)
#   3. backfill  a 10,000-message mailbox, 20 ms Graph latency, 4 concurrent
#                requests per mailbox, synced by a fresh connector
#   4. scale     for each N (1,000 and 10,000): a generated tenant of N users
#                (graphsim generate), a CRM with N employees (loadgen crm),
#                PostgreSQL, `serve --role=all` + a second `--role=worker`,
#                20 ms Graph latency and 4 concurrent requests per mailbox;
#                time until every mailbox is subscribed and first-synced,
#                Graph requests and 429s, an idle upkeep round's database
#                time, a burst of one mail per mailbox, RSS, Redis memory
#                and keys, database size, and the cost per mailbox
# It prints a table and rewrites the "Load suite (make bench)" section of
# docs/PERFORMANCE.md (between the make-bench markers; the scale phase its
# own "Scale (make bench)" section between the make-bench-scale markers).
# Knobs (environment): BENCH_ROUNDS (intake rounds, 5), BENCH_WRK_SECONDS (10),
# BENCH_COUNT (mails of the throughput run, 5000), BENCH_RATE_SECONDS (15),
# BENCH_BACKFILL (10000), BENCH_PHASES ("intake pipeline backfill scale"),
# BENCH_SCALE_N ("1000 10000"), BENCH_SCALE_TIMEOUT (seconds per wait, 1800),
# BENCH_WRITE_DOC (1).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"
set -a; . var/services.env; set +a

rounds=${BENCH_ROUNDS:-5}
wrk_seconds=${BENCH_WRK_SECONDS:-10}
count=${BENCH_COUNT:-5000}
rate_seconds=${BENCH_RATE_SECONDS:-15}
backfill_n=${BENCH_BACKFILL:-10000}
phases=${BENCH_PHASES:-intake pipeline backfill scale}
scale_ns=${BENCH_SCALE_N:-1000 10000}
scale_timeout=${BENCH_SCALE_TIMEOUT:-1800}
write_doc=${BENCH_WRITE_DOC:-1}

ensure_pkg wrk wrk
ensure_pkg redis-cli redis-tools
bin="$root/bin"
for b in connector graphsim loadgen; do
  [ -x "$bin/$b" ] || { say "missing $bin/$b: run make build (make bench does)"; exit 1; }
done

out="$root/var/bench"
rm -rf "$out"
mkdir -p "$out"
results="$out/results.txt" # one "key=value" line per figure
: > "$results"
result() { printf '%s=%s\n' "$1" "$2" >> "$results"; }

pids=()
stop_all() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}
trap stop_all EXIT INT TERM

free_port() { local p=$1; while ! port_free "$p"; do p=$((p + 1)); done; echo "$p"; }
redis_base=${REDIS_URL%/*}
tenant=84bd8158-6d4d-4958-8b9f-9d6445542f95
client=3f6c1b0e-5d2a-4c7e-9a1b-2e8f4d6c9a10

# sim_start DIR [SCENARIO]: graphsim on a free port; sets sim_url.
sim_start() {
  local dir=$1 scenario=${2:-} port
  port=$(free_port 18443)
  secret="bench~$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
  printf '%s' "$secret" > "$dir/client-secret"
  "$bin/graphsim" --listen "127.0.0.1:$port" ${scenario:+--scenario "$scenario"} \
    --tenant-id "$tenant" --client-id "$client" --client-secret "$secret" \
    --ca-out "$dir/graphsim-ca.pem" --allow-http-notify >"$dir/graphsim.log" 2>&1 &
  pids+=($!)
  sim_url="https://127.0.0.1:$port"
  wait_for 60 curl -sfk "$sim_url/_sim/state" || { say "graphsim did not start; see $dir/graphsim.log"; exit 1; }
  # Graph knows only existing users (404 ErrorInvalidUser otherwise): the demo CRM's mailboxes.
  for m in $(grep -o '"exchange_mailbox": *"[^"]*"' configs/demo/crm.json | cut -d'"' -f4); do
    curl -sfk -X POST -H 'Content-Type: application/json' --data "{\"mail\":\"$m\"}" "$sim_url/_sim/users" >/dev/null
  done
}

# connector_env DIR DATABASE_URL REDIS_DB: the connector's environment.
connector_env() {
  local dir=$1 port metrics_port
  port=$(free_port 18080)
  metrics_port=$(free_port $((port + 1000)))
  redis-cli -u "$redis_base/$3" flushdb >/dev/null
  export CONNECTOR_DATABASE_URL=$2
  export CONNECTOR_REDIS_URL="$redis_base/$3"
  export CONNECTOR_MASTER_KEY_FILE="$dir/master.key"
  export CONNECTOR_DOCUMENTS_URL="file://$dir/documents"
  export CONNECTOR_GRAPH_URL="${sim_url:-https://127.0.0.1:1}/v1.0"
  export CONNECTOR_AUTHORITY_URL="${sim_url:-https://127.0.0.1:1}"
  if [ -n "${sim_url:-}" ]; then export CONNECTOR_EXTRA_CA_FILE="$dir/graphsim-ca.pem"; else unset CONNECTOR_EXTRA_CA_FILE; fi
  export CONNECTOR_LISTEN="127.0.0.1:$port"
  export CONNECTOR_PUBLIC_URL="http://127.0.0.1:$port"
  # /metrics and /readyz are on the internal listener.
  export CONNECTOR_METRICS_LISTEN="127.0.0.1:$metrics_port"
  unset CONNECTOR_OPS_PASSWORD_FILE
}

# connector_setup DIR: migrate, demo CRM, credentials.
connector_setup() {
  "$bin/connector" migrate >/dev/null
  "$bin/connector" import --crm configs/demo/crm.json >/dev/null
  "$bin/connector" credentials set --tenant-id "$tenant" --client-id "$client" --secret-file "$1/client-secret" \
    --expires "$(date -u -d '+45 days' +%F)" >/dev/null 2>&1
}

# connector_start DIR ROLE: connector serve in the background; sets conn_pid.
connector_start() {
  "$bin/connector" serve --role="$2" >"$1/connector.log" 2>&1 &
  conn_pid=$!
  pids+=($conn_pid)
  wait_for 60 curl -sf "http://$CONNECTOR_METRICS_LISTEN/readyz" || { say "the connector did not start; see $1/connector.log"; exit 1; }
}

# fresh_postgres NAME: a new database on the PostgreSQL server; prints its URL.
fresh_postgres() {
  psql -q "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
  local base=${POSTGRES_URL%%\?*} query=""
  [[ $POSTGRES_URL == *\?* ]] && query="?${POSTGRES_URL#*\?}"
  echo "${base%/*}/$1$query"
}

kv() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" "$1" | tail -1; }
stats() { # min–max and median of the numbers on stdin
  sort -g | awk '{v[NR]=$1} END {if (NR==0) {print "-"; exit} printf "%s–%s (median %s)", v[1], v[NR], v[int((NR+1)/2)]}'
}

# ---------------------------------------------------------------- intake
phase_intake() {
  local dir="$out/intake" lua bare_port i
  mkdir -p "$dir"
  say "== intake: wrk -t2 -c64 -d${wrk_seconds}s, bare handler vs connector serve --role=web, $rounds rounds"
  sim_url=""
  connector_env "$dir" "sqlite://$dir/connector.db" 7
  "$bin/connector" migrate >/dev/null
  connector_start "$dir" web
  local cs
  cs=$("$bin/loadgen" clientstate --employee 1)
  lua="$dir/notify.lua"
  cat > "$lua" <<'LUA'
-- One Graph change notification per request, each naming a new message
-- (so that no enqueue is deduplicated); clientState from CLIENT_STATE.
local cs = os.getenv("CLIENT_STATE")
local run = os.getenv("RUN_ID") or "0"
local user = "4c1a7b1e-9f3a-4f0e-8d5c-2b1f0e6a9c11"
local n = 0
function setup(thread)
  n = n + 1
  thread:set("tid", n)
end
function init(args)
  seq = 0
  hdr = {["Content-Type"] = "application/json"}
end
function request()
  seq = seq + 1
  local id = string.format("AAkALgAAAAAAHYQDEapmEc2byACqAC-R%s-T%d-%010d=", run, tid, seq)
  local res = "Users/" .. user .. "/Messages/" .. id
  local body = '{"value":[{"subscriptionId":"7f105c7d-2dc5-4530-97cd-4e7ae6534c07",' ..
    '"subscriptionExpirationDateTime":"2026-12-03T10:00:00.0000000Z","changeType":"created",' ..
    '"resource":"' .. res .. '","resourceData":{"@odata.type":"#Microsoft.Graph.Message",' ..
    '"@odata.id":"' .. res .. '","@odata.etag":"W/\\"CQAAABYAAACpXEfd8n5iSqxXwOX1qpFyAAAAnlbaGQ==\\"",' ..
    '"id":"' .. id .. '"},"clientState":"' .. cs .. '","tenantId":"84bd8158-6d4d-4958-8b9f-9d6445542f95"}]}'
  return wrk.format("POST", "/graph/notifications", hdr, body)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT req_s=%.0f p50_ms=%.2f p99_ms=%.2f requests=%d errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status))
end
LUA
  bare_port=$(free_port 18099)
  "$bin/loadgen" bare --listen "127.0.0.1:$bare_port" 2>"$dir/bare.log" &
  pids+=($!)
  wait_for 20 port_free_not "$bare_port"
  # The floor: the bare handler plus one pipelined asynq enqueue per request
  # (on its own Redis database), i.e. what any handler that queues the
  # notification before answering costs at the least.
  local floor_port
  floor_port=$(free_port $((bare_port + 1)))
  redis-cli -u "$redis_base/5" flushdb >/dev/null
  "$bin/loadgen" bare --listen "127.0.0.1:$floor_port" --enqueue "$redis_base/5" 2>"$dir/floor.log" &
  pids+=($!)
  wait_for 20 port_free_not "$floor_port"
  local bare_url="http://127.0.0.1:$bare_port" floor_url="http://127.0.0.1:$floor_port" conn_url=$CONNECTOR_PUBLIC_URL cmp_url=""
  if [ -n "${BENCH_INTAKE_COMPARE:-}" ]; then
    # Another connector binary (e.g. a build without a change) measured in the
    # same rounds, on its own Redis database.
    # (It must know metrics_listen: a build from before that key refuses it.)
    local cmp_port cmp_metrics_port
    cmp_port=$(free_port $((${CONNECTOR_LISTEN##*:} + 1)))
    cmp_metrics_port=$(free_port $((${CONNECTOR_METRICS_LISTEN##*:} + 1)))
    redis-cli -u "$redis_base/6" flushdb >/dev/null
    CONNECTOR_REDIS_URL="$redis_base/6" CONNECTOR_LISTEN="127.0.0.1:$cmp_port" CONNECTOR_METRICS_LISTEN="127.0.0.1:$cmp_metrics_port" \
      "$BENCH_INTAKE_COMPARE" serve --role=web >"$dir/compare.log" 2>&1 &
    pids+=($!)
    cmp_url="http://127.0.0.1:$cmp_port"
    wait_for 60 curl -sf "http://127.0.0.1:$cmp_metrics_port/readyz" || { say "the compare connector did not start; see $dir/compare.log"; exit 1; }
  fi
  # run_wrk NAME URL SECONDS ROUND [REDIS_URL]: one wrk run; the queue's
  # Redis database is emptied first, so that every run starts from the same
  # state (with workers draining it, a real queue stays short; a million
  # tasks left by the previous run would slow the next one's enqueues).
  run_wrk() {
    [ -n "${5:-}" ] && redis-cli -u "$5" flushdb >/dev/null
    CLIENT_STATE=$cs RUN_ID="$4$RANDOM" timeout $(( $3 + 20 )) wrk -t2 -c64 -d"$3"s --latency -s "$lua" "$2/graph/notifications" > "$dir/wrk-$1-$4.txt" 2>&1 || true
  }
  run_wrk bare "$bare_url" 2 warm; run_wrk floor "$floor_url" 2 warm "$redis_base/5"; run_wrk connector "$conn_url" 2 warm "$CONNECTOR_REDIS_URL"
  [ -n "$cmp_url" ] && run_wrk compare "$cmp_url" 2 warm "$redis_base/6"
  for i in $(seq "$rounds"); do
    run_wrk bare "$bare_url" "$wrk_seconds" "$i"
    run_wrk floor "$floor_url" "$wrk_seconds" "$i" "$redis_base/5"
    run_wrk connector "$conn_url" "$wrk_seconds" "$i" "$CONNECTOR_REDIS_URL"
    if [ -n "$cmp_url" ]; then
      run_wrk compare "$cmp_url" "$wrk_seconds" "$i" "$redis_base/6"
      local xr xp
      xr=$(kv "$dir/wrk-compare-$i.txt" req_s); xp=$(kv "$dir/wrk-compare-$i.txt" p99_ms)
      say "   round $i: compare ($BENCH_INTAKE_COMPARE) ${xr:-?} req/s (p99 ${xp:-?} ms)"
      result "intake_compare_$i" "${xr:-?} req/s (p99 ${xp:-?} ms), ratio $(awk -v a="${xr:-0}" -v b="$(kv "$dir/wrk-bare-$i.txt" req_s)" 'BEGIN {printf "%.2f", a / (b ? b : 1)}')"
    fi
    local br bp cr cp ce
    br=$(kv "$dir/wrk-bare-$i.txt" req_s); bp=$(kv "$dir/wrk-bare-$i.txt" p99_ms)
    cr=$(kv "$dir/wrk-connector-$i.txt" req_s); cp=$(kv "$dir/wrk-connector-$i.txt" p99_ms)
    ce=$(kv "$dir/wrk-connector-$i.txt" non2xx)
    local fr fp ratio fratio cfratio
    fr=$(kv "$dir/wrk-floor-$i.txt" req_s); fp=$(kv "$dir/wrk-floor-$i.txt" p99_ms)
    ratio=$(awk -v a="${cr:-0}" -v b="${br:-1}" 'BEGIN {printf "%.2f", a / b}')
    fratio=$(awk -v a="${fr:-0}" -v b="${br:-1}" 'BEGIN {printf "%.2f", a / b}')
    cfratio=$(awk -v a="${cr:-0}" -v b="${fr:-1}" 'BEGIN {printf "%.2f", a / (b ? b : 1)}')
    say "   round $i: bare ${br:-?} req/s (p99 ${bp:-?} ms), floor ${fr:-?} req/s (p99 ${fp:-?} ms), connector ${cr:-?} req/s (p99 ${cp:-?} ms, non-2xx ${ce:-?}), ratio $ratio (floor $fratio)"
    result "intake_round_$i" "bare ${br:-?} req/s (p99 ${bp:-?} ms) · floor ${fr:-?} req/s (p99 ${fp:-?} ms) · connector ${cr:-?} req/s (p99 ${cp:-?} ms) · ratio **$ratio** (floor/bare $fratio, connector/floor $cfratio)"
    echo "$ratio" >> "$dir/ratios"; echo "${cp:-999}" >> "$dir/p99s"; echo "${br:-0}" >> "$dir/bare"; echo "${cr:-0}" >> "$dir/conn"
    echo "${fr:-0}" >> "$dir/floor"; echo "$fratio" >> "$dir/fratios"; echo "$cfratio" >> "$dir/cfratios"
  done
  # Every 202 is a task: the last run's answered requests must all be queued
  # (a few more may be, answered after wrk stopped counting).
  local queued answered
  queued=$(redis-cli -u "$CONNECTOR_REDIS_URL" llen asynq:{critical}:pending)
  answered=$(kv "$dir/wrk-connector-$rounds.txt" requests)
  result intake_queued "$queued tasks queued for $answered requests answered in the last round"
  say "   last round: $answered requests answered, $queued tasks queued"
  if [ "${queued:-0}" -lt "${answered:-1}" ]; then
    say "intake lost tasks: $queued queued < $answered answered"; exit 1
  fi
  result intake_ratio "$(stats < "$dir/ratios")"
  result intake_p99 "$(stats < "$dir/p99s")"
  result intake_bare "$(stats < "$dir/bare")"
  result intake_conn "$(stats < "$dir/conn")"
  result intake_floor "$(stats < "$dir/floor")"
  result intake_floor_ratio "$(stats < "$dir/fratios")"
  result intake_conn_floor "$(stats < "$dir/cfratios")"
  stop_all
  redis-cli -u "$CONNECTOR_REDIS_URL" flushdb >/dev/null
  redis-cli -u "$redis_base/5" flushdb >/dev/null
  [ -n "$cmp_url" ] && redis-cli -u "$redis_base/6" flushdb >/dev/null
  return 0
}
port_free_not() { ! port_free "$1"; }

# ---------------------------------------------------------------- pipeline
phase_pipeline() {
  local dialect
  for dialect in postgres sqlite; do
    local dir="$out/pipeline-$dialect" db
    mkdir -p "$dir"
    say "== pipeline on $dialect: $count mails as fast as possible, then 50/s for ${rate_seconds}s"
    sim_start "$dir"
    if [ "$dialect" = postgres ]; then db=$(fresh_postgres connector_bench); else db="sqlite://$dir/connector.db"; fi
    connector_env "$dir" "$db" 8
    connector_setup "$dir"
    connector_start "$dir" all
    timeout 120 "$bin/connector" report --wait-synced 100s > "$dir/report.txt" 2>&1 || { say "mailboxes not synced; see $dir"; exit 1; }
    timeout 400 "$bin/loadgen" run --sim "$sim_url" --sim-ca "$dir/graphsim-ca.pem" --mailboxes 5 --count "$count" \
      --duplicates 2 --pid "$conn_pid" --timeout 360s --title "pipeline $dialect, as fast as possible" \
      --json "$dir/throughput.json" | tee "$dir/throughput.txt" >&2 || say "   (throughput run incomplete)"
    timeout 200 "$bin/loadgen" run --sim "$sim_url" --sim-ca "$dir/graphsim-ca.pem" --mailboxes 5 --rate 50 \
      --count $((50 * rate_seconds)) --pid "$conn_pid" --timeout 150s --title "pipeline $dialect, steady 50/s" \
      --json "$dir/latency.json" | tee "$dir/latency.txt" >&2 || say "   (latency run incomplete)"
    local j="$dir/throughput.json" l="$dir/latency.json"
    result "pipe_${dialect}_tp" "$(jq -r '"\(.activities_per_s|floor) activities/s (\(.activities_found) of \(.expected_activities), injected at \(.inject_rate|floor)/s, max backlog \(.max_backlog))"' "$j" 2>/dev/null || echo failed)"
    result "pipe_${dialect}_tp_lat" "$(jq -r '"p50 \(.latency_ms_p50_p95_p99[0]) / p95 \(.latency_ms_p50_p95_p99[1]) / p99 \(.latency_ms_p50_p95_p99[2]) ms"' "$j" 2>/dev/null || echo -)"
    result "pipe_${dialect}_lat" "$(jq -r '"p50 **\(.latency_ms_p50_p95_p99[0]) ms**, p95 \(.latency_ms_p50_p95_p99[1]), p99 \(.latency_ms_p50_p95_p99[2]) ms (\(.activities_found) of \(.expected_activities))"' "$l" 2>/dev/null || echo failed)"
    result "pipe_${dialect}_mem" "$(jq -r '"VmHWM \(.vmhwm_kb/1024|floor) MB (VmRSS max \(.max_rss_kb/1024|floor) MB)"' "$l" 2>/dev/null || echo -)"
    stop_all
    redis-cli -u "$CONNECTOR_REDIS_URL" flushdb >/dev/null
    [ "$dialect" = postgres ] && psql -q "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS connector_bench" >/dev/null 2>&1 || true
  done
}

# ---------------------------------------------------------------- backfill
phase_backfill() {
  local dir="$out/backfill"
  mkdir -p "$dir"
  say "== backfill: $backfill_n messages in one mailbox, 20 ms Graph latency, 4 concurrent requests per mailbox"
  cat > "$dir/tenant.yaml" <<YAML
users:
  - displayName: Anna Berger
    mail: anna.berger@dedenet.de
    messages:
      - folder: inbox
        received: -1h
        repeat: $backfill_n
        spacing: 1m
        message:
          subject: Lieferung Backfill
          from: {emailAddress: {address: sabine.schulz@schulz-technik.com}}
          toRecipients: [{emailAddress: {address: anna.berger@dedenet.de}}]
          body: {contentType: text, content: "Guten Tag, anbei die Unterlagen."}
faults: {latencyMs: 20, concurrencyLimit: 4}
YAML
  sim_start "$dir" "$dir/tenant.yaml"
  connector_env "$dir" "$(fresh_postgres connector_backfill)" 9
  connector_setup "$dir"
  local t0
  t0=$(date +%s%3N)
  connector_start "$dir" all
  timeout 200 "$bin/loadgen" backfill --expect "$backfill_n" --since-ms "$t0" --pid "$conn_pid" --timeout 180s \
    --json "$dir/backfill.json" | tee "$dir/backfill.txt" >&2 || say "   (backfill incomplete)"
  result backfill "$(jq -r '"mailboxes synced after **\(.synced_s*10|floor/10) s**; \(.activities) activities after \(.activities_s*10|floor/10) s (VmHWM \(.vmhwm_kb/1024|floor) MB)"' "$dir/backfill.json" 2>/dev/null || echo failed)"
  stop_all
  redis-cli -u "$CONNECTOR_REDIS_URL" flushdb >/dev/null
  psql -q "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS connector_backfill" >/dev/null 2>&1 || true
}

# ---------------------------------------------------------------- scale
# queue_idle URL SECONDS: waits until no asynq task is pending, active,
# scheduled or in retry (the periodic tasks' retention does not count).
queue_idle() {
  local url=$1 end=$(( $(date +%s) + $2 )) q n
  while [ "$(date +%s)" -lt "$end" ]; do
    n=0
    for q in critical default low; do
      n=$(( n + $(redis-cli -u "$url" llen "asynq:{$q}:pending") + $(redis-cli -u "$url" llen "asynq:{$q}:active") \
        + $(redis-cli -u "$url" zcard "asynq:{$q}:scheduled") + $(redis-cli -u "$url" zcard "asynq:{$q}:retry") ))
    done
    [ "$n" = 0 ] && return 0
    sleep 1
  done
  return 1
}
hwm_kb() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$1/status" 2>/dev/null || echo 0; }
redis_used() { redis-cli -u "$1" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }
pg_active_ms() { psql -Atq "$POSTGRES_URL" -c "SELECT COALESCE(active_time, 0) FROM pg_stat_database WHERE datname = '$1'"; }

phase_scale() {
  local n
  for n in $scale_ns; do scale_one "$n"; done
}

scale_one() {
  local n=$1 dir="$out/scale-$1" dbname=connector_scale
  mkdir -p "$dir"
  say "== scale: $n mailboxes, 20 ms Graph latency, 4 concurrent requests per mailbox, serve --role=all + --role=worker, PostgreSQL (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  cat > "$dir/tenant.yaml" <<YAML
generate: {users: $n, mail: "user{n}@scale.example"}
faults: {latencyMs: 20, concurrencyLimit: 4}
YAML
  sim_start "$dir" "$dir/tenant.yaml"
  connector_env "$dir" "$(fresh_postgres $dbname)" 4 # (the tests flush 6–15)
  "$bin/loadgen" crm --employees "$n" --mail "user{n}@scale.example" > "$dir/crm.json"
  "$bin/connector" migrate >/dev/null
  "$bin/connector" import --crm "$dir/crm.json" >/dev/null
  "$bin/connector" credentials set --tenant-id "$tenant" --client-id "$client" --secret-file "$dir/client-secret" \
    --expires "$(date -u -d '+45 days' +%F)" >/dev/null 2>&1
  local redis0 t0 pid_all pid_worker
  redis0=$(redis_used "$CONNECTOR_REDIS_URL")
  t0=$(date +%s%3N)
  connector_start "$dir" all
  pid_all=$conn_pid
  # The second worker: its own (internal) listeners, the same Redis and database.
  CONNECTOR_LISTEN="127.0.0.1:$(free_port $((${CONNECTOR_LISTEN##*:} + 1)))" \
    CONNECTOR_METRICS_LISTEN="127.0.0.1:$(free_port $((${CONNECTOR_METRICS_LISTEN##*:} + 1)))" \
    "$bin/connector" serve --role=worker >"$dir/worker.log" 2>&1 &
  pid_worker=$!
  pids+=($pid_worker)
  timeout $((scale_timeout + 60)) "$bin/loadgen" synced --sim "$sim_url" --sim-ca "$dir/graphsim-ca.pem" --expect "$n" \
    --since-ms "$t0" --timeout "${scale_timeout}s" --json "$dir/synced.json" | tee "$dir/synced.txt" >&2 || say "   (not every mailbox synced)"
  result "scale_${n}_load_synced" "$(cut -d' ' -f1-3 /proc/loadavg)"
  queue_idle "$CONNECTOR_REDIS_URL" "$scale_timeout" || say "   (queues not idle)"

  # An upkeep round when nothing is due: PostgreSQL's active_time of the
  # database (pg_stat_database, ms that backends spent executing statements)
  # across the round, less the idle rate measured just before. Backends
  # report it when they go idle, at the latest 10 s later, hence the waits.
  local a0 a1 b0 b1 idle_s=12 up_s
  sleep "$idle_s"
  a0=$(pg_active_ms $dbname); sleep "$idle_s"; a1=$(pg_active_ms $dbname)
  b0=$(pg_active_ms $dbname)
  "$bin/loadgen" upkeep --json "$dir/upkeep.json" >&2 || say "   (upkeep round failed)"
  sleep "$idle_s"
  b1=$(pg_active_ms $dbname)
  up_s=$(jq -r '.ensure_subscriptions_s + .health_check_s' "$dir/upkeep.json" 2>/dev/null || echo 0)
  local upkeep_ms
  upkeep_ms=$(awk -v a0="$a0" -v a1="$a1" -v b0="$b0" -v b1="$b1" -v w="$idle_s" -v u="$up_s" \
    'BEGIN {noise = (a1 - a0) / w; v = (b1 - b0) - noise * (w + u); if (v < 0) v = 0; printf "%.0f", v}')
  result "scale_${n}_upkeep_db_ms" "$upkeep_ms"
  result "scale_${n}_upkeep_wall" "$(jq -r '"subscription upkeep \(.ensure_subscriptions_s*1000|floor) ms, health check \(.health_check_s*1000|floor) ms"' "$dir/upkeep.json" 2>/dev/null || echo failed)"
  result "scale_${n}_upkeep_noise" "$(awk -v a0="$a0" -v a1="$a1" -v w="$idle_s" 'BEGIN {printf "%.0f", (a1 - a0) / w}')"
  say "   idle upkeep round: $upkeep_ms ms database time ($(get_r "scale_${n}_upkeep_wall"))"

  # A burst: one mail in every mailbox.
  timeout $((scale_timeout + 60)) "$bin/loadgen" run --sim "$sim_url" --sim-ca "$dir/graphsim-ca.pem" --all-mailboxes --count "$n" \
    --folders inbox:1 --attach-every 0 --pid "$pid_all" --timeout "${scale_timeout}s" --sample 1s \
    --title "burst: one mail in each of $n mailboxes" --json "$dir/burst.json" | tee "$dir/burst.txt" >&2 || say "   (burst incomplete)"
  result "scale_${n}_load_burst" "$(cut -d' ' -f1-3 /proc/loadavg)"

  # Memory, Redis, database.
  local h_all h_worker redis1 dbsize
  h_all=$(hwm_kb "$pid_all"); h_worker=$(hwm_kb "$pid_worker")
  redis1=$(redis_used "$CONNECTOR_REDIS_URL")
  dbsize=$(psql -Atq "$POSTGRES_URL" -c "SELECT pg_database_size('$dbname')")
  # Every key pattern in Redis and how many of its keys never expire.
  redis-cli -u "$CONNECTOR_REDIS_URL" --scan > "$dir/redis-keys.txt"
  sed 's/^/PTTL /' "$dir/redis-keys.txt" | redis-cli -u "$CONNECTOR_REDIS_URL" > "$dir/redis-ttls.txt"
  paste -d' ' "$dir/redis-ttls.txt" "$dir/redis-keys.txt" \
    | sed -E 's/ (.*)$/ \1/; s/[0-9a-f]{8}-[0-9a-f-]{27}/<uuid>/g; s/:[0-9a-f]{16,}/:<hex>/g; s/:[0-9]+(:|$)/:<n>\1/g' \
    | awk '{ttl=$1; $1=""; sub(/^ /, ""); n[$0]++; if (ttl == -1) p[$0]++} END {for (k in n) printf "%s\t%d\t%d\n", k, n[k], p[k]+0}' \
    | sort > "$dir/redis-patterns.txt"
  local persistent
  persistent=$(awk -F'\t' '{s += $3} END {print s+0}' "$dir/redis-patterns.txt")
  # A pattern with many keys that never expire grows with the mailboxes.
  local growing
  growing=$(awk -F'\t' '$3 > 10 {printf "%s`%s` (%d)", sep, $1, $3; sep=", "}' "$dir/redis-patterns.txt")
  result "scale_${n}_redis_keys" "$(wc -l < "$dir/redis-keys.txt") keys, $persistent without expiry; patterns with more than 10 such keys: ${growing:-none}"
  result "scale_${n}_synced" "$(jq -r '.synced_s*10|floor/10' "$dir/synced.json" 2>/dev/null || echo failed)"
  result "scale_${n}_synced_n" "$(jq -r '"\(.mailboxes) of '"$n"'"' "$dir/synced.json" 2>/dev/null || echo -)"
  result "scale_${n}_requests" "$(jq -r '.graph_requests' "$dir/synced.json" 2>/dev/null || echo 0)"
  result "scale_${n}_429" "$(jq -r '.graph_429' "$dir/synced.json" 2>/dev/null || echo 0)"
  result "scale_${n}_burst" "$(jq -r '"\((.total_seconds - .inject_seconds)*10|floor/10)"' "$dir/burst.json" 2>/dev/null || echo failed)"
  result "scale_${n}_burst_detail" "$(jq -r '"\(.activities_found) of \(.expected_activities) activities, injected in \(.inject_seconds*10|floor/10) s, p50 \(.latency_ms_p50_p95_p99[0]) ms, p99 \(.latency_ms_p50_p95_p99[2]) ms"' "$dir/burst.json" 2>/dev/null || echo -)"
  result "scale_${n}_rss" "web+worker $((h_all / 1024)) MB, worker $((h_worker / 1024)) MB"
  result "scale_${n}_rss_kb" "$(( h_all > h_worker ? h_all : h_worker ))"
  result "scale_${n}_redis" "$((redis1 - redis0))"
  result "scale_${n}_db" "$dbsize"
  stop_all
  redis-cli -u "$CONNECTOR_REDIS_URL" flushdb >/dev/null
  psql -q "$POSTGRES_URL" -c "DROP DATABASE IF EXISTS $dbname" >/dev/null 2>&1 || true
}
get_r() { sed -n "s/^$1=//p" "$results" | tail -1; }

ensure_pkg jq jq
started=$(date -u +'%Y-%m-%d %H:%M UTC')
for p in $phases; do "phase_$p"; done

# ---------------------------------------------------------------- report
get() { sed -n "s/^$1=//p" "$results" | tail -1; }
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
# The scale section (its own markers, so that BENCH_PHASES=scale leaves the
# load suite's figures alone and the other phases leave these).
scale_section() {
  local n row
  echo "<!-- make bench scale -->"
  echo "## Scale (make bench)"
  echo
  echo "\`deploy/local/bench.sh\` phase \`scale\`, per N: graphsim with a generated tenant of N users (\`generate:\`),"
  echo "20 ms latency on every Graph request and 4 concurrent requests per mailbox (429 MailboxConcurrency beyond);"
  echo "a CRM of N employees with enabled mailboxes (\`loadgen crm\`); PostgreSQL; \`connector serve --role=all\` and a"
  echo "second \`connector serve --role=worker\`; Redis. Everything on this machine: $(nproc) cores, $cpu, $mem RAM."
  echo "Measured $started while other work ran on the machine (load averages below), so the times are noisy."
  echo
  echo '```sh'
  echo "BENCH_PHASES=scale BENCH_SCALE_N=\"$scale_ns\" deploy/local/bench.sh   # make bench runs it with N = 1000 10000"
  echo '```'
  echo
  row="| what | target at 10,000 |"; for n in $scale_ns; do row="$row N = $n |"; done; echo "$row"
  row="|---|---|"; for n in $scale_ns; do row="$row---|"; done; echo "$row"
  line() { # LABEL TARGET KEY [SUFFIX]
    local r="| $1 | $2 |" n
    for n in $scale_ns; do r="$r $(get "scale_${n}_$3")${4:-} |"; done
    echo "$r"
  }
  line "every mailbox subscribed and first-synced, from the start of the processes (s)" "≤ 300 s" synced
  line "… mailboxes" "" synced_n
  line "… Graph requests on the way" "" requests
  line "… of them answered 429" "" 429
  line "… load average (1, 5, 15 min) at that moment" "" load_synced
  line "upkeep round when nothing is due: database time (ms, PostgreSQL active_time)" "≤ 1000 ms" upkeep_db_ms
  line "… wall time (asynq enqueued → completed)" "" upkeep_wall
  line "… idle database time per second before it (ms/s, subtracted)" "" upkeep_noise
  line "burst of one mail per mailbox: last mail injected → last activity stored (s)" "≤ 60 s" burst
  line "… details" "" burst_detail
  line "… load average at its end" "" load_burst
  line "RSS (VmHWM) of each connector process" "≤ 200 MB each" rss
  line "Redis used_memory, growth (bytes)" "" redis
  line "Redis keys at the end (those without expiry are asynq's fixed bookkeeping)" "no per-mailbox key without expiry" redis_keys
  line "database size (pg_database_size, bytes)" "" db
  echo
  echo "Cost per mailbox (each figure ÷ N):"
  echo
  row="| per mailbox |"; for n in $scale_ns; do row="$row N = $n |"; done; echo "$row"
  row="|---|"; for n in $scale_ns; do row="$row---|"; done; echo "$row"
  per() { # LABEL KEY SCALE FORMAT
    local r="| $1 |" n v
    for n in $scale_ns; do
      v=$(get "scale_${n}_$2")
      r="$r $(awk -v v="${v:-0}" -v n="$n" -v s="$3" -v f="$4" 'BEGIN {printf f, v * s / n}') |"
    done
    echo "$r"
  }
  per "Graph requests until subscribed and synced" requests 1 "%.2f"
  per "first-sync time (ms of the whole)" synced 1000 "%.1f"
  per "database bytes" db 1 "%.0f"
  per "Redis bytes" redis 1 "%.0f"
  per "idle upkeep database time (µs)" upkeep_db_ms 1000 "%.1f"
  per "RSS of the larger process (KB)" rss_kb 1 "%.2f"
  echo
  echo "Raw output: \`var/bench/scale-N/\` (loadgen JSON, Redis key patterns with their TTLs in redis-patterns.txt, logs)."
  echo "<!-- /make bench scale -->"
}

# write_section MARKER FILE: replaces the marked section of docs/PERFORMANCE.md (or appends it).
write_section() {
  local doc=docs/PERFORMANCE.md
  if grep -q "^<!-- $1 -->" "$doc"; then
    awk -v f="$2" -v m="$1" '
      $0 == "<!-- " m " -->" {while ((getline l < f) > 0) print l; skip=1; next}
      $0 == "<!-- /" m " -->" {skip=0; next}
      !skip {print}' "$doc" > "$doc.tmp" && mv "$doc.tmp" "$doc"
  else
    { echo; cat "$2"; } >> "$doc"
  fi
  say "wrote the $1 section of $doc"
}
if [[ " $phases " == *" scale "* ]]; then
  ssec=$(mktemp)
  scale_section > "$ssec"
  say ""
  cat "$ssec" >&2
  [ "$write_doc" = 1 ] && write_section "make bench scale" "$ssec"
  rm -f "$ssec"
fi
[[ " $phases " == *" intake "* || " $phases " == *" pipeline "* || " $phases " == *" backfill "* ]] || exit 0
section=$(mktemp)
{
  echo "<!-- make bench -->"
  echo "## Load suite (make bench)"
  echo
  echo "The real binaries against each other (\`deploy/local/bench.sh\`, run by \`make bench\`): graphsim,"
  echo "\`connector serve\`, Redis, PostgreSQL 15 / SQLite, \`loadgen\` and \`wrk\` all on the same machine."
  echo "Machine: $(nproc) cores, $cpu, $mem RAM, $(. /etc/os-release && echo "$PRETTY_NAME"), $(go version | cut -d' ' -f3)."
  echo "Measured $started; other work may have run on the machine at the same time."
  echo
  echo '```sh'
  echo "make bench    # = deploy/local/bench.sh after make build services; BENCH_PHASES=\"$phases\""
  echo '```'
  echo
  echo "| what | target | measured |"
  echo "|---|---|---|"
  if [ -n "$(get intake_ratio)" ]; then
    echo "| intake: connector (\`serve --role=web\`, real Redis) / bare 202 handler, wrk -t2 -c64 -d${wrk_seconds}s, $rounds rounds | ratio ≥ 0.5 | **$(get intake_ratio)** |"
    echo "| intake p99 (connector) | ≤ 25 ms | **$(get intake_p99) ms** |"
    echo "| intake req/s, bare / connector | — | $(get intake_bare) / $(get intake_conn) |"
    echo "| intake floor (\`loadgen bare --enqueue\`: bare + one pipelined asynq enqueue) | — | $(get intake_floor) req/s; floor/bare **$(get intake_floor_ratio)**; connector/floor **$(get intake_conn_floor)** |"
    for i in $(seq "$rounds"); do echo "| intake round $i | — | $(get "intake_round_$i") |"; done
    if [ -n "$(get intake_compare_1)" ]; then
      for i in $(seq "$rounds"); do echo "| intake round $i, compared binary (\`$BENCH_INTAKE_COMPARE\`) | — | $(get "intake_compare_$i") |"; done
    fi
  fi
  for d in postgres sqlite; do
    [ -n "$(get "pipe_${d}_tp")" ] || continue
    tgt="—"; [ $d = postgres ] && tgt="≥ 300/s"
    echo "| pipeline $d: $count mails as fast as possible, 5 mailboxes, folders inbox/sentitems/subfolder/junk, every 10th with a 64 KB attachment, every notification sent twice | $tgt | **$(get "pipe_${d}_tp")** |"
    echo "| … latency during that run (notification → activity) | — | $(get "pipe_${d}_tp_lat") |"
    tgt="—"; [ $d = postgres ] && tgt="p50 ≤ 250 ms"
    echo "| pipeline $d: steady 50 mails/s for ${rate_seconds}s | $tgt | $(get "pipe_${d}_lat") |"
    tgt="—"; [ $d = postgres ] && tgt="≤ 200 MB"
    echo "| connector memory (serve --role=all) after both runs | $tgt | $(get "pipe_${d}_mem") |"
  done
  if [ -n "$(get backfill)" ]; then
    echo "| backfill: $backfill_n messages, 20 ms latency, 4 concurrent per mailbox, fresh connector (PostgreSQL) | ≤ 30 s | $(get backfill) |"
  fi
  echo
  echo "Notes: the webhook enqueues through \`webhooks.AutoPipeline\` on a dedicated Redis client (internal/app"
  echo "\`webEnqueuer\`). Pipeline throughput counts activities from the first injection to the last activity;"
  echo "the junk mails (~10 %) are fetched and decided too but make no activity, so mails processed/s is about"
  echo "activities/s ÷ 0.9. Latency is injection (POST /_sim/messages) → the activity's created_at."
  echo
  echo "Raw output: \`var/bench/\` (wrk output, loadgen JSON with backlog and RSS samples, logs)."
  echo "<!-- /make bench -->"
} > "$section"
say ""
cat "$section" >&2
[ "$write_doc" = 1 ] && write_section "make bench" "$section"
rm -f "$section"
