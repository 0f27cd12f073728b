package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/store/storetest"
)

// BenchmarkFirstSyncsInProgress reads the /ops panel's query (20 rows and
// the count) with 10,000 mailboxes, all in their first sync (the start of
// a large deployment: the worst case), and 9,000 of them finished. Run it
// with go test -run '^$' -bench FirstSyncsInProgress ./internal/store/
func BenchmarkFirstSyncsInProgress(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			s := storetest.Open(b, dialect)
			f := &crmfile.File{}
			for i := int64(1); i <= 10000; i++ {
				mb := fmt.Sprintf("user%05d@firma.example", i)
				f.Employees = append(f.Employees, model.Employee{ID: i, Name: fmt.Sprintf("User %d", i), Email: mb, ExchangeMailbox: &mb, Active: true})
			}
			if _, err := s.ImportCRM(ctx, f); err != nil {
				b.Fatal(err)
			}
			t0 := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
			db := s.DB()
			if _, err := db.ExecContext(ctx, db.Rebind(`INSERT INTO sync_progress (employee_id, started_at, updated_at, folders_total, items_total)
				SELECT id, ?, ?, 5, 1000 FROM employees`), t0, t0); err != nil {
				b.Fatal(err)
			}
			for _, finished := range []int{0, 9000} {
				if _, err := db.ExecContext(ctx, db.Rebind(`UPDATE sync_progress SET finished_at = ? WHERE employee_id <= ?`), t0, finished); err != nil {
					b.Fatal(err)
				}
				if dialect == store.Postgres {
					if _, err := db.ExecContext(ctx, `ANALYZE sync_progress`); err != nil {
						b.Fatal(err)
					}
				}
				b.Run(fmt.Sprintf("running=%d", 10000-finished), func(b *testing.B) {
					for range b.N {
						rows, n, err := s.FirstSyncsInProgress(ctx, 20)
						if err != nil || len(rows) != 20 || n != 10000-finished {
							b.Fatalf("%d rows of %d, %v", len(rows), n, err)
						}
					}
				})
			}
		})
	}
}
