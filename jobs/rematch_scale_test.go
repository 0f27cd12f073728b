package jobs

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// TestRematchScale is the target of issue 12: deciding 100,000 stored
// no_match decisions again after a change that matches none of them takes at
// most 30 s on PostgreSQL and makes no Graph request. The CRM holds 20,000
// customers and 50,000 contacts; the decisions name 100,000 distinct senders
// at 20,000 domains, none a customer's.
func TestRematchScale(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 100,000 decisions")
	}
	const decisions = 100_000
	ctx := context.Background()
	url := storetest.CreatePostgresDB(t)
	st, err := store.Open(ctx, store.Postgres, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f := newRematchFixture(t, st)
	f.now = time.Now().UTC()
	db, err := sqlx.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`INSERT INTO customers (id, number, name, email, email_norm, domain_norm)
		 SELECT 1000 + g, 'K' || g, 'Kunde ' || g, 'info@kunde' || g || '.example', 'info@kunde' || g || '.example', 'kunde' || g || '.example'
		 FROM generate_series(1, 20000) g`,
		`INSERT INTO contacts (id, customer_id, name, email, email_norm)
		 SELECT 100000 + g, 1000 + (g % 20000) + 1, 'Kontakt ' || g, 'k' || g || '@kunde' || ((g % 20000) + 1) || '.example',
		        'k' || g || '@kunde' || ((g % 20000) + 1) || '.example'
		 FROM generate_series(1, 50000) g`,
		`INSERT INTO decisions (employee_id, graph_message_id, internet_message_id, folder, subject, direction, outcome, reason,
		     candidates, raw_candidates, note, created_at)
		 SELECT 1, 'AAMk-bench-' || g, '<bench-' || g || '@x>', 'Inbox', 'Anfrage ' || g, 'inbound', 'ignored', 'no_match',
		     '["s' || g || '@firma' || (g % 20000) || '.example"]', '["s' || g || '@firma' || (g % 20000) || '.example"]',
		     'delta', now() - (g % 20000) * interval '1 minute'
		 FROM generate_series(1, ` + strconv.Itoa(decisions) + `) g`,
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
	if err := f.p.HandleRematch(ctx, task); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("re-deciding %d no_match decisions took %v (%.0f/s)", decisions, took, decisions/took.Seconds())
	if n := f.graph.requests.Load(); n != 0 {
		t.Errorf("%d Graph requests, want none", n)
	}
	if len(f.queue.tasks) != 0 {
		t.Errorf("%d imports queued, want none", len(f.queue.tasks))
	}
	var scanned int
	stats, err := PlanRematch(ctx, st, f.now.AddDate(0, 0, -30), func(RematchHit) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	scanned = stats.Scanned
	if scanned != decisions {
		t.Errorf("scanned %d decisions, want %d", scanned, decisions)
	}
	if took > 30*time.Second {
		t.Errorf("took %v, target ≤ 30 s", took)
	}
}
