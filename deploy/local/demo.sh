#!/usr/bin/env bash
# The product end to end on this machine, against the demo CRM in a fresh
# SQLite database under var/demo. Run through `make demo`.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root=$(repo_root)
cd "$root"
set -a; . var/services.env; set +a

demo="$root/var/demo"
rm -rf "$demo"
mkdir -p "$demo"
export CONNECTOR_DATABASE_URL="sqlite://$demo/connector.db"
export CONNECTOR_REDIS_URL="$REDIS_URL"
export CONNECTOR_MASTER_KEY_FILE="$demo/master.key"
export CONNECTOR_DOCUMENTS_URL="file://$demo/documents"
connector="$root/bin/connector"

say "== migrate"
"$connector" migrate
say "== import configs/demo/crm.json"
"$connector" import --crm configs/demo/crm.json
say "== mailboxes to sync"
"$connector" mailbox list
say "== demo data in $demo"
