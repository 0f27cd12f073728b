package ops_test

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/dedesales/exchange-connector/internal/ops"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// maxPageBytes is the most any /ops page may send at scale (issue 15).
const maxPageBytes = 300 << 10

// Shape of the scaled tenant: mailbox i (1-based) is
//   - inactive when i%97 == 0, else disabled when i%89 == 0, else access
//     denied when i%83 == 0, else enabled;
//   - in error when i%29 == 0 (its own error) or i%31 == 0 (a failed
//     subscription); without a subscription when i%13 == 0 (and not failed);
//   - silent (an open alert) when i%53 == 0.
//
// Decision j (1-based) is in mailbox 1 + j%n, made j seconds after the
// first; every tenth is imported, every tenth plus one a duplicate, the rest
// ignored (no_match, internal, ignored_domain in turn).
const (
	scaleInactive     = 97
	scaleDisabled     = 89
	scaleAccessDenied = 83
	scaleError        = 29
	scaleSubFailed    = 31
	scaleNoSub        = 13
	scaleSilent       = 53
)

// scaleStore returns a fresh PostgreSQL store with n mailboxes and m
// decisions, written in a few set-based statements (a million decisions in
// well under a minute).
func scaleStore(t testing.TB, n, m int) *store.Store {
	t.Helper()
	ctx := context.Background()
	dsn := storetest.CreatePostgresDB(t)
	st, err := store.Open(ctx, store.Postgres, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := testNow
	stmts := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO employees (id, name, email, email_norm, exchange_mailbox, mailbox_norm, active)
			SELECT i, 'Employee ' || lpad(i::text, 5, '0') || ' ' || (ARRAY['Berger','Kraus','Schulz','Alt','Zimmer'])[1 + i % 5],
			       'user' || i || '@dedenet.de', 'user' || i || '@dedenet.de', 'user' || i || '@dedenet.de', 'user' || i || '@dedenet.de',
			       i % $2 <> 0
			FROM generate_series(1, $1::int) i`, []any{n, scaleInactive}},
		{`INSERT INTO mailbox_states (employee_id, disabled, access_denied_at, last_error, last_sync_at, updated_at)
			SELECT i, i % $3 = 0, CASE WHEN i % $4 = 0 THEN $2::timestamptz END,
			       CASE WHEN i % $5 = 0 THEN 'Graph: ErrorItemNotFound: the specified object was not found in the store' ELSE '' END,
			       $2::timestamptz - i * interval '1 second', $2::timestamptz
			FROM generate_series(1, $1::int) i`, []any{n, now, scaleDisabled, scaleAccessDenied, scaleError}},
		{`INSERT INTO subscriptions (employee_id, graph_subscription_id, resource, expires_at, status, last_notification_at, last_error, created_at, updated_at)
			SELECT i, 'sub-' || i, '/users/user' || i || '@dedenet.de/messages', $2::timestamptz + (i % 7) * interval '1 day' + i * interval '1 second',
			       CASE WHEN i % $3 = 0 THEN 'failed' ELSE 'active' END,
			       CASE WHEN i % 3 = 0 THEN NULL ELSE $2::timestamptz - i * interval '1 second' END,
			       CASE WHEN i % $3 = 0 THEN 'Graph: subscription validation failed' ELSE '' END, $2::timestamptz, $2::timestamptz
			FROM generate_series(1, $1::int) i WHERE i % $4 <> 0 OR i % $3 = 0`, []any{n, now, scaleSubFailed, scaleNoSub}},
		{`INSERT INTO alerts (kind, subject_key, level, message, opened_at)
			SELECT 'mailbox_silent', 'user' || i || '@dedenet.de', '', 'No mail for 3 days', $2::timestamptz
			FROM generate_series(1, $1::int) i WHERE i % $3 = 0`, []any{n, now, scaleSilent}},
		{`INSERT INTO decisions (employee_id, graph_message_id, internet_message_id, folder, subject, direction, outcome, reason,
			                       candidates, matched_address, created_at)
			SELECT 1 + j % $1, 'AAMk-' || j, '<m' || j || '@example.org>', 'Inbox', 'Angebot Nr. ' || j || ' Wartungsvertrag', 'inbound',
			       CASE j % 10 WHEN 0 THEN 'imported' WHEN 1 THEN 'duplicate' ELSE 'ignored' END,
			       CASE WHEN j % 10 < 2 THEN 'matched' ELSE (ARRAY['no_match','internal','ignored_domain'])[1 + j % 3] END,
			       '["kunde' || j % 1000 || '@example.org"]', CASE WHEN j % 10 < 2 THEN 'kunde' || j % 1000 || '@example.org' ELSE '' END,
			       $3::timestamptz - ($2::int - j) * interval '1 second'
			FROM generate_series(1, $2::int) j`, []any{n, m, now}},
		// A full week of the charts' rollup, every verdict in every latency
		// bucket and shard (more rows than real mail fills), and every
		// active mailbox in its first sync: the status page's panels at
		// their largest.
		{`INSERT INTO decision_hours (hour, outcome, reason, latency_le_ms, shard, n)
			SELECT date_trunc('hour', $1::timestamptz) - h * interval '1 hour', v.outcome, v.reason, b, sh, 1 + (h + sh) % 7
			FROM generate_series(0, 167) h,
			     (VALUES ('imported', 'matched'), ('duplicate', 'matched'), ('ignored', 'no_match'), ('ignored', 'internal'),
			             ('ignored', 'ignored_domain'), ('ignored', 'excluded_folder'), ('ignored', 'draft')) v (outcome, reason),
			     unnest(ARRAY[-1, 500, 1000, 2000, 5000, 10000, 30000, 60000, 120000, 300000, 600000, 1800000, 3600000]::bigint[]) b,
			     generate_series(0, 3) sh`, []any{now}},
		{`INSERT INTO sync_progress (employee_id, started_at, updated_at, folders_total, folders_done, messages_seen, messages_done, items_total, items_done, folder)
			SELECT i, $2::timestamptz - i * interval '1 second', $2::timestamptz, 12, i % 12, 40 * (i % 12) + 7, 40 * (i % 12), 600, 40 * (i % 12), 'Inbox'
			FROM generate_series(1, $1::int) i WHERE i % $3 <> 0`, []any{n, now, scaleInactive}},
		{`VACUUM ANALYZE employees, mailbox_states, subscriptions, alerts, decisions, decision_hours, sync_progress`, nil},
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s.q, s.args...); err != nil {
			t.Fatalf("seed: %v\n%s", err, s.q)
		}
	}
	return st
}

// scaleEnv reads a size from the environment.
func scaleEnv(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// benchPages are the /ops pages measured at scale.
var benchPages = []struct{ name, path string }{
	{"status", "/ops/"},
	{"mailboxes", "/ops/mailboxes"},
	{"mailboxes_last_page", "/ops/mailboxes?page=200"},
	{"mailboxes_by_name_desc", "/ops/mailboxes?sort=name&desc=1&page=100"},
	{"mailboxes_errors", "/ops/mailboxes?errors=1&sort=error"},
	{"mailboxes_silent", "/ops/mailboxes?silent=1"},
	{"mailboxes_state", "/ops/mailboxes?state=access_denied"},
	{"mailboxes_search", "/ops/mailboxes?q=kraus&sort=last_sync"},
	{"decisions", "/ops/decisions"},
	{"decisions_last_page", "/ops/decisions?page=400"},
	{"decisions_outcome", "/ops/decisions?outcome=duplicate&page=50"},
	{"decisions_message_id", "/ops/decisions?q=%3Cm4711%40example.org%3E"},
	{"decisions_search", "/ops/decisions?q=wartungsvertrag&page=10"},
	{"decision", "/ops/decisions/4711"},
	{"queues", "/ops/queues/"},
	{"message", "/ops/decisions/0"},
}

// BenchmarkOpsPages measures every /ops page with OPS_BENCH_MAILBOXES
// mailboxes (default 10,000) and OPS_BENCH_DECISIONS decisions (default
// 1,000,000) on PostgreSQL: ns/op per page, and html-bytes/op, the size of
// the page.
//
//	go test ./internal/ops/ -run '^$' -bench BenchmarkOpsPages -benchtime 20x
func BenchmarkOpsPages(b *testing.B) {
	n, m := scaleEnv("OPS_BENCH_MAILBOXES", 10_000), scaleEnv("OPS_BENCH_DECISIONS", 1_000_000)
	start := time.Now()
	st := scaleStore(b, n, m)
	b.Logf("seeded %d mailboxes and %d decisions in %s", n, m, time.Since(start).Round(time.Millisecond))
	srv := newServer(b, ops.Deps{Store: st, PasswordFile: writePasswordFile(b, hashed()), RedisConnOpt: redisOpt(b)})
	br := newBrowser(b, srv)
	br.mustLogin()
	for _, p := range benchPages {
		b.Run(p.name, func(b *testing.B) {
			var size int
			for range b.N {
				resp, body := br.get(p.path)
				if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNotFound {
					b.Fatalf("%s: %s", p.path, resp.Status)
				}
				size = len(body)
			}
			b.ReportMetric(float64(size), "html-bytes/op")
		})
	}
}
