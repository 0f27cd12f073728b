package jobs

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// TestRematchScale decides 10,000 stored no_match decisions again after a
// change that matches none of them: every one is scanned, none matches, and
// no Graph request is made. BenchmarkRematch measures the target of issue
// 12 at 100,000 decisions (≤ 30 s on PostgreSQL).
func TestRematchScale(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 10,000 decisions")
	}
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) { rematchScale(t, dialect, 10_000) })
	}
}

// BenchmarkRematch: 100,000 no_match decisions, a CRM of 20,000 customers
// and 50,000 contacts, the decisions naming 100,000 distinct senders at
// 20,000 domains, none a customer's. One iteration is one whole rematch.
// go test -run '^$' -bench Rematch -benchtime 1x ./jobs/
func BenchmarkRematch(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			for b.Loop() {
				rematchScale(b, dialect, 100_000)
			}
		})
	}
}

// scaleFill generates the CRM and the decisions in SQL, per dialect: rows
// g = 1…n of a series (a format with %d), and when each decision was made
// (on SQLite as the driver writes it: whole seconds have no fraction).
var scaleFill = map[string]struct{ series, minutes string }{
	store.Postgres: {"generate_series(1, %d) AS s(g)", "now() - (g % 20000) * interval '1 minute'"},
	store.SQLite: {"(WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < %d) SELECT g FROM s)",
		"strftime('%Y-%m-%d %H:%M:%S', 'now', '-' || (g % 20000) || ' minutes') || '+00:00'"},
}

// rematchScale loads the CRM and the decisions, then times one rematch
// (reported as seconds when t is a benchmark).
func rematchScale(t testing.TB, dialect string, decisions int) {
	if b, ok := t.(*testing.B); ok {
		b.StopTimer()
		defer b.StartTimer()
	}
	ctx := context.Background()
	driver, dsn := "pgx", ""
	if dialect == store.Postgres {
		dsn = storetest.CreatePostgresDB(t)
	} else {
		driver, dsn = "sqlite", filepath.Join(t.TempDir(), "connector.db")
	}
	st, err := store.Open(ctx, dialect, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db, err := sqlx.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	f := newRematchFixture(t, st)
	f.now = time.Now().UTC()
	fill := scaleFill[dialect]
	series := func(n int) string { return fmt.Sprintf(fill.series, n) }
	for _, q := range []string{
		`INSERT INTO customers (id, number, name, email, email_norm, domain_norm)
		 SELECT 1000 + g, 'K' || g, 'Kunde ' || g, 'info@kunde' || g || '.example', 'info@kunde' || g || '.example', 'kunde' || g || '.example'
		 FROM ` + series(20000),
		`INSERT INTO contacts (id, customer_id, name, email, email_norm)
		 SELECT 100000 + g, 1000 + (g % 20000) + 1, 'Kontakt ' || g, 'k' || g || '@kunde' || ((g % 20000) + 1) || '.example',
		        'k' || g || '@kunde' || ((g % 20000) + 1) || '.example'
		 FROM ` + series(50000),
		`INSERT INTO decisions (employee_id, graph_message_id, internet_message_id, folder, subject, direction, outcome, reason,
		     candidates, raw_candidates, note, created_at)
		 SELECT 1, 'AAMk-bench-' || g, '<bench-' || g || '@x>', 'Inbox', 'Anfrage ' || g, 'inbound', 'ignored', 'no_match',
		     '["s' || g || '@firma' || (g % 20000) || '.example"]', '["s' || g || '@firma' || (g % 20000) || '.example"]',
		     'delta', ` + fill.minutes + `
		 FROM ` + series(decisions),
		`ANALYZE`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// The change: a contact nobody wrote to.
	if _, err := st.ImportCRM(ctx, &crmfile.File{Contacts: []model.Contact{{ID: 7, CustomerID: 10, Name: "Neu", Email: "neu@schulz-technik.com"}}}); err != nil {
		t.Fatal(err)
	}
	task, err := NewRematchTask(RematchPayload{Cause: "contact 7 saved"}, f.now, 0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if b, ok := t.(*testing.B); ok {
		b.StartTimer()
	}
	if err := f.p.Rematch.ProcessTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	if b, ok := t.(*testing.B); ok {
		b.StopTimer()
	}
	took := time.Since(start)
	t.Logf("%s: re-deciding %d no_match decisions took %v (%.0f/s)", dialect, decisions, took, float64(decisions)/took.Seconds())
	if n := f.graph.requests.Load(); n != 0 {
		t.Errorf("%d Graph requests, want none", n)
	}
	if len(f.queue.tasks) != 0 {
		t.Errorf("%d imports queued, want none", len(f.queue.tasks))
	}
	stats, err := PlanRematch(ctx, st, f.now.AddDate(0, 0, -30), func(RematchHit) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if stats.Scanned != decisions || stats.Matched != 0 {
		t.Errorf("scanned %d decisions, %d match; want %d, 0", stats.Scanned, stats.Matched, decisions)
	}
}
