package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// BenchmarkFeedPage reads pages of 1,000 activities (with their mailboxes
// and documents) from a PostgreSQL database of 1,000,000 activities, at the
// beginning, the middle and the end of the change log. DESIGN §9: ≤ 50 ms a
// page. Run it with
// go test -run '^$' -bench FeedPage -benchtime 20x ./internal/store/
func BenchmarkFeedPage(b *testing.B) {
	const activities = 1_000_000
	s := storetest.Open(b, store.Postgres)
	ctx := context.Background()
	if _, err := s.ImportCRM(ctx, sampleCRM()); err != nil {
		b.Fatal(err)
	}
	seedStart := time.Now()
	db := s.DB()
	// One activity per row of generate_series, each in one mailbox, every
	// tenth with a document; every activity enters the change log once and
	// every fifth once more (a further mailbox).
	for _, q := range []string{
		`INSERT INTO activities (customer_id, direction, subject, body_text, sent_at, received_at, internet_message_id,
			dedupe_key, conversation_id, rule, matched_address, created_at)
		 SELECT 10, 'inbound', 'Angebot ' || g, repeat('Text ', 40), now(), now(), '<m' || g || '@kunde.de>',
			'imid:<m' || g || '@kunde.de>', 'conv-' || (g / 3), 'contact_exact', 'a@kunde.de', now()
		 FROM generate_series(1, $1) g`,
		`INSERT INTO activity_mailboxes (activity_id, employee_id, graph_message_id, created_at)
		 SELECT id, 1, 'AAMk-' || id, now() FROM activities`,
		`INSERT INTO documents (customer_id, activity_id, source_key, path, name, size, sha256, created_at)
		 SELECT 10, id, 'k' || id, '10/E-Mail Attachments/' || id || '.pdf', id || '.pdf', 1000, 'ab', now() FROM activities WHERE id % 10 = 0`,
		`INSERT INTO activity_changes (kind, activity_id, created_at) SELECT 'activity.created', id, now() FROM activities ORDER BY id`,
		`INSERT INTO activity_changes (kind, activity_id, created_at) SELECT 'activity.updated', id, now() FROM activities WHERE id % 5 = 0 ORDER BY id`,
		`ANALYZE`,
	} {
		var err error
		if q[:7] == "INSERT " && q[12:22] == "activities" {
			_, err = db.ExecContext(ctx, q, activities)
		} else {
			_, err = db.ExecContext(ctx, q)
		}
		if err != nil {
			b.Fatalf("seeding: %v\n%s", err, q)
		}
	}
	b.Logf("seeded %d activities in %s", activities, time.Since(seedStart).Round(time.Second))
	// Cursors at the beginning, the middle and the end of the log.
	var positions []store.Cursor
	cursor := store.Cursor{}
	for i := 0; ; i++ {
		page, err := s.Changes(ctx, cursor, 10_000)
		if err != nil {
			b.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if i == 0 || i == 60 || len(page) < 10_000 {
			positions = append(positions, cursor)
		}
		cursor = page[len(page)-1].Cursor
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		items, _, err := s.Feed(ctx, positions[i%len(positions)], 1000)
		if err != nil {
			b.Fatal(err)
		}
		if len(items) == 0 {
			b.Fatal("empty page")
		}
	}
}
