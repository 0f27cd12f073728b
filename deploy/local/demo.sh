#!/usr/bin/env bash
# The product end to end on this machine: the Graph simulator with the demo
# tenant (configs/demo/tenant.yaml), the connector against a fresh SQLite
# database with the demo CRM (configs/demo/crm.json), subscriptions created
# through the real validation handshake, the backfill, a stream of new mails,
# and a report. Run through `make demo` (which builds and makes Redis
# available first). DEMO_HOLD=1 keeps it running until Ctrl-C.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"
set -a; . var/services.env; set +a

ensure_pkg curl curl
demo="$root/var/demo"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
rm -rf "$demo"
mkdir -p "$demo"

free_port() { local p=$1; while ! port_free "$p"; do p=$((p + 1)); done; echo "$p"; }
sim_port=$(free_port 8443)
web_port=$(free_port 8080)
metrics_port=$(free_port 9090)
tenant=84bd8158-6d4d-4958-8b9f-9d6445542f95
client=3f6c1b0e-5d2a-4c7e-9a1b-2e8f4d6c9a10
secret="demo~$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
printf '%s' "$secret" > "$demo/client-secret"
chmod 600 "$demo/client-secret"

# The demo gets its own Redis database, emptied first.
redis_db=5
redis_base=${REDIS_URL%/*}
redis-cli -u "$redis_base/$redis_db" flushdb >/dev/null

export CONNECTOR_DATABASE_URL="sqlite://$demo/connector.db"
export CONNECTOR_REDIS_URL="$redis_base/$redis_db"
export CONNECTOR_MASTER_KEY_FILE="$demo/master.key"
export CONNECTOR_DOCUMENTS_URL="file://$demo/documents"
export CONNECTOR_GRAPH_URL="https://127.0.0.1:$sim_port/v1.0"
export CONNECTOR_AUTHORITY_URL="https://127.0.0.1:$sim_port"
export CONNECTOR_EXTRA_CA_FILE="$demo/graphsim-ca.pem"
export CONNECTOR_LISTEN="127.0.0.1:$web_port"
# /metrics and /readyz are served on their own, internal address.
export CONNECTOR_METRICS_LISTEN="127.0.0.1:$metrics_port"
# Real Graph needs a public HTTPS URL; the simulator also accepts loopback HTTP.
export CONNECTOR_PUBLIC_URL="http://127.0.0.1:$web_port"
export CONNECTOR_OPS_PASSWORD_FILE="$demo/ops-password"
connector="$root/bin/connector"
ops_password="demo-$(head -c 9 /dev/urandom | base64 | tr -d '/+=')"
printf '%s\n' "$ops_password" | "$connector" ops password --out "$CONNECTOR_OPS_PASSWORD_FILE" >/dev/null

say "== Graph simulator with the demo tenant on https://127.0.0.1:$sim_port"
"$root/bin/graphsim" --listen "127.0.0.1:$sim_port" --scenario configs/demo/tenant.yaml \
  --tenant-id "$tenant" --client-id "$client" --client-secret "$secret" \
  --ca-out "$demo/graphsim-ca.pem" --allow-http-notify >"$demo/graphsim.log" 2>&1 &
pids+=($!)
wait_for 30 curl -sfk "https://127.0.0.1:$sim_port/_sim/state" || { say "graphsim did not start; see $demo/graphsim.log"; exit 1; }

say "== database, CRM and credentials"
"$connector" migrate
"$connector" import --crm configs/demo/crm.json
"$connector" credentials set --tenant-id "$tenant" --client-id "$client" --secret-file "$demo/client-secret" \
  --expires "$(date -u -d '+45 days' +%F)" 2>/dev/null
say "== mailboxes to sync"
"$connector" mailbox list

say "== connector serve on $CONNECTOR_PUBLIC_URL (log: $demo/connector.log)"
"$connector" serve --role=all >"$demo/connector.log" 2>&1 &
pids+=($!)
wait_for 30 curl -sf "http://127.0.0.1:$metrics_port/readyz" || { say "the connector did not start; see $demo/connector.log"; exit 1; }

say "== waiting for the subscriptions (validation handshake) and the backfill"
start=$SECONDS
"$connector" report --wait-synced 110s
say "(first report after $((SECONDS - start)) s)"

say ""
say "== connector check (SMTP is not configured in the demo, so that line fails)"
"$connector" check || true

seconds=${DEMO_STREAM_SECONDS:-45}
say ""
say "== new mails arrive live from the simulator; a second report in $seconds s"
sleep "$seconds"
"$connector" report --top 8
cat <<INFO

  Status page:     http://127.0.0.1:$web_port/ops/        (password: $ops_password)
  Queue dashboard: http://127.0.0.1:$web_port/ops/queues/
  Metrics:         http://127.0.0.1:$metrics_port/metrics   (internal listener, metrics_listen)
  Simulator state: https://127.0.0.1:$sim_port/_sim/state
  Why is a mail (not) in the CRM?  CONNECTOR_DATABASE_URL=$CONNECTOR_DATABASE_URL bin/connector explain <message id>
INFO
if [ "${DEMO_HOLD:-0}" = 1 ]; then
  say "running until Ctrl-C"
  wait
fi
