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

// contactsFile is 1,000 customers with 100 contacts each.
func contactsFile(suffix string) *crmfile.File {
	f := &crmfile.File{}
	for c := int64(1); c <= 1000; c++ {
		f.Customers = append(f.Customers, model.Customer{ID: c, Number: fmt.Sprint(10000 + c), Name: fmt.Sprintf("Kunde %d", c), Email: fmt.Sprintf("info@kunde%d.de", c)})
		for k := int64(0); k < 100; k++ {
			id := c*100 + k
			f.Contacts = append(f.Contacts, model.Contact{ID: id, CustomerID: c, Name: fmt.Sprintf("Kontakt %d%s", id, suffix), Email: fmt.Sprintf("kontakt%d@kunde%d.de", k, c)})
		}
	}
	return f
}

// BenchmarkImportContacts imports 100,000 contacts (and their 1,000
// customers) into an empty database, then again with every contact changed
// (100,000 updates), then once more unchanged; the target is ≤ 10 s for the
// first on PostgreSQL. Run it with
// go test -run '^$' -bench ImportContacts -benchtime 1x ./internal/store/
func BenchmarkImportContacts(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			for range b.N {
				b.StopTimer()
				s := storetest.Open(b, dialect)
				first, second := contactsFile(""), contactsFile(" (neu)")
				b.StartTimer()
				for _, step := range []struct {
					name string
					f    *crmfile.File
					want func(store.ImportStats) bool
				}{
					{"insert", first, func(st store.ImportStats) bool { return st["contacts"].Inserted == 100000 }},
					{"update", second, func(st store.ImportStats) bool { return st["contacts"].Updated == 100000 }},
					{"unchanged", second, func(st store.ImportStats) bool { return st["contacts"].Unchanged == 100000 }},
				} {
					start := time.Now()
					st, err := s.ImportCRM(ctx, step.f)
					if err != nil {
						b.Fatal(err)
					}
					if !step.want(st) {
						b.Fatalf("%s: %+v", step.name, *st["contacts"])
					}
					b.ReportMetric(time.Since(start).Seconds(), step.name+"_s")
				}
			}
		})
	}
}
