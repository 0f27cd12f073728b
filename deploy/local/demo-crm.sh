#!/usr/bin/env bash
# The CRM's side of the demo (docs/CRM-API.md), run by demo.sh once the
# backfill is done, with the demo's environment: an API key, a webhook
# endpoint that verifies signatures, the change feed read with curl, and a
# customer and contact added through the API for a sender whose mail was
# ignored as no_match — that mail then arrives as activities (retroactive
# matching), and so do their signed webhooks.
#
# Needs: $connector, $demo, $web_port, free_port, say, wait_for, pids.
set -euo pipefail

ensure_pkg python3 python3
api="http://127.0.0.1:$web_port/api/v1"
say ""
say "== The CRM's side: API, change feed, signed webhooks, retroactive matching (docs/CRM-API.md)"
token=$("$connector" apikey create --name demo-crm --scope write 2>/dev/null)
say "API key:   connector apikey create --name demo-crm --scope write  →  ${token:0:12}… (only its hash is stored)"

hook_port=$(free_port 8090)
"$connector" webhook add --url "http://127.0.0.1:$hook_port/hooks" --allow-private 2>/dev/null >"$demo/webhook-secret"
python3 "$(dirname "$0")/webhook-receiver.py" "$hook_port" "$demo/webhook-secret" "$demo/webhooks.jsonl" \
  2>"$demo/webhook-receiver.log" &
pids+=($!)
say "Webhook:   connector webhook add --url http://127.0.0.1:$hook_port/hooks --allow-private"
say "           (a receiver in Python verifies each signature: deploy/local/webhook-receiver.py)"

say ""
say "-- the change feed, a first page of two activities:  curl \"$api/activities?limit=2\" -H \"Authorization: Bearer …\""
curl -sS "$api/activities?limit=2" -H "Authorization: Bearer $token" |
  python3 -c 'import json,sys; p=json.load(sys.stdin); [i.update(body_text=i["body_text"][:60]+"…") for i in p["items"]]; print(json.dumps(p, ensure_ascii=False, indent=2))'

# feed CUSTOMER pages through the whole feed with the cursor and prints the
# number of activities and those of CUSTOMER.
feed() {
  python3 - "$api" "$token" "$1" <<'PY'
import json, sys, urllib.request
api, token, customer = sys.argv[1], sys.argv[2], int(sys.argv[3])
cursor, seen, mine, pages = "", set(), {}, 0
while True:
    req = urllib.request.Request(f"{api}/activities?limit=1000&after={cursor}", headers={"Authorization": "Bearer " + token})
    page = json.load(urllib.request.urlopen(req))
    pages += 1
    for item in page["items"]:
        seen.add(item["id"])
        if item["customer_id"] == customer:
            mine[item["id"]] = item
    if not page["items"]:
        break
    cursor = page["next_cursor"]
print(f"{len(seen)} activities read in {pages} pages; next_cursor {cursor}; customer {customer}: {len(mine)}")
for item in mine.values():
    print(f"  activity {item['id']}: {item['direction']} \"{item['subject']}\" ({item['rule']}, contact {item['contact_id']}, {len(item['mailboxes'])} mailbox)")
PY
}
say ""
say "-- the whole feed, page by page with next_cursor:"
feed 900

say ""
say "-- Markus's \"Lieferavis Auftrag 88121\" mails from versand@elektro-grosshandel-nord.de were ignored (no_match)."
say "   The CRM adds the company and the contact through the API:"
say "   curl -X PUT $api/customers/900 …   curl -X PUT $api/contacts/9001 …"
curl -sS -X PUT "$api/customers/900" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"number":"20900","name":"Elektro-Großhandel Nord GmbH","email":"info@elektro-grosshandel-nord.de"}'
echo
curl -sS -X PUT "$api/contacts/9001" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"customer_id":900,"name":"Versand Elektro-Großhandel Nord","email":"versand@elektro-grosshandel-nord.de"}'
echo
say "   … the connector re-decides the ignored mails of the last backfill_days in the background"
say "   (within ~15 s: changes in that window are decided together) and imports the ones that now match."

imported() { [ "$(feed 900 | head -1 | sed -E 's/.*customer 900: ([0-9]+).*/\1/')" -ge 1 ]; }
if wait_for 90 imported; then
  feed 900
else
  say "no retroactive import within 90 s; see $demo/connector.log"
  exit 1
fi
hooked() { grep -q '"customer_id": 900' "$demo/webhooks.jsonl" 2>/dev/null; }
if wait_for 30 hooked; then
  say ""
  say "-- signed webhooks received and verified (of $(wc -l <"$demo/webhooks.jsonl") so far), e.g.:"
  grep '"customer_id": 900' "$demo/webhooks.jsonl" | head -2
else
  say "no webhook for the new activities within 30 s; see $demo/webhook-receiver.log and $demo/connector.log"
  exit 1
fi
