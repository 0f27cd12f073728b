package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// BenchmarkFeedEndpoint reads pages of 1,000 activities through HTTP — key
// check, request validation, store.Feed, JSON — from a PostgreSQL database
// of 1,000,000 activities, at the beginning, the middle and the end of the
// change log, side by side with store.Feed alone on the same pages. Run it with
// go test -run '^$' -bench FeedEndpoint -benchtime 20x ./internal/api/
func BenchmarkFeedEndpoint(b *testing.B) {
	const activities = 1_000_000
	ctx := context.Background()
	dsn := storetest.CreatePostgresDB(b)
	st, err := store.Open(ctx, store.Postgres, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	seedReadCRM(b, st)
	seedStart := time.Now()
	db, err := sqlx.Open("pgx", dsn) // a second pool, for the bulk seeding
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// One mailbox each, every tenth activity with a
	// document, every fifth changed once more.
	for i, q := range []string{
		`INSERT INTO activities (customer_id, direction, subject, body_text, sent_at, received_at, internet_message_id,
			dedupe_key, conversation_id, rule, matched_address, created_at)
		 SELECT 10, 'inbound', 'Angebot ' || g, repeat('Text ', 40), now(), now(), '<m' || g || '@kunde.de>',
			'imid:<m' || g || '@kunde.de>', 'conv-' || (g / 3), 'contact_exact', 'a@kunde.de', now()
		 FROM generate_series(1, $1) g`,
		`INSERT INTO activity_mailboxes (activity_id, employee_id, graph_message_id, created_at)
		 SELECT id, 1, 'AAMk-' || id, now() FROM activities`,
		`INSERT INTO documents (customer_id, activity_id, source_key, path, name, size, sha256, created_at)
		 SELECT 10, id, 'k' || id, '10/E-Mail Attachments/' || id || '.pdf', id || '.pdf', 1000, repeat('ab', 32), now()
		 FROM activities WHERE id % 10 = 0`,
		`INSERT INTO activity_changes (kind, activity_id, created_at) SELECT 'activity.created', id, now() FROM activities ORDER BY id`,
		`INSERT INTO activity_changes (kind, activity_id, created_at) SELECT 'activity.updated', id, now() FROM activities WHERE id % 5 = 0 ORDER BY id`,
		`ANALYZE`,
	} {
		args := []any{}
		if i == 0 {
			args = append(args, activities)
		}
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			b.Fatalf("seeding: %v\n%s", err, q)
		}
	}
	b.Logf("seeded %d activities in %s", activities, time.Since(seedStart).Round(time.Second))
	var positions []store.Cursor
	cursor := store.Cursor{}
	for i := 0; ; i++ {
		page, err := st.Changes(ctx, cursor, 10_000)
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
	env := newReadEnv(b, st, nil)
	// The same pages read from the store directly, for the HTTP layer's share.
	b.Run("store.Feed", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			items, _, err := st.Feed(ctx, positions[i%len(positions)], 1000)
			if err != nil || len(items) == 0 {
				b.Fatalf("page: %d items, %v", len(items), err)
			}
		}
	})
	b.Run("HTTP", func(b *testing.B) {
		client := env.srv.Client()
		var bytesRead int64
		for i := 0; b.Loop(); i++ {
			q := url.Values{"limit": {"1000"}, "after": {positions[i%len(positions)].String()}}
			req, _ := http.NewRequest(http.MethodGet, env.srv.URL+Prefix+"/activities?"+q.Encode(), nil)
			req.Header.Set("Authorization", "Bearer "+env.read)
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var page struct {
				Items      []json.RawMessage `json:"items"`
				NextCursor string            `json:"next_cursor"`
			}
			cr := &countingReader{r: res.Body}
			err = json.NewDecoder(cr).Decode(&page)
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if err != nil || res.StatusCode != http.StatusOK {
				b.Fatalf("page: %d %v", res.StatusCode, err)
			}
			if len(page.Items) == 0 {
				b.Fatal("empty page")
			}
			bytesRead += cr.n
		}
		b.ReportMetric(float64(bytesRead)/float64(b.N), "B/page")
	})
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
